"""Env and training throughput, compile time and peak memory on this machine's device, one table.

    python -m scripts.bench_device                 # GPU/TPU: default preset, W = 1,024 ... 16,384
    python -m scripts.bench_device --quick         # (the default on CPU) small preset, W = 4, 8, 16
    python -m scripts.bench_device --worlds 1024,4096 --train-worlds 1024 --json

The one command to run on an accelerator (docs/performance.md, "On an
accelerator"). Each row is one case in its own subprocess, so its compile
time and peak memory are its own:

* env rows: `scripts.bench_env.measure` (random masked play, the whole
  observation carried out of every tick, state donated) with the worlds
  split over every device. On an accelerator the worlds of a device form one
  vmap (`--chunk` = W; lax.map chunks are for CPU caches, docs/performance.md
  "Batching worlds"), on CPU bench_env's own chunking.
* train rows: `scripts.bench_train.measure`, the fused PPO update of
  `python -m train` (rollout, GAE, minibatch epochs), timed per chunk of
  `updates_per_chunk` updates after the compiling one.

Columns: agent-slot steps/s and world-ticks/s; seconds per timed call (a scan
of `--ticks` ticks, or one training chunk); compile seconds (env: trace and
XLA compile; train: the first chunk less a timed one, i.e. compiling and
running init and compiling the chunk); peak memory in MiB, per device from
`memory_stats()` where the device keeps them (GPU, TPU), else the process's
peak RSS (CPU). The sizes default by backend (train.distribute.backend.platform): the
full sizes on an accelerator, `--quick` on CPU, where it runs in seconds.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
from typing import Any

from scripts import bench_env, bench_train
from scripts.machine import cpu_model
from scripts.tables import markdown_table
from train.distribute import backend

# Per size: the preset, env and train world counts, ticks and timed calls per env
# case, timed chunks per train case and the TrainConfig fields set (strings, as
# on bench_train's command line; none: `python -m train`'s defaults).
SIZES: dict[str, dict[str, Any]] = {
    "quick": dict(preset="small", worlds=(4, 8, 16), train_worlds=(8,), ticks=4, repeats=2,
                  chunks=1, train=dict(rollout_len="4", num_minibatches="2", epochs="1",
                                       updates_per_chunk="1")),
    "full": dict(preset="default", worlds=(1024, 2048, 4096, 8192, 16384),
                 train_worlds=(1024, 2048, 4096), ticks=32, repeats=5, chunks=3, train={}),
}
COLUMNS = ("what", "preset", "A", "W", "dev", "agent-steps/s", "world-ticks/s", "s per call",
           "compile s", "peak MiB", "memory")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The flags; the sizes not given take the defaults of --quick or --full, the
    backend's own (full on an accelerator, quick on CPU) when neither is given."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="size", action="store_const", const="quick",
                      help="small preset, W = 4, 8, 16, one short training chunk (CPU default)")
    size.add_argument("--full", dest="size", action="store_const", const="full",
                      help="default preset, W = 1,024 ... 16,384 (accelerator default)")
    p.add_argument("--preset", choices=("small", "default", "large"), default=None)
    p.add_argument("--worlds", default=None, help="comma list of env world counts W")
    p.add_argument("--train-worlds", default=None,
                   help="comma list of training world counts W ('' for none)")
    p.add_argument("--ticks", type=int, default=None, help="ticks per timed env call")
    p.add_argument("--repeats", type=int, default=None, help="timed env calls after the warm-up")
    p.add_argument("--chunks", type=int, default=None, help="timed training chunks")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--one", choices=("env", "train"), help=argparse.SUPPRESS)  # worker mode
    args = p.parse_args(argv)
    args.size = args.size or ("quick" if backend.platform() == "cpu" else "full")
    sized = SIZES[args.size]
    for name in ("preset", "ticks", "repeats", "chunks"):
        if getattr(args, name) is None:
            setattr(args, name, sized[name])
    for name in ("worlds", "train_worlds"):
        raw = getattr(args, name)
        try:
            setattr(args, name, list(sized[name]) if raw is None else
                    [int(w) for w in raw.split(",") if w.strip()])
        except ValueError:
            p.error(f"--{name.replace('_', '-')}={raw!r}: expected a comma list of integers")
        if any(w < 1 for w in getattr(args, name)):
            p.error(f"--{name.replace('_', '-')}: every W must be >= 1")
    for name in ("ticks", "repeats", "chunks"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    return args


# --------------------------------------------------------------------------- worker
def peak_memory() -> tuple[float, str]:
    """(MiB, what it is): the highest peak_bytes_in_use of this process's devices where
    they keep memory statistics (GPU, TPU), else this process's peak RSS (CPU)."""
    import jax

    peaks = []
    for d in jax.local_devices():
        try:
            stats = d.memory_stats()
        except Exception:  # a backend without the call
            stats = None
        if stats and "peak_bytes_in_use" in stats:
            peaks.append(stats["peak_bytes_in_use"])
    if peaks:
        return max(peaks) / 2**20, "device"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "host RSS"


