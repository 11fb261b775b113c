"""Placement: where a run goes, the devices its worlds are split over and its processes."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..flags import check_count, flag, refuse


@dataclass(frozen=True)
class Placement:
    """One process, N local processes, N processes started by hand (one per host), or N
    started and restarted by Ray (train.distribute.cluster). Field `x_y` is the flag
    `--x-y` of `python -m train`."""

    devices: int = 0  # local devices the worlds are split over; 0 = as many as divide num_worlds
    processes: int = 0  # launch this many cooperating local JAX processes; 0 = this one alone
    coordinator: str = ""  # HOST:PORT of process 0 of a multi-process run; "" = not one
    num_processes: int = 0  # processes of that run (with --coordinator)
    process_id: int = 0  # this process's index in it; process 0 writes logs and checkpoints
    ray_workers: int = 0  # JAX processes Ray starts, one per node; 0 = no Ray (cluster.py)
    ray_address: str = ""  # join a running Ray cluster (`ray start`); "" = start a local one

    def __post_init__(self) -> None:
        self.validate()

    def replace(self, **changes) -> "Placement":
        return dataclasses.replace(self, **changes)

    def alone(self) -> "Placement":
        """This placement for a process of its own: the devices kept, the process flags
        cleared (each session of a run gives them anew; a supervisor gives each of its
        processes theirs)."""
        return Placement(devices=self.devices)

    def validate(self) -> None:
        """Raise ValueError naming the flag of the first bad value: one way of starting
        processes at a time, a coordinator address HOST:PORT and a process id in range."""
        check_count(self, "devices", 0, "all local devices that divide num_worlds")
        check_count(self, "ray_workers", 0, "no Ray")
        if not isinstance(self.ray_address, str):
            refuse(self, "ray_address", "must be a string (HOST:PORT of a Ray head, or empty)")
        check_count(self, "processes", 0, "one process")
        check_count(self, "num_processes", 0, "not a multi-process run")
        if not isinstance(self.coordinator, str):
            refuse(self, "coordinator", "must be a string HOST:PORT")
        ways = [name for name, on in (("--processes", self.processes),
                                      ("--coordinator", self.coordinator),
                                      ("--ray-workers/--ray-address",
                                       self.ray_workers or self.ray_address)) if on]
        if len(ways) > 1:
            raise ValueError(f"{' and '.join(ways)}: give one way to start the processes")
        if self.coordinator:
            host, _, port = self.coordinator.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                refuse(self, "coordinator", "must be HOST:PORT, a host name or address and a "
                                            "port in 1..65535")
            if self.num_processes < 1:
                refuse(self, "num_processes", "must be an integer >= 1 with --coordinator")
        elif self.num_processes:
            refuse(self, "num_processes", "needs --coordinator HOST:PORT")
        n = self.num_processes or 1
        if not isinstance(self.process_id, int) or isinstance(self.process_id, bool) \
                or not 0 <= self.process_id < n:
            refuse(self, "process_id",
                   f"must be in 0..{n - 1} (--num-processes={self.num_processes})")

    def check_worlds(self, num_worlds: int) -> None:
        """ValueError naming the flag unless the devices and the processes divide
        `num_worlds` worlds, and the devices each process's share."""
        if self.devices and num_worlds % self.devices:
            refuse(self, "devices", f"must divide --num-worlds={num_worlds}")
        for name in ("processes", "num_processes", "ray_workers"):
            value = getattr(self, name)
            if value and num_worlds % value:
                refuse(self, name, f"must divide --num-worlds={num_worlds}")
            if value and self.devices and (num_worlds // value) % self.devices:
                refuse(self, "devices", f"must divide the worlds of each process "
                                        f"({num_worlds // value} with {flag(name)}={value})")
