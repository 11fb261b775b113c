"""Training throughput of one JAX program over 2 processes against 1 process, one machine.

    python -m scripts.bench_processes                 # default preset, train defaults
    python -m scripts.bench_processes --updates 30 --preset small
    python -m scripts.bench_processes --train-flags "--num-minibatches 4"
    python -m scripts.bench_processes --rounds 3       # alternating, median ratio

Runs `python -m train` twice, one after the other, with the same config (the
preset and TrainConfig's defaults, `--minutes 0`, `--no-eval`): once as
`--processes 2` (two processes of one CPU device each, over one global
mesh: train.distribute) and once as one process with two CPU devices
(`--devices 2`). Agent-steps/s is the median over the chunks of metrics.csv
after the first (whose time includes the compile); the ratio is the 2-process
figure over the 1-process one. With `--rounds R` the pair runs R times,
alternating which goes first; each round gives a ratio and the table shows
the medians. `--train-flags` adds flags to both runs. The load average is
printed alongside: other work on the machine slows both runs.
"""
from __future__ import annotations

import argparse
import csv
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from train.run.cli import parse
from train.config import TrainConfig

SETUPS = (("2 processes x 1 device", ["--processes", "2"], 1),
          ("1 process x 2 devices", ["--devices", "2"], 2))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="default")
    p.add_argument("--updates", type=int, default=40,
                   help="updates per run; the first chunk (updates_per_chunk of them) is the "
                        "compile and is not counted (default 40)")
    p.add_argument("--train-flags", default="", help="more flags for both trainings")
    p.add_argument("--rounds", type=int, default=1, help="pairs of runs, alternating order")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error(f"--rounds={args.rounds}: must be at least 1")
    if args.updates < 2 * TrainConfig.updates_per_chunk:
        p.error(f"--updates={args.updates}: must be at least two chunks "
                f"({2 * TrainConfig.updates_per_chunk})")
    return args


def chunk_rates(metrics: Path) -> list[float]:
    """agent_steps_per_s of each chunk after the first, from a run's metrics.csv."""
    with open(metrics, newline="") as f:
        return [float(r["agent_steps_per_s"]) for r in csv.DictReader(f)][1:]


def run(preset: str, updates: int, flags: list[str], devices: int, out: Path) -> list[float]:
    """One training of `updates` updates in a subprocess; its chunk rates after the first."""
    steps = updates * parse(["--preset", preset, *flags])[0].steps_per_update
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    subprocess.run([sys.executable, "-m", "train", "--preset", preset, "--minutes", "0",
                    "--total-steps", str(steps), "--no-eval", "--out", str(out), *flags],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return chunk_rates(out / "metrics.csv")


def format_table(rows: list[tuple[str, float]]) -> str:
    """Markdown rows: setup, agent-steps/s, ratio to the last row."""
    base = rows[-1][1]
    lines = ["| setup | agent-steps/s | ratio |", "|---|---:|---:|"]
    lines += [f"| {name} | {rate:,.0f} | {rate / base:.2f}x |" for name, rate in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rates: dict[str, list[float]] = {name: [] for name, _, _ in SETUPS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for i, (name, flags, devices) in (enumerate(SETUPS) if r % 2 == 0
                                              else reversed(list(enumerate(SETUPS)))):
                chunks = run(args.preset, args.updates, flags + shlex.split(args.train_flags),
                             devices, Path(tmp) / f"{r}-{i}")
                rates[name].append(statistics.median(chunks))
                print(f"round {r + 1} {name}: chunks {[round(c) for c in chunks]}",
                      file=sys.stderr)
    ratios = [a / b for a, b in zip(*rates.values())]
    rows = [(name, statistics.median(v)) for name, v in rates.items()]
    print(f"preset {args.preset}{' ' + args.train_flags if args.train_flags else ''}, "
          f"{args.updates} updates per run, "
          f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}")
    print(format_table(rows))
    if args.rounds > 1:
        print(f"ratio per round: {', '.join(f'{x:.2f}' for x in ratios)}; "
              f"median {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
