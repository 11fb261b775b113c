"""Time of one cross-process sum between two JAX processes on this machine (gloo on CPU).

    python -m scripts.bench_collectives                  # 16, 12,569 and 100,000 floats
    python -m scripts.bench_collectives --floats 12569 --busy 16 --repeats 300

Starts two processes that join one jax.distributed group over 127.0.0.1
with one CPU device each, as `python -m train --processes 2` does, and in
each compiled loop (`shard_map` over the 2-device mesh, as the training
update does) runs `--repeats` dependent sums of `--floats` float32 three
ways: `psum` (gloo's all-reduce), `all_gather` then a local sum, and
train.ppo.collectives.world_sum (the trainer's: `ppermute` swaps). With
`--busy K` every iteration also multiplies K 128x128 matrices, so both processes
compute while they exchange, as in a training; the table then gives the
milliseconds each sum adds over the same loop without one. The three ways
are timed in turn, `--rounds` times, in the same pair of processes, and
the table gives each one's median. The default model's gradient is 12,569
float32, summed once per optimizer step. Each process is bound to its own
share of the cores, as `--processes` binds them
(train.distribute.supervise.core_share); `--unbound` leaves their placement to
the scheduler.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from train.distribute.supervise import core_share, free_port, spawn

WAYS = ("psum", "all_gather + sum", "world_sum (ppermute)")

WORKER = """
import statistics, sys, time
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(sys.argv[1], 2, int(sys.argv[2]))
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec as P
from envs.batch import WORLDS, world_mesh_of
from train.ppo.collectives import world_sum
floats, repeats, busy, rounds = map(int, sys.argv[3:7])
mesh = world_mesh_of(jax.devices())
sums = {"none": lambda y: y, "psum": lambda y: jax.lax.psum(y, WORLDS),
        "all_gather + sum": lambda y: jax.lax.all_gather(y, WORLDS).sum(0),
        "world_sum (ppermute)": world_sum}
def work(y):  # `busy` dependent 128x128 matrix products, folded into y
    m = jnp.full((128, 128), 1.0 / 128) + y[0] * 1e-9
    m = jax.lax.fori_loop(0, busy, lambda i, a: jnp.tanh(a @ a), m)
    return y * 0.5 + m[0, 0] * 1e-9
def timed(total):
    body = lambda i, y: total(work(y) if busy else y * 0.5)
    loop = lambda x: jax.lax.fori_loop(0, repeats, body, x[0])[None]
    f = jax.jit(jax.shard_map(loop, mesh=mesh, in_specs=P(WORLDS), out_specs=P(WORLDS),
                              check_vma=False))
    x = jax.make_array_from_process_local_data(NamedSharding(mesh, P(WORLDS)),
                                               jnp.ones((1, floats)))
    f(x).block_until_ready()
    def run():
        start = time.perf_counter()
        f(x).block_until_ready()
        return (time.perf_counter() - start) / repeats * 1e3
    return run
runs = {name: timed(total) for name, total in sums.items()}
ms = {name: [] for name in sums}
for _ in range(rounds):
    for name, run in runs.items():
        ms[name].append(run())
print(*(statistics.median(ms[name]) for name in sums))
"""


def time_sums(floats: int, repeats: int, busy: int, rounds: int, bound: bool = True
              ) -> tuple[float, ...]:
    """Median milliseconds per iteration (no sum, then each of WAYS) of `floats` float32
    between two fresh local processes, each on cores of its own if `bound`."""
    address = f"127.0.0.1:{free_port()}"
    argv = [str(floats), str(repeats), str(busy), str(rounds)]
    procs = [spawn([sys.executable, "-c", WORKER, address, str(i), *argv],
                   core_share(i, 2) if bound else None,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                   env=dict(os.environ, JAX_PLATFORMS="cpu"))
             for i in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f"a worker failed: exit statuses {[p.returncode for p in procs]}\n"
                           + outs[0][1][-2000:])
    return tuple(float(v) for v in outs[0][0].split()[-1 - len(WAYS):])


def format_row(floats: int, times: tuple[float, ...]) -> str:
    """One table row: the size, and what each of WAYS adds over the loop without a sum."""
    base, *ways = times
    return f"| {floats:,} | {4 * floats:,} | {base:.2f} | " + \
        " | ".join(f"{t - base:.2f}" for t in ways) + " |"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--floats", default="16,12569,100000", help="comma list of message sizes")
    p.add_argument("--repeats", type=int, default=200, help="sums timed per way, per round")
    p.add_argument("--busy", type=int, default=0,
                   help="128x128 matrix products per iteration (computing beside the sums)")
    p.add_argument("--rounds", type=int, default=3, help="turns of the ways; medians shown")
    p.add_argument("--unbound", action="store_true",
                   help="leave the two processes' cores to the scheduler")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.floats.split(",")]
    if args.repeats < 1 or args.rounds < 1 or min(sizes) < 1 or args.busy < 0:
        p.error("--floats, --repeats and --rounds must be positive, --busy not negative")
    print(f"ms per iteration with --busy {args.busy} and no sum; then ms each sum adds; "
          f"processes {'unbound' if args.unbound else 'each on cores of its own'}\n")
    print("| float32 values | bytes | no sum | " + " | ".join(WAYS) + " |\n"
          "|---:|---:|---:|" + "---:|" * len(WAYS))
    for n in sizes:
        print(format_row(n, time_sums(n, args.repeats, args.busy, args.rounds,
                                      not args.unbound)))
        time.sleep(0.5)  # let the previous pair's port close


if __name__ == "__main__":
    main()
