"""One training over many processes: the fused update of train.ppo on a global device mesh.

Each process calls `jax.distributed.initialize` (`--coordinator HOST:PORT
--num-processes N --process-id I`), and `train.ppo.world_mesh` then spans
every device of every process, so `make_trainer` compiles the same program
as on one process: each process holds and steps only its own worlds, the
parameters and optimizer state are replicated, and the devices sum the
gradients inside the compiled update (train.ppo.world_sum over gloo on CPU).
Python does nothing per minibatch.

Process 0, the leader, runs train.loop with the `Leader` backend and alone
writes logs, checkpoints and the evaluation; the others `follow`. Every
collective must be entered by all processes in the same order, so the leader
broadcasts each step of the loop (a chunk, gathering the worlds for a
checkpoint, the end) and the followers do the same. A fresh or resumed run
starts from the leader's config and Runner, broadcast to all, so only the
leader needs the run directory. Checkpoints hold every world (gathered to
the leader) in the single-process format: they resume on any number of
processes and load as a policy.

Faults: a process that dies leaves the others blocked in a collective, so a
supervisor tears the whole group down and starts it again from the newest
checkpoint (`supervise`): `--processes N` on this machine (`launch`),
or Ray on a cluster (train.cluster). The updates since that checkpoint
(at most `checkpoint_every` x `updates_per_chunk`) are redone.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import jax
import numpy as np
from jax.experimental import multihost_utils

from . import ascend, backend, checkpoint
from .config import PLACEMENT_FIELDS, TrainConfig
from .ppo import Runner, make_trainer

RESTARTS_ENV = "NMMO_JAX_RESTARTS"  # how often the supervisor restarted the group so far
MAX_RESTARTS = 10  # group restarts before a run gives up
CHUNK, GATHER, STOP = 1, 2, 3  # the leader's commands


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------- collectives

def broadcast_bytes(data: bytes | None) -> bytes:
    """The leader's bytes on every process (the others pass None)."""
    leader = jax.process_index() == 0
    size = int(multihost_utils.broadcast_one_to_all(np.int64(len(data) if leader else 0)))
    buf = np.frombuffer(data, np.uint8) if leader else np.zeros(size, np.uint8)
    return np.asarray(multihost_utils.broadcast_one_to_all(buf)).astype(np.uint8).tobytes()


def broadcast_runner(runner: Runner | None, template: Runner) -> Runner:
    """The leader's Runner (host arrays shaped like `template`, an eval_shape) everywhere."""
    leaves = jax.tree.leaves(template)
    data = None if runner is None else b"".join(
        np.ascontiguousarray(np.asarray(x)).tobytes() for x in jax.tree.leaves(runner))
    data, out, at = broadcast_bytes(data), [], 0
    for leaf in leaves:
        size = int(np.prod(leaf.shape)) * np.dtype(leaf.dtype).itemsize
        out.append(np.frombuffer(data[at:at + size], leaf.dtype).reshape(leaf.shape))
        at += size
    return jax.tree.unflatten(jax.tree.structure(template), out)


def to_global(runner: Runner, placement: Runner) -> Runner:
    """Host arrays (the same on every process) as global arrays placed like `placement`."""
    put = lambda s: lambda x: jax.make_array_from_callback(x.shape, s, lambda i: x[i])
    return jax.tree.map(lambda s, sub: jax.tree.map(put(s), sub), placement, runner,
                        is_leaf=lambda s: isinstance(s, jax.sharding.Sharding))


# ---------------------------------------------------------------------------- the group

