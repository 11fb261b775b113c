"""train.distribute.cluster: Ray as the cluster layer. It starts one JAX process of the run per
node, restarts the group when one dies (slow, a local Ray), and joins or sizes a
cluster; the flags and the CLI dispatch."""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import wait_for
from train.config import TrainConfig, differences
from train.run import checkpoint
from train.run.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = TrainConfig.of(preset="small", num_worlds=2, rollout_len=8, num_minibatches=2, epochs=1,
                      updates_per_chunk=2, checkpoint_every=5, total_steps=400 * 256,
                      minutes=0.0, width=16, ray_workers=2)


@pytest.mark.slow
def test_ray_run_survives_a_killed_process(tmp_path):
    pytest.importorskip("ray")
    from train.distribute.supervise import command
    log, run = tmp_path / "stderr.txt", tmp_path / "run"
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               JAX_COMPILATION_CACHE_DIR=str(tmp_path / "xla_cache"))
    with open(log, "w") as err:
        proc = subprocess.Popen(command(TINY, ["--out", str(run), "--no-eval"]), cwd=ROOT,
                                env=env, stdout=err, stderr=subprocess.STDOUT, text=True)
        try:
            pids = wait_for(log, r"process group started: pids \[(\d+), (\d+)\]")
            if len(os.sched_getaffinity(0)) >= 2:  # two members on one node: cores apart
                bound = [os.sched_getaffinity(int(pid)) for pid in pids.groups()]
                assert all(bound) and not bound[0] & bound[1], bound
            deadline = time.monotonic() + 900
            while not (run / "checkpoints" / "ckpt_0000010.npz").exists():
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.1)
            os.kill(int(pids.group(1)), signal.SIGKILL)  # process 0, the leader
            assert proc.wait(timeout=900) == 0, log.read_text()[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
    text = log.read_text()
    assert "process 0 was killed by SIGKILL: restarting the group from" in text
    assert "restart 1: the process group was started again" in text
    assert "the cluster layer's Ascend timing" in text and "member " in text
    header, _ = checkpoint.read(run)
    assert header["update"] == 400 and header["extra"]["restarts"] == 1
    assert (run / "metrics.csv").read_text().splitlines()[-1].endswith(",1")


@pytest.mark.slow
def test_ray_address_without_worker_count_takes_the_nodes(ray_cluster):
    from train.distribute.cluster import connect
    tc, started = connect(TINY.replace(ray_workers=0, ray_address="head:6379"))
    assert tc.placement.ray_workers == 1 and not started  # Ray already up: one node here, left running


@pytest.mark.slow
def test_ray_flags_are_validated():
    with pytest.raises(ValueError, match="--ray-workers=3: must divide --num-worlds=2"):
        TINY.replace(ray_workers=3)
    with pytest.raises(ValueError, match="--ray-workers=-1: must be an integer >= 0"):
        TINY.replace(ray_workers=-1)
    with pytest.raises(ValueError, match=r"--devices=2: must divide the worlds of each process "
                                         r"\(1 with --ray-workers=4\)"):
        TINY.replace(num_worlds=4, ray_workers=4, devices=2)
    # a run may move between one process and a cluster
    assert differences(TINY.to_dict(), TINY.replace(ray_workers=0, ray_address="h:6379")) == []


@pytest.mark.slow
def test_cli_hands_ray_runs_to_the_cluster(monkeypatch, tmp_path):
    import train.distribute.cluster
    seen = []

    def fake_launch(tc, out, paths, resume, overwrite):
        seen.append((tc.placement.ray_workers, tc.placement.ray_address, out, paths, resume))
        return 3

    monkeypatch.setattr(train.distribute.cluster, "launch", fake_launch)
    base = ["--preset", "small", "--num-worlds", "2", "--no-eval"]
    assert main(base + ["--ray-workers", "2", "--out", str(tmp_path / "a")]) == 3
    assert main(base + ["--ray-address", "head:6379", "--out", str(tmp_path / "b")]) == 3
    assert seen == [(2, "", tmp_path / "a", ["--no-eval"], False),
                    (0, "head:6379", tmp_path / "b", ["--no-eval"], False)]
