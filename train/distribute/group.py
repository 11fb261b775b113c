"""One training over many processes: the fused update of train.ppo on a global device mesh.

Each process calls `jax.distributed.initialize` (`--coordinator HOST:PORT
--num-processes N --process-id I`, train.distribute.coordinate), and
`train.ppo.trainer.world_mesh` then spans every device of every process, so
`make_trainer` compiles the same program as on one process: each process
holds and steps only its own worlds, the parameters and optimizer state are
replicated, and the devices sum the gradients inside the compiled update
(train.ppo.collectives.world_sum over gloo on CPU). Python does nothing per
minibatch.

Process 0, the leader, runs train.run.loop with the `Leader` backend and alone
writes logs, checkpoints and the evaluation; the others `follow`. Every
collective must be entered by all processes in the same order, so the leader
broadcasts each step of the loop (a chunk, gathering the worlds for a
checkpoint, the end) and the followers do the same. A fresh or resumed run
starts from the leader's config and Runner, broadcast to all, so only the
leader needs the run directory. Checkpoints hold every world (gathered to
the leader) in the single-process format: they resume on any number of
processes and load as a policy. A process that dies is the supervisor's to
handle (train.distribute.supervise).
"""
from __future__ import annotations

import json
import os
import signal
from typing import Any, Callable

import jax
import numpy as np
from jax.experimental import multihost_utils

from ..config import TrainConfig
from ..ppo.trainer import make_trainer
from ..ppo.update import Runner
from . import ascend

RESTARTS_ENV = "NMMO_JAX_RESTARTS"  # how often the supervisor restarted the group so far
CHUNK, GATHER, STOP = 1, 2, 3  # the leader's commands


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


def to_global(runner: Runner, shardings: Runner) -> Runner:
    """Host arrays (the same on every process) as global arrays placed by `shardings`."""
    put = lambda s: lambda x: jax.make_array_from_callback(x.shape, s, lambda i: x[i])
    return jax.tree.map(lambda s, sub: jax.tree.map(put(s), sub), shardings, runner,
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
            self.runner = to_global(broadcast_runner(runner, template), self.trainer.shardings)

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
    """The run loop's backend (train.run.loop) on process 0 of a multi-process run
    (jax.distributed initialised by train.distribute.coordinate)."""

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
        process_id=tc.placement.process_id)
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
