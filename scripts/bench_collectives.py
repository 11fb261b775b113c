"""Time of one all-reduce between two JAX processes on this machine (gloo on CPU).

    python -m scripts.bench_collectives                  # 16, 12,569 and 100,000 floats
    python -m scripts.bench_collectives --floats 12569 --repeats 500

Starts two processes that join one jax.distributed group over 127.0.0.1
with one CPU device each, as `python -m train --processes 2` does, and runs
`--repeats` dependent `psum`s of `--floats` float32 in one compiled loop
(`shard_map` over a 2-device mesh, as the training update does); it prints
the milliseconds per `psum` after a warm-up call. This is the price of
each optimizer step of a multi-process training (one flat gradient
all-reduce per minibatch: the default model has 12,569 parameters), with
nothing else running; a training's own computing slows it further.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from train.distributed import free_port, spawn

WORKER = """
import sys, time
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(sys.argv[1], 2, int(sys.argv[2]))
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec as P
floats, repeats = int(sys.argv[3]), int(sys.argv[4])
mesh = jax.make_mesh((2,), ("w",), devices=jax.devices())
loop = lambda x: jax.lax.fori_loop(0, repeats, lambda i, y: jax.lax.psum(y * 0.5, "w"), x)
f = jax.jit(jax.shard_map(loop, mesh=mesh, in_specs=P("w"), out_specs=P("w"),
                          check_vma=False))
x = jax.make_array_from_process_local_data(NamedSharding(mesh, P("w")), jnp.ones((1, floats)))
f(x).block_until_ready()
start = time.perf_counter()
f(x).block_until_ready()
print((time.perf_counter() - start) / repeats * 1e3)
"""


def time_psum(floats: int, repeats: int) -> float:
    """Milliseconds per psum of `floats` float32 between two fresh local processes."""
    address = f"127.0.0.1:{free_port()}"
    procs = [spawn([sys.executable, "-c", WORKER, address, str(i), str(floats), str(repeats)],
                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                   env=dict(os.environ, JAX_PLATFORMS="cpu"))
             for i in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f"a worker failed: exit statuses {[p.returncode for p in procs]}")
    return float(outs[0].split()[-1])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--floats", default="16,12569,100000", help="comma list of message sizes")
    p.add_argument("--repeats", type=int, default=200, help="psums timed per size")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.floats.split(",")]
    if args.repeats < 1 or min(sizes) < 1:
        p.error("--floats and --repeats must be positive")
    print("| float32 values | bytes | ms per psum |\n|---:|---:|---:|")
    for n in sizes:
        print(f"| {n:,} | {4 * n:,} | {time_psum(n, args.repeats):.2f} |")
        time.sleep(0.5)  # let the previous pair's port close


if __name__ == "__main__":
    main()
