"""Supervision: a run's processes started, watched, and restarted from the newest checkpoint.

A process of a multi-process run that dies leaves the others blocked in a
collective, so a supervisor tears the whole group down and starts it again
from the newest checkpoint (`supervise`): `--processes N` on this machine
(`launch`), or Ray on a cluster (train.distribute.cluster). The updates
since that checkpoint (at most `checkpoint_every` x `updates_per_chunk`) are
redone. On CPU each process gets a share of the cores of its own.
"""
from __future__ import annotations

import contextlib
import ctypes
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

from ..config import TrainConfig
from ..run import checkpoint
from . import backend
from .group import RESTARTS_ENV

MAX_RESTARTS = 10  # group restarts before a run gives up


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------- supervision

def member_configs(tc: TrainConfig, n: int, coordinator: str) -> list[TrainConfig]:
    """The configs of the n processes of a group started by a supervisor."""
    alone = tc.replace(placement=tc.placement.alone())
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
    or when JAX runs on an accelerator (train.distribute.backend.platform), where the
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
    on an accelerator (train.distribute.backend.platform) XLA_FLAGS is left as it is."""
    if backend.platform() != "cpu":
        return dict(os.environ, **{RESTARTS_ENV: str(restarts)})
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split()
             if not f.startswith(backend.HOST_DEVICES_FLAG)]
    return dict(os.environ, XLA_FLAGS=" ".join(
        flags + [f"{backend.HOST_DEVICES_FLAG}={devices}"]),
        **{RESTARTS_ENV: str(restarts)})


class LocalGroup:
    """n processes of one run on this machine, each bound to its share of the CPU cores
    (core_share) with one CPU device per core of it, unless --devices says otherwise;
    on an accelerator, unbound and with XLA_FLAGS as given (member_env)."""

    def __init__(self, tc: TrainConfig, n: int, leader_paths: Sequence[str], restarts: int):
        self.cores = [core_share(i, n) for i in range(n)]
        env = member_env(tc.placement.devices or share_devices(self.cores[0]), restarts)
        configs = member_configs(tc, n, f"127.0.0.1:{free_port()}")
        self.procs = [spawn(command(c, leader_paths if c.placement.process_id == 0 else ()), cores,
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
    return supervise(lambda where, restarts: LocalGroup(tc, tc.placement.processes, where,
                                                        restarts),
                     out, paths, resume, overwrite,
                     lambda: newest_checkpoint(out), log)


def newest_checkpoint(out: str | Path) -> str | None:
    """The newest checkpoint file of run directory `out`, or None."""
    found = checkpoint.latest(out) if Path(out).is_dir() else None
    return None if found is None else str(found)