class Group:
    """This process's part of the run: the compiled trainer over the global mesh and the
    Runner of global arrays. Clocks: this process (the server layer: compute is its
    host work, wait is waiting on its devices) and its devices (the core layer:
    compute is the time a chunk is in flight)."""

    def __init__(self, tc: TrainConfig, runner: Runner | None, resumed: bool):
        """resumed: start from the leader's `runner` (None on the followers), else afresh."""
        self.trainer = make_trainer(tc)
        self.devices = [d for d in self.trainer.mesh.devices.flat
                        if d.process_index == jax.process_index()]
        self.core = ascend.Clock()
        self._ascend_clock = ascend.Clock()
        template = jax.eval_shape(self.trainer.init, jax.random.PRNGKey(0))
        if not resumed:
            self.runner = self.trainer.init(np.asarray(jax.random.PRNGKey(tc.seed)))
        else:
            self.runner = to_global(broadcast_runner(runner, template), self.trainer.placement)

    @ascend.runtime
    def chunk(self) -> dict:
        """updates_per_chunk updates; the per-update metrics [U] as numpy."""
        with self.core.section("compute"):
            self.runner, m = self.trainer.train_chunk(self.runner)
            return self._fetch(m)

    @ascend.waittime
    def _fetch(self, tree):
        return jax.tree.map(np.asarray, tree)

    @ascend.runtime
    def gather(self) -> Runner:
        """The whole Runner as host arrays, every world included (a collective)."""
        return multihost_utils.process_allgather(self.runner, tiled=True)

    def timing(self) -> dict:
        """The server and core layers' summaries over all processes (a collective)."""
        mine = np.array([[r["total"], r["compute"], r["wait"]] for r in (
            ascend.clock(self).report(), self.core.report())])
        every = np.asarray(multihost_utils.process_allgather(mine))  # [P, 2, 3]
        layer = lambda k, n: {"n": n, **dict(zip(("total",) + ascend.KINDS,
                                                 every[:, k].mean(0).tolist()))}
        return {"server": layer(0, len(every)),
                "core": layer(1, len(every) * len(self.devices))}


# ---------------------------------------------------------------------------- leader

class Leader:
    """The run loop's backend (train.loop) on process 0 of a multi-process run
    (jax.distributed initialised by train.coordinate)."""

    def __init__(self, tc: TrainConfig, runner: Runner | None, log: Callable[[str], None]):
        self.tc, self.log = tc, log
        self.restarts = int(os.environ.get(RESTARTS_ENV, "0"))
        broadcast_bytes(json.dumps(tc.to_dict()).encode())
        broadcast_bytes(b"\x01" if runner is not None else b"\x00")
        self.group = Group(tc, None if runner is None else jax.device_get(runner),
                           resumed=runner is not None)
        self.model = self.group.trainer.model
        self.timings: dict = {}

    def _command(self, what: int) -> None:
        multihost_utils.broadcast_one_to_all(np.int32(what))

    @property
    def update(self) -> int:
        return int(self.group.runner.update)

    @property
    def params(self) -> Any:
        return jax.tree.map(np.asarray, self.group.runner.params)  # replicated: a local copy

    def describe(self, what: str) -> list[str]:
        mesh = self.group.trainer.mesh
        lines = [f"nmmo-jax PPO on {jax.process_count()} processes: {what}, worlds split over "
                 f"{mesh.size} device(s) " + str([f"process {d.process_index}: {d}"
                                                  for d in mesh.devices.flat])]
        if self.restarts:
            lines.append(f"restart {self.restarts}: the process group was started again from "
                         f"the newest checkpoint (update {self.update})")
        return lines

    def chunk(self) -> dict:
        self._command(CHUNK)
        m = self.group.chunk()
        self.timings = self.group.timing()
        self.log(f"update {self.update}: Ascend timing\n" + ascend.format_summary(self.timings))
        return m

    def runner(self) -> Runner:
        self._command(GATHER)
        return self.group.gather()

    def extra(self) -> dict:
        return {"restarts": self.restarts}

    def close(self) -> dict:
        """Releases the followers and leaves jax.distributed; the leader's devices stay
        usable for the closing evaluation."""
        self._command(STOP)
        jax.distributed.shutdown()
        return {"restarts": self.restarts, "timing": self.timings}


def follow(tc: TrainConfig) -> int:
    """A follower process's whole run: the leader's config and Runner, then its
    commands until it stops. Signals are the leader's to handle. Returns 0."""
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_IGN)
    tc = TrainConfig.from_dict(json.loads(broadcast_bytes(None))).replace(
        process_id=tc.process_id)
    resumed = broadcast_bytes(None) == b"\x01"
    group = Group(tc, None, resumed)
    while True:
        what = int(multihost_utils.broadcast_one_to_all(np.int32(0)))
        if what == CHUNK:
            group.chunk()
            group.timing()
        elif what == GATHER:
            group.gather()
        else:
            jax.distributed.shutdown()
            return 0


