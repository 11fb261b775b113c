"""Join a multi-process run before anything touches JAX.

`jax.distributed.initialize` must come before the first JAX computation, and
importing the game computes, so `python -m train` calls `join(argv)` first:
with `--coordinator HOST:PORT --num-processes N --process-id I` it initialises
jax.distributed (gloo collectives on CPU), which waits for all N processes.
Values it cannot use, or a launcher flag beside them, are left for the flag
parser (train.run.cli), which refuses them with one line.
"""
from __future__ import annotations

import argparse

import jax


def join(argv: list[str]) -> bool:
    """Initialise jax.distributed from the coordinator flags in argv, if given;
    returns whether it did."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--coordinator", default="")
    p.add_argument("--num-processes", default="0")
    p.add_argument("--process-id", default="0")
    for launcher in ("--processes", "--ray-workers", "--ray-address"):
        p.add_argument(launcher, default="")
    args, _ = p.parse_known_args(argv)
    if args.processes not in ("", "0") or args.ray_workers not in ("", "0") or args.ray_address:
        return False  # a supervisor's flags too: the parser refuses the mix
    host, _, port = args.coordinator.rpartition(":")
    try:
        n, i = int(args.num_processes), int(args.process_id)
    except ValueError:
        return False
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or not 0 <= i < n:
        return False
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(args.coordinator, n, i)
    return True
