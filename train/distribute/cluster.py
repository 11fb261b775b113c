"""Ray as the cluster layer: `python -m train --ray-workers N` or `--ray-address ADDR`.

The training is train.distribute.group's: N JAX processes over one global device
mesh, process 0 leading the run loop. Ray only starts them where they belong
and keeps them going. The driver (this process) places one `Member` actor
per node (Ray's SPREAD strategy), takes process 0's node address and a free
port there as the coordinator, and has each member start its node's
`python -m train --coordinator ... --process-id I`. It then watches them
through `train.distribute.supervise`: when a process dies, or a member's
node is lost (Ray restarts the actor), the whole group is stopped and started
again from the newest checkpoint, which process 0 writes in the run
directory on its node (use storage every node sees, or keep process 0 on the
node you start from).

The layers of train.distribute.ascend: the driver with its members (the cluster layer:
it mostly waits, printed at the end and after each restart), each JAX
process (the server layer) and its devices (the core layer), which the
leader's log reports every chunk.
"""
from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Sequence

from .ascend import Ascend, Worker, WorkerLost, _ray, runtime
from ..config import TrainConfig
from .supervise import (command, core_share, free_port, member_configs, member_env,
                          newest_checkpoint, share_devices, spawn, supervise)


class Member(Worker):
    """One node's JAX process of the run: started, polled and stopped by the driver."""

    def __init__(self, index: int):
        self.index = index
        self.proc: subprocess.Popen | None = None

    def node(self) -> str:
        """This node's address, as the other nodes reach it."""
        return _ray().util.get_node_ip_address()

    def port(self) -> int:
        return free_port("0.0.0.0")

    @runtime
    def start(self, argv: list[str], devices: int, slot: int, sharing: int, restarts: int,
              cwd: str) -> tuple[int, list[int] | None]:
        """Start the process `argv` (python -m train ...) as the `slot`-th of the
        `sharing` members on this node, bound to its share of the node's cores, with
        `devices` CPU devices or, with 0, one per core of that share; returns its pid
        and cores."""
        self.stop()
        cores = core_share(slot, sharing)
        env = member_env(devices or share_devices(cores), restarts)
        self.proc = spawn([sys.executable] + argv[1:], cores, env=env, cwd=cwd)
        return self.proc.pid, cores

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def signal(self, signum: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def stop(self) -> None:
        """End the process (if any) and wait for it."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait()

    def newest(self, out: str) -> str | None:
        """The newest checkpoint of run directory `out` on this node, or None."""
        return newest_checkpoint(out)


class RayGroup:
    """The N processes of a run, one per member (the group of train.distribute.supervise)."""

    def __init__(self, layer: Ascend, tc: TrainConfig, leader_paths: Sequence[str],
                 restarts: int):
        self.layer = layer
        nodes = layer.step(method="node")
        coordinator = f"{nodes[0]}:{layer.call(0, method='port')}"
        per_node = collections.Counter(nodes)
        slots = [nodes[:i].count(node) for i, node in enumerate(nodes)]
        argvs = [command(c, leader_paths if c.placement.process_id == 0 else ())
                 for c in member_configs(tc, layer.n, coordinator)]
        started = layer.step(argvs, tc.placement.devices, slots, [per_node[n] for n in nodes],
                             restarts, os.getcwd(), shard=(True, False, True, True, False, False),
                             method="start")
        self.pids = [pid for pid, _ in started]
        self.cores = [cores for _, cores in started]

    def poll(self) -> list[int | None]:
        """Exit statuses; a member whose node or actor was lost counts as killed."""
        try:
            return self.layer.step(method="poll")
        except WorkerLost as e:
            return [-signal.SIGKILL if i in e.indices else None
                    for i in range(self.layer.n)]

    def signal_leader(self, signum: int) -> None:
        self.layer.call(0, signum, method="signal")

    def kill(self) -> None:
        with contextlib.suppress(WorkerLost):
            self.layer.step(method="stop")


def connect(tc: TrainConfig) -> tuple[TrainConfig, bool]:
    """Start or join Ray; returns (tc with ray_workers resolved, whether we started Ray)."""
    ray = _ray()
    started = False
    if not ray.is_initialized():
        with warnings.catch_warnings():  # Ray starts its processes by fork + exec: safe
            warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
            if tc.placement.ray_address:
                ray.init(address=tc.placement.ray_address)
            else:
                ray.init(num_cpus=max(tc.placement.ray_workers, os.cpu_count() or 1),
                         include_dashboard=False)
        started = True
    if not tc.placement.ray_workers:
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        try:
            tc = tc.replace(ray_workers=nodes)
        except ValueError as e:
            if started:
                ray.shutdown()
            raise ValueError(f"{e} ({nodes} node(s) in the cluster at "
                             f"{tc.placement.ray_address!r}; give --ray-workers)") from e
    return tc, started


def launch(tc: TrainConfig, out: Path, paths: Sequence[str], resume: bool,
           overwrite: bool) -> int:
    """The run as one JAX process per Ray node, supervised; the leader's exit status."""
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    tc, started = connect(tc)
    layer = Ascend(Member, tc.placement.ray_workers, use_ray=True, name="member",
                   ray_options={"scheduling_strategy": "SPREAD"})
    try:
        return supervise(lambda where, restarts: RayGroup(layer, tc, where, restarts),
                         out, paths, resume, overwrite,
                         lambda: layer.call(0, str(out), method="newest"), log)
    finally:
        with contextlib.suppress(WorkerLost):
            log("the cluster layer's Ascend timing\n" + layer.format_summary())
        layer.close()
        if started:
            _ray().shutdown()