# ---------------------------------------------------------------------------- supervision

def member_configs(tc: TrainConfig, n: int, coordinator: str) -> list[TrainConfig]:
    """The configs of the n processes of a group started by a supervisor."""
    alone = tc.replace(**{name: getattr(TrainConfig, name) for name in PLACEMENT_FIELDS})
    return [alone.replace(coordinator=coordinator, num_processes=n, process_id=i)
            for i in range(n)]


def command(tc: TrainConfig, paths: Sequence[str] = ()) -> list[str]:
    """`python -m train` with the fields of tc that differ from the defaults, then paths."""
    return [sys.executable, "-m", "train", *tc.flags(changed_only=True), *paths]


def _start_child(cores: Sequence[int] | None) -> None:
    """In a child before exec: SIGKILL it when its parent dies (Linux), so a
    supervisor that is killed leaves no process blocked in a collective; and
    bind it to `cores`, if given (its threads inherit them)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if cores:
        os.sched_setaffinity(0, cores)


def spawn(argv: list[str], cores: Sequence[int] | None = None, **popen) -> subprocess.Popen:
    """Popen(argv) of a process that dies with this one, bound to `cores` if given."""
    with warnings.catch_warnings():  # JAX warns of fork in a threaded process; exec follows
        warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
        return subprocess.Popen(argv, preexec_fn=lambda: _start_child(cores), **popen)


def core_share(slot: int, n: int) -> list[int] | None:
    """The CPU cores of the `slot`-th of `n` processes that share this machine: an
    equal, disjoint share of the cores this process may use (cores left over by
    the division go to none), or None when there are fewer cores than processes,
    or when JAX runs on an accelerator (train.backend.platform), where the
    processes' work is on their devices and binding would only cramp their hosts.

    Processes of one program meet at every cross-device sum, so each gets cores
    of its own: left to the scheduler, a process woken by a sum often waits behind
    the other's computing on the same core (docs/distributed.md, "What it costs").
    """
    if backend.platform() != "cpu":
        return None
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else list(range(os.cpu_count() or 1))
    k = len(cores) // n
    return cores[slot * k:(slot + 1) * k] if k else None


def share_devices(cores: list[int] | None) -> int:
    """CPU devices for a process bound to `cores` (one per core; 1 when unbound)."""
    return len(cores) if cores else 1


def member_env(devices: int, restarts: int) -> dict[str, str]:
    """The environment of a group's process: this one's with the group's restart count
    and, on CPU, `devices` XLA host devices (in place of any count XLA_FLAGS gives);
    on an accelerator (train.backend.platform) XLA_FLAGS is left as it is."""
    if backend.platform() != "cpu":
        return dict(os.environ, **{RESTARTS_ENV: str(restarts)})
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split()
             if not f.startswith(backend.HOST_DEVICES_FLAG)]
    return dict(os.environ, XLA_FLAGS=" ".join(
        flags + [f"{backend.HOST_DEVICES_FLAG}={devices}"]),
        **{RESTARTS_ENV: str(restarts)})


class LocalGroup:
    """n processes of one run on this machine, each bound to its share of the CPU cores
    (core_share) with one CPU device per core of it, unless tc.devices says otherwise;
    on an accelerator, unbound and with XLA_FLAGS as given (member_env)."""

    def __init__(self, tc: TrainConfig, n: int, leader_paths: Sequence[str], restarts: int):
        self.cores = [core_share(i, n) for i in range(n)]
        env = member_env(tc.devices or share_devices(self.cores[0]), restarts)
        configs = member_configs(tc, n, f"127.0.0.1:{free_port()}")
        self.procs = [spawn(command(c, leader_paths if c.process_id == 0 else ()), cores,
                            env=env, start_new_session=True)
                      for c, cores in zip(configs, self.cores)]
        self.pids = [p.pid for p in self.procs]

    def poll(self) -> list[int | None]:
        """Each process's exit status (negative: the signal that ended it), None while it runs."""
        return [p.poll() for p in self.procs]

    def signal_leader(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.procs[0].send_signal(signum)

    def kill(self) -> None:
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
        for p in self.procs:
            p.wait()


def describe_exit(code: int) -> str:
    return (f"was killed by {signal.Signals(-code).name}" if code < 0
            else f"exited with status {code}")


def supervise(start: Callable[[Sequence[str], int], Any], out: Path, paths: Sequence[str],
              resume: bool, overwrite: bool, newest: Callable[[], str | None],
              log: Callable[[str], None], grace_s: float = 30.0) -> int:
    """Run a group to its end, restarting it from the newest checkpoint when one of
    its processes dies. Returns the leader's exit status.

    start(leader_paths, restarts) starts the group (an object with `pids`, `cores`, `poll()`,
    `signal_leader(signum)`, `kill()`); paths are the leader's other flags
    (--no-eval); newest() names the run's newest checkpoint, or None. A follower
    that fails, or a leader killed by a signal, restarts the group (see `_watch`);
    a leader that exits by itself (done, diverged, refused) ends the run with its
    status. SIGINT/SIGTERM go to the leader, which saves and stops; a second one
    ends the group at once.
    """
    where = ["--resume", str(out)] if resume else ["--out", str(out)] + (
        ["--overwrite"] if overwrite else [])
    stopping: list[int] = []
    group = None

    def forward(signum, frame):
        stopping.append(signum)
        if group is not None and len(stopping) == 1:
            group.signal_leader(signum)
        elif group is not None:
            group.kill()

    saved = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)} \
        if threading.current_thread() is threading.main_thread() else {}
    try:
        for restarts in range(MAX_RESTARTS + 1):
            group = start(where + list(paths), restarts)
            log(f"process group started: pids {group.pids}, cores {group.cores}" + (
                f" (restart {restarts})" if restarts else ""))
            failed = _watch(group, grace_s)
            if failed is None:
                return group.poll()[0]
            index, code = failed
            group.kill()
            if stopping:
                return 128 + stopping[0]
            found = newest()
            log(f"process {index} {describe_exit(code)}: restarting the group from "
                + (found or "the start (no checkpoint yet)"))
            where = ["--resume", str(out)] if found else ["--out", str(out), "--overwrite"]
        log(f"error: the process group failed {MAX_RESTARTS + 1} times; giving up")
        return 1
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
        if group is not None:
            group.kill()