def measure(args: argparse.Namespace) -> dict:
    """One case in this process (args.one: "env" or "train", at args.worlds[0]):
    its row, with bench_env's or bench_train's own figures under "detail"."""
    backend.use_every_core()  # before JAX starts: on CPU one device per core, as train does
    import jax

    worlds, on_cpu = args.worlds[0], jax.default_backend() == "cpu"
    if args.one == "env":
        argv = ["--preset", args.preset, "--worlds", str(worlds), "--ticks", str(args.ticks),
                "--repeats", str(args.repeats), "--devices", str(jax.device_count()),
                "--no-phases"] + ([] if on_cpu else ["--chunk", str(worlds)])
        r = bench_env.measure(bench_env.parse_args(argv))
        row = dict(agents=r["num_agents"], devices=r["devices"],
                   agent_steps_per_s=r["slot_steps_per_s"], world_ticks_per_s=r["env_steps_per_s"],
                   call_s=worlds * args.ticks / r["env_steps_per_s"], compile_s=r["compile_s"])
    else:
        overrides = dict(SIZES[args.size]["train"], preset=args.preset, num_worlds=str(worlds))
        r = bench_train.measure(argparse.Namespace(chunks=args.chunks), overrides)
        agents = bench_train.train_config(overrides).env_config.num_agents
        row = dict(agents=agents, devices=r["devices"], agent_steps_per_s=r["agent_steps_per_s"],
                   world_ticks_per_s=r["agent_steps_per_s"] / agents, call_s=r["chunk_s"],
                   compile_s=max(r["first_chunk_s"] - r["chunk_s"], 0.0))
    peak, memory = peak_memory()
    d = jax.devices()[0]
    return dict(what=args.one, preset=args.preset, worlds=worlds, **row, peak_mib=peak,
                memory=memory, device=f"{d.platform} x{jax.device_count()} ({d.device_kind})",
                detail=r)


# --------------------------------------------------------------------------- driver
def worker_argv(args: argparse.Namespace, what: str, worlds: int) -> list[str]:
    """The command line of one case's subprocess."""
    return [sys.executable, "-m", "scripts.bench_device", "--one", what, f"--{args.size}",
            "--preset", args.preset, "--worlds", str(worlds), "--ticks", str(args.ticks),
            "--repeats", str(args.repeats), "--chunks", str(args.chunks)]


def run_case(args: argparse.Namespace, what: str, worlds: int) -> dict:
    """One case in a fresh subprocess (its own compile time and peak memory); a failed
    case (out of memory, say) is a row with its error, and the others still run."""
    proc = subprocess.run(worker_argv(args, what, worlds), capture_output=True, text=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    lines = (proc.stderr or proc.stdout).strip().splitlines() or [f"exit status {proc.returncode}"]
    return dict(what=what, preset=args.preset, worlds=worlds, error=lines[-1][-200:])


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table with COLUMNS."""
    lines = []
    for r in rows:
        if "error" in r:
            lines.append((r["what"], r["preset"], "", f"{r['worlds']:,}", "", "error: " + r["error"]))
            continue
        lines.append((r["what"], r["preset"], str(r["agents"]), f"{r['worlds']:,}",
                      str(r["devices"]), f"{r['agent_steps_per_s']:,.0f}",
                      f"{r['world_ticks_per_s']:,.0f}", f"{r['call_s']:.3f}",
                      f"{r['compile_s']:.1f}", f"{r['peak_mib']:,.0f}", r["memory"]))
    return markdown_table(COLUMNS, lines)


def main(argv: list[str] | None = None) -> int:
    """Runs every case (env rows, then train rows) and prints the table or JSON."""
    args = parse_args(argv)
    if args.one:
        print(json.dumps(measure(args)), flush=True)
        return 0
    rows = []
    for what, counts in (("env", args.worlds), ("train", args.train_worlds)):
        for worlds in counts:
            rows.append(run_case(args, what, worlds))
            if not args.json:
                print(f"  done {what} W={worlds}", file=sys.stderr, flush=True)
    device = next((r["device"] for r in rows if "device" in r), "no case ran")
    import jax  # the version only: the device is the workers', this process starts none

    head = (f"{device}; host {cpu_model()}, {os.cpu_count()} cores; jax {jax.__version__}; "
            f"{datetime.date.today().isoformat()}; {args.size} sizes, env: {args.ticks} ticks "
            f"per call, median of {args.repeats}; train: median of {args.chunks} chunk(s)")
    if args.json:
        print(json.dumps(dict(machine=head, size=args.size, rows=rows), indent=1))
    else:
        print(head)
        print(table(rows))
    return 0 if rows and all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
