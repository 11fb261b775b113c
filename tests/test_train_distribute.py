"""train.distribute: one training over several JAX processes. The flags of where a run
goes (one-line refusals), the supervisor's restart decisions on a fake group, and, in
subprocesses (slow), 2 processes x 1 device against 1 process x 2 devices, an
N-process checkpoint resumed in one process, and a run surviving a SIGKILLed process."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import wait_for
from train.config import TrainConfig
from train.distribute import backend, supervise
from train.distribute.coordinate import join
from train.run import checkpoint
from train.run.cli import main, parse
from train.run.policy import load_model, load_policy

ROOT = Path(__file__).resolve().parents[1]
TINY = TrainConfig.of(preset="small", num_worlds=4, rollout_len=8, num_minibatches=2, epochs=2,
                      updates_per_chunk=3, checkpoint_every=1, total_steps=3 * 512, minutes=0.0,
                      width=16)


def refused(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("argv, message", [
    (["--coordinator", "nohost", "--num-processes", "2"],
     "--coordinator='nohost': must be HOST:PORT"),
    (["--coordinator", "h:0", "--num-processes", "2"], "--coordinator='h:0': must be HOST:PORT"),
    (["--coordinator", "h:70000", "--num-processes", "2"], "a port in 1..65535"),
    (["--coordinator", "h:1234"], "--num-processes=0: must be an integer >= 1 with --coordinator"),
    (["--coordinator", "h:1234", "--num-processes", "-1"],
     "--num-processes=-1: must be an integer"),
    (["--coordinator", "h:1234", "--num-processes", "2", "--process-id", "2"],
     "--process-id=2: must be in 0..1 (--num-processes=2)"),
    (["--coordinator", "h:1234", "--num-processes", "2", "--process-id", "-1"],
     "--process-id=-1: must be in 0..1"),
    (["--num-processes", "2"], "--num-processes=2: needs --coordinator HOST:PORT"),
    (["--processes", "0", "--process-id", "1"], "--process-id=1: must be in 0..0"),
    (["--processes", "3"], "--processes=3: must divide --num-worlds=16"),
    (["--processes", "-2"], "--processes=-2: must be an integer >= 0"),
    (["--processes", "2", "--devices", "16"], "--devices=16: must divide the worlds of each "
                                              "process (8 with --processes=2)"),
    (["--processes", "2", "--ray-workers", "2"],
     "--processes and --ray-workers/--ray-address: give one way to start the processes"),
    (["--coordinator", "h:1", "--num-processes", "2", "--ray-address", "h:6379"],
     "--coordinator and --ray-workers/--ray-address: give one way"),
])
def test_placement_flags_are_refused_in_one_line(capsys, argv, message):
    assert message in refused(capsys, argv)


def test_join_leaves_bad_coordinator_flags_to_the_parser():
    for argv in ([], ["--coordinator", "nohost"], ["--coordinator", "h:1", "--num-processes", "x"],
                 ["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"],
                 ["--coordinator", "h:1", "--num-processes", "2", "--processes", "2"],
                 ["--coordinator", "h:1", "--num-processes", "1", "--ray-address", "h:6379"]):
        assert join(argv) is False


def test_a_resumed_run_does_not_inherit_where_it_ran():
    member = supervise.member_configs(TINY, 2, "127.0.0.1:1234")[1]
    where = member.placement
    assert (where.coordinator, where.num_processes, where.process_id) == ("127.0.0.1:1234", 2, 1)
    assert member.resumed({}) == TINY
    assert member.resumed({"processes": 4}) == TINY.replace(processes=4)
    with pytest.raises(ValueError, match="--lr=0.5: the run has --lr=0.001"):
        member.resumed({"lr": 0.5})


def test_a_member_command_line_parses_back_to_its_config():
    for tc in supervise.member_configs(TINY.replace(shared_params=False, ent_coef=0.01), 2,
                                       "10.0.0.1:4321"):
        argv = supervise.command(tc, ["--no-eval"])
        assert argv[:3] == [sys.executable, "-m", "train"] and "--no-shared-params" in argv
        parsed, args = parse(argv[3:])
        assert parsed == tc and args.no_eval


class FakeGroup:
    """A group whose processes end as scripted: {index: (poll number, status)}."""

    def __init__(self, ends: dict, n: int = 2):
        self.ends, self.n, self.polls, self.killed, self.pids = ends, n, 0, False, list(range(n))
        self.cores = [[i] for i in range(n)]
        self.signals: list[int] = []

    def poll(self):
        self.polls += 1
        return [self.ends[i][1] if i in self.ends and self.polls >= self.ends[i][0] else None
                for i in range(self.n)]

    def signal_leader(self, signum):
        self.signals.append(signum)

    def kill(self):
        self.killed = True


def supervised(groups: list[FakeGroup], tmp_path, newest="ckpt_0000004.npz"):
    """supervise() over scripted groups; returns (status, the leader paths of each start, log)."""
    starts, log = [], []

    def start(where, restarts):
        starts.append((list(where), restarts))
        return groups[len(starts) - 1]

    code = supervise.supervise(start, tmp_path, ["--no-eval"], resume=False, overwrite=False,
                               newest=lambda: newest, log=log.append, grace_s=0.0)
    return code, starts, log


def test_supervisor_restarts_the_group_when_a_process_is_killed(tmp_path, monkeypatch):
    monkeypatch.setattr(supervise.time, "sleep", lambda s: None)
    killed = FakeGroup({1: (3, -signal.SIGKILL), 0: (4, 1)})
    done = FakeGroup({1: (2, 0), 0: (3, 0)})
    code, starts, log = supervised([killed, done], tmp_path)
    assert code == 0 and killed.killed
    assert starts == [(["--out", str(tmp_path), "--no-eval"], 0),
                      (["--resume", str(tmp_path), "--no-eval"], 1)]
    assert "process 1 was killed by SIGKILL: restarting the group from ckpt_0000004.npz" in log
    assert log[0] == "process group started: pids [0, 1], cores [[0], [1]]"


def test_supervisor_restarts_from_the_start_without_a_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(supervise.time, "sleep", lambda s: None)
    code, starts, log = supervised([FakeGroup({0: (1, -signal.SIGKILL)}),
                                    FakeGroup({0: (1, 0), 1: (1, 0)})], tmp_path, newest=None)
    assert code == 0 and starts[1][0] == ["--out", str(tmp_path), "--overwrite", "--no-eval"]
    assert "the start (no checkpoint yet)" in log[-2]


def test_supervisor_ends_with_the_leaders_own_status(tmp_path, monkeypatch):
    monkeypatch.setattr(supervise.time, "sleep", lambda s: None)
    # the leader fails by itself (diverged: 1); the follower then aborts (SIGABRT from JAX)
    code, starts, _ = supervised([FakeGroup({0: (2, 1), 1: (2, -signal.SIGABRT)})], tmp_path)
    assert code == 1 and len(starts) == 1
    # after a normal end (the follower released first) nothing restarts
    code, starts, _ = supervised([FakeGroup({1: (2, 0), 0: (5, -signal.SIGKILL)})], tmp_path)
    assert code == -signal.SIGKILL and len(starts) == 1


@pytest.mark.parametrize("cores, n, shares", [
    ({0, 1}, 2, [[0], [1]]),
    ({0, 1, 2, 3}, 2, [[0, 1], [2, 3]]),
    ({9, 2, 7, 5, 11}, 2, [[2, 5], [7, 9]]),  # the one left over goes to none
    ({3}, 1, [[3]]),
    ({0, 1}, 3, [None, None, None]),  # fewer cores than processes: all share them
])
def test_each_local_process_gets_cores_of_its_own(monkeypatch, cores, n, shares):
    monkeypatch.setattr(backend, "platform", lambda: "cpu")  # binding is for CPUs only
    monkeypatch.setattr(supervise.os, "sched_getaffinity", lambda pid: set(cores))
    assert [supervise.core_share(i, n) for i in range(n)] == shares
    assert supervise.share_devices(shares[0]) == (len(shares[0]) if shares[0] else 1)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_a_spawned_process_is_bound_to_its_cores():
    core = min(os.sched_getaffinity(0))
    show = [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"]
    bound = supervise.spawn(show, [core], stdout=subprocess.PIPE, text=True)
    free = supervise.spawn(show, stdout=subprocess.PIPE, text=True)
    assert bound.communicate(timeout=60)[0].strip() == str([core])
    assert free.communicate(timeout=60)[0].strip() == str(sorted(os.sched_getaffinity(0)))


def run_train(argv: list[str], devices: int, cache: Path, **popen) -> subprocess.Popen:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
               JAX_PLATFORMS="cpu", JAX_COMPILATION_CACHE_DIR=str(cache))
    return subprocess.Popen([sys.executable, "-m", "train", *argv], cwd=ROOT, env=env,
                            text=True, **popen)


def finished(proc: subprocess.Popen, timeout: float = 900) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, (out or "") + (err or "")[-3000:]
    return err


def params(run: Path) -> list[np.ndarray]:
    _, p, _ = load_model(run)
    import jax
    return [np.asarray(x) for x in jax.tree.leaves(p)]


def flags(tc: TrainConfig) -> list[str]:
    return supervise.command(tc)[3:]


@pytest.mark.slow
def test_two_processes_match_two_devices_and_resume_in_one(tmp_path):
    pipe = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cache = tmp_path / "xla_cache"
    finished(run_train(flags(TINY.replace(processes=2)) + ["--out", str(tmp_path / "p2"),
                                                           "--no-eval"], 2, cache, **pipe))
    finished(run_train(flags(TINY.replace(devices=2)) + ["--out", str(tmp_path / "d2"),
                                                         "--no-eval"], 2, cache, **pipe))
    header, _ = checkpoint.read(tmp_path / "p2")
    assert header["update"] == 3 and header["extra"]["restarts"] == 0
    start = params(tmp_path / "d2")
    two_processes, two_devices = params(tmp_path / "p2"), start
    for a, b in zip(two_processes, two_devices):
        # the same program: each device adds the same partial sums in the same order
        # (train.ppo.collectives.world_sum), so the bits agree, not just the values
        np.testing.assert_array_equal(a, b)
    # the 2-process checkpoint resumes in one process (one device) and loads as a policy
    err = finished(run_train(["--resume", str(tmp_path / "p2"), "--total-steps", str(6 * 512),
                              "--no-eval"], 1, cache, **pipe))
    assert "resuming" in err and "on 2 processes" not in err
    assert checkpoint.read(tmp_path / "p2")[0]["update"] == 6
    policy, config = load_policy(tmp_path / "p2")
    assert callable(policy) and config.num_agents == 16


@pytest.mark.slow
def test_a_killed_process_is_restarted_and_ends_where_a_resume_by_hand_ends(tmp_path):
    """SIGKILL process 1 once the run has a checkpoint: the group restarts from the newest
    checkpoint and finishes; resuming a copy of that checkpoint by hand ends the same."""
    tc = TINY.replace(processes=2, updates_per_chunk=2, checkpoint_every=5,
                      total_steps=400 * 512)
    cache, run, log = tmp_path / "xla_cache", tmp_path / "run", tmp_path / "stderr.txt"
    with open(log, "w") as err:
        proc = run_train(flags(tc) + ["--out", str(run), "--no-eval"], 2, cache,
                         stdout=subprocess.DEVNULL, stderr=err)
        pids = wait_for(log, r"process group started: pids \[(\d+), (\d+)\]")
        if len(os.sched_getaffinity(0)) >= 2:  # each process is bound to cores of its own
            bound = [os.sched_getaffinity(int(pid)) for pid in pids.groups()]
            assert all(bound) and not bound[0] & bound[1], bound
        wait_for_file(run / "checkpoints" / "ckpt_0000010.npz", proc)
        os.kill(int(pids.group(2)), signal.SIGKILL)
        restart = wait_for(log, r"process 1 was killed by SIGKILL: restarting the group from (\S+)")
        by_hand = tmp_path / "by_hand"
        (by_hand / "checkpoints").mkdir(parents=True)
        shutil.copy(restart.group(1), by_hand / "checkpoints")
        finished(proc)
    text = log.read_text()
    assert "restart 1: the process group was started again" in text
    rows = (run / "metrics.csv").read_text().splitlines()
    assert rows[-1].split(",")[-1] == "1"  # the restarts column
    assert checkpoint.read(run)[0]["extra"]["restarts"] == 1
    finished(run_train(["--resume", str(by_hand), "--processes", "2", "--no-eval"], 2, cache,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    assert checkpoint.read(by_hand)[0]["update"] == checkpoint.read(run)[0]["update"] == 400
    for a, b in zip(params(run), params(by_hand)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def wait_for_file(path: Path, proc: subprocess.Popen, timeout: float = 900):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None and time.monotonic() < deadline, f"no {path}"
        time.sleep(0.1)