def _watch(group, grace_s: float, settle_s: float = 3.0, every_s: float = 0.2
           ) -> tuple[int, int] | None:
    """Wait for the group. None when it ended by itself: the leader exited (its status
    is then poll()[0]; followers still running `grace_s` later are left to the
    caller). Else (index, status) of a failure that calls for a restart: a process
    killed from outside (a signal other than SIGABRT, which JAX raises in the
    survivors), or a follower that ended while the leader, `settle_s` later, still
    runs. Nothing restarts once a follower has finished normally (the leader's STOP)."""
    since = None
    while True:
        codes, now = group.poll(), time.monotonic()
        done = 0 in codes[1:]
        killed = [(i, c) for i, c in enumerate(codes)
                  if c is not None and c < 0 and -c != signal.SIGABRT]
        if killed and not done:
            return killed[0]
        ended = [i for i, c in enumerate(codes) if c is not None]
        since = since if since is not None or not ended else now
        if codes[0] is not None:
            if len(ended) == len(codes) or now - since > grace_s:
                return None
        elif ended and not done and now - since > settle_s:
            return ended[0], codes[ended[0]]
        time.sleep(every_s)


def launch(tc: TrainConfig, out: Path, paths: Sequence[str], resume: bool,
                 overwrite: bool) -> int:
    """`--processes N`: the run as N cooperating processes on this machine, supervised."""
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    return supervise(lambda where, restarts: LocalGroup(tc, tc.processes, where, restarts),
                     out, paths, resume, overwrite,
                     lambda: newest_checkpoint(out), log)


def newest_checkpoint(out: str | Path) -> str | None:
    """The newest checkpoint file of run directory `out`, or None."""
    found = checkpoint.latest(out) if Path(out).is_dir() else None
    return None if found is None else str(found)
