"""train.cluster: PPO on a local 2-server Ray cluster survives a killed server, logs like the
single-process run and writes checkpoints in its format; the flags and the CLI dispatch."""
import csv
import os
import signal

import numpy as np
import pytest

import nmmo_jax as nj
from train import checkpoint
from train.cli import main
from train.config import TrainConfig, differences
from train.ppo import masked_mean

TINY = TrainConfig(preset="small", num_worlds=2, rollout_len=8, num_minibatches=2, epochs=1,
                   updates_per_chunk=2, checkpoint_every=1, total_steps=4 * 8 * 2 * 16,
                   minutes=0.0, width=16, eval_ticks=30, eval_worlds=1, ray_workers=2)


def test_run_survives_a_killed_server(ray_cluster, tmp_path, capsys):
    from train.cluster import run_cluster
    killed = []

    def kill_server_1(update, cluster):
        if update == 1:
            killed.append(cluster.step(method="pid")[1])
            os.kill(killed[0], signal.SIGKILL)

    summary = run_cluster(TINY, tmp_path, evaluate=False, on_update=kill_server_1)
    err = capsys.readouterr().err
    assert killed and summary["update"] == 4 and not summary["interrupted"]
    assert summary["restarts"] == 1
    assert "server worker(s) [1] lost" in err and "redoing update 2" in err
    # the Ascend summary, every log interval
    assert err.count("Ascend timing") == 2
    assert "driver " in err and "server " in err
    timing = summary["timing"]
    assert set(timing) == {"driver", "server"} and timing["server"]["n"] == 2

    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [int(r["update"]) for r in rows] == [2, 4]
    for r in rows:
        for k in ("policy_loss", "value_loss", "entropy", "agent_steps_per_s", "alive_mean"):
            assert np.isfinite(float(r[k])), k
        assert float(r["entropy"]) > 0

    # checkpoints in the single-process format, loadable as a policy
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "ckpt_0000002.npz", "ckpt_0000004.npz"]
    header, _ = checkpoint.read(tmp_path)
    assert header["update"] == 4 and header["train_config"]["ray_workers"] == 2
    assert header["extra"]["restarts"] == 1
    policy, config = checkpoint.load_policy(tmp_path)
    assert config == nj.Config.small() and callable(policy)

    # --resume on the cluster continues from update 4 and appends to the log
    more = TINY.replace(total_steps=6 * TINY.steps_per_update)
    summary = run_cluster(more, tmp_path, resume=True, evaluate=False)
    assert "resuming" in capsys.readouterr().err and summary["update"] == 6
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [int(r["update"]) for r in rows] == [2, 4, 6]


def test_ray_address_without_worker_count_takes_the_nodes(ray_cluster):
    from train.cluster import connect
    tc, started = connect(TINY.replace(ray_workers=0, ray_address="head:6379"))
    assert tc.ray_workers == 1 and not started  # Ray already up: one node here, left running


def test_weighted_mean_is_the_big_batch_masked_mean():
    from train.cluster import weighted_mean
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 5)).astype(np.float32)
    mask = rng.random((2, 6, 5)) < 0.4
    mask[1, 0, 0] = True
    parts = [{"v": np.asarray(masked_mean(x[i], mask[i]))} for i in range(2)]
    got = weighted_mean(parts, [mask[0].sum(), mask[1].sum()])
    np.testing.assert_allclose(got["v"], masked_mean(x, mask), rtol=1e-5)
    # no valid rows anywhere: zero, like the masked mean of an empty batch
    assert weighted_mean(parts, [0, 0])["v"] == 0


def test_ray_flags_are_validated():
    with pytest.raises(ValueError, match="--ray-workers=3: must divide --num-worlds=2"):
        TINY.replace(ray_workers=3)
    with pytest.raises(ValueError, match="--ray-workers=-1: must be an integer >= 0"):
        TINY.replace(ray_workers=-1)
    with pytest.raises(ValueError, match="--devices=2: must divide the worlds of each Ray worker"):
        TINY.replace(num_worlds=4, ray_workers=4, devices=2)
    # a run may move between one process and a cluster
    assert differences(TINY.to_dict(), TINY.replace(ray_workers=0, ray_address="h:6379")) == []


def test_cli_hands_ray_runs_to_the_cluster(monkeypatch, tmp_path):
    import train.cluster
    seen = []

    def fake_run_cluster(tc, out, resume=False, evaluate=True):
        seen.append((tc.ray_workers, tc.ray_address, out, resume, evaluate))
        return {"interrupted": False}

    monkeypatch.setattr(train.cluster, "run_cluster", fake_run_cluster)
    base = ["--preset", "small", "--num-worlds", "2", "--out", str(tmp_path), "--no-eval"]
    assert main(base + ["--ray-workers", "2"]) == 0
    assert main(base + ["--ray-address", "head:6379"]) == 0
    assert seen == [(2, "", tmp_path, False, False), (0, "head:6379", tmp_path, False, False)]
