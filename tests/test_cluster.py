"""train.cluster: PPO on a local 2-server Ray cluster survives a killed server, runs in the
run loop of the single-process run (its logs and checkpoints); the flags and the CLI dispatch."""
import csv
import os
import signal

import numpy as np
import pytest

import nmmo_jax as nj
from train import checkpoint, loop
from train.cli import main
from train.config import TrainConfig, differences
from train.ppo import masked_mean

TINY = TrainConfig(preset="small", num_worlds=2, rollout_len=8, num_minibatches=2, epochs=1,
                   updates_per_chunk=2, checkpoint_every=1, total_steps=4 * 8 * 2 * 16,
                   minutes=0.0, width=16, eval_ticks=30, eval_worlds=1, ray_workers=2)


@pytest.mark.slow
def test_run_survives_a_killed_server(ray_cluster, tmp_path, capsys, monkeypatch):
    from train.cluster import Cluster
    killed, update = [], Cluster.update

    def update_then_kill_server_1(self, *args):
        out = update(self, *args)
        if not killed:  # after the first update
            killed.append(self.step(method="pid")[1])
            os.kill(killed[0], signal.SIGKILL)
        return out

    monkeypatch.setattr(Cluster, "update", update_then_kill_server_1)
    summary = loop.run(TINY, tmp_path, evaluate=False)
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
    summary = loop.run(more, tmp_path, resume=True, evaluate=False)
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


def test_cli_hands_ray_runs_to_the_cluster(monkeypatch, tmp_path, capsys):
    import train.cluster
    seen = []

    def fake_ray_trainer(tc, runner, log):
        seen.append((tc.ray_workers, tc.ray_address, runner))
        raise loop.RunError("no cluster here")

    monkeypatch.setattr(train.cluster, "ray_trainer", fake_ray_trainer)
    base = ["--preset", "small", "--num-worlds", "2", "--no-eval"]
    assert main(base + ["--ray-workers", "2", "--out", str(tmp_path / "a")]) == 2
    assert main(base + ["--ray-address", "head:6379", "--out", str(tmp_path / "b")]) == 2
    assert seen == [(2, "", None), (0, "head:6379", None)]
    assert "error: no cluster here" in capsys.readouterr().err
