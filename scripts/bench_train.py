"""Training throughput: agent-steps/s of the fused PPO update (rollout + GAE + epochs).

    python -m scripts.bench_train                       # default preset, train defaults
    python -m scripts.bench_train --devices 1,2 --chunks 3 --num-worlds 16
    python -m scripts.bench_train --devices 2 --navigation false,true --rounds 3

Builds the trainer `python -m train` builds (same TrainConfig defaults, any
field overridable as `--field value`), compiles one chunk of
`updates_per_chunk` updates, then times `--chunks` more and prints the median
agent-slot steps per second end to end (environment, policy forward,
sampling, GAE, minibatch epochs). Each setting runs in its own subprocess
with `--xla_force_host_platform_device_count` set, since the CPU device
count is fixed when JAX starts. A comma list of values for a field (or for
`--devices`) measures one row per combination, side by side; `--rounds`
repeats the whole set in turn, so that a host whose speed drifts slows every
setting alike, and reports each setting's median over the rounds with its
ratio to the first setting.
"""
from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import statistics
import subprocess
import sys
import time

from scripts.machine import cpu_model


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default="1,2", help="comma list of CPU device counts to compare")
    p.add_argument("--chunks", type=int, default=3, help="timed chunks after the compiling one")
    p.add_argument("--rounds", type=int, default=1, help="times every setting is measured, in turn")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # worker mode
    args, rest = p.parse_known_args(argv)
    overrides = {}
    it = iter(rest)
    for flag in it:
        if not flag.startswith("--"):
            p.error(f"unexpected argument {flag!r}")
        value = next(it, None)
        if value is None:
            p.error(f"{flag} needs a value")
        overrides[flag[2:].replace("-", "_")] = value
    if args.chunks < 1 or args.rounds < 1:
        p.error("--chunks and --rounds must be >= 1")
    return args, overrides


def train_config(overrides: dict):
    from train.config import TrainConfig, setting_fields
    kinds = {f.name: f.type for f in setting_fields()}
    values = {}
    for name, raw in overrides.items():
        if name not in kinds:
            raise SystemExit(f"error: --{name.replace('_', '-')} is not a TrainConfig field")
        kind = {"int": int, "float": float, "str": str, "bool": lambda s: s.lower() in ("1", "true")}[
            str(kinds[name])]
        values[name] = kind(raw)
    return TrainConfig.of(minutes=0.0, **values)


def measure(args: argparse.Namespace, overrides: dict) -> dict:
    import jax

    from train.ppo.trainer import make_trainer
    tc = train_config(overrides)
    trainer = make_trainer(tc)
    t0 = time.perf_counter()
    runner = trainer.init(jax.random.PRNGKey(tc.seed))
    runner, _ = trainer.train_chunk(runner)
    jax.block_until_ready(runner)
    first = time.perf_counter() - t0
    times = []
    for _ in range(args.chunks):
        t0 = time.perf_counter()
        runner, _ = trainer.train_chunk(runner)
        jax.block_until_ready(runner)
        times.append(time.perf_counter() - t0)
    steps = tc.updates_per_chunk * tc.steps_per_update
    sec = statistics.median(times)
    return {"preset": tc.preset, "devices": trainer.mesh.size, "num_worlds": tc.num_worlds,
            "rollout_len": tc.ppo.rollout_len, "epochs": tc.ppo.epochs,
            "num_minibatches": tc.ppo.num_minibatches, "width": tc.ppo.width,
            "params": trainer.model.num_params(runner.params),
            "agent_steps_per_chunk": steps, "chunk_s": sec, "agent_steps_per_s": steps / sec,
            "first_chunk_s": first}


def settings(devices: str, overrides: dict) -> list[tuple[int, dict]]:
    """Every (device count, overrides) combination of the comma lists, first value first."""
    options = [[(name, value) for value in raw.split(",")] for name, raw in overrides.items()]
    return [(int(d), dict(combo)) for d in devices.split(",")
            for combo in itertools.product(*options)]


def measure_in_subprocess(args: argparse.Namespace, devices: int, overrides: dict) -> dict:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    cmd = [sys.executable, "-m", "scripts.bench_train", "--one", "--chunks", str(args.chunks),
           *[x for k, v in overrides.items() for x in (f"--{k.replace('_', '-')}", v)],
           "--devices", str(devices)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        print(done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(done.returncode)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    args, overrides = parse_args(argv)
    if args.one:
        print(json.dumps(measure(args, overrides)))
        return 0
    combos = settings(args.devices, overrides)
    runs = [[measure_in_subprocess(args, d, o) for d, o in combos] for _ in range(args.rounds)]
    varied = [k for k, v in overrides.items() if "," in v]
    rows = []
    for i, (_, o) in enumerate(combos):
        mine = [r[i] for r in runs]
        row = dict(mine[0], setting=" ".join(f"{k}={o[k]}" for k in varied) or "-",
                   agent_steps_per_s=statistics.median(r["agent_steps_per_s"] for r in mine),
                   chunk_s=statistics.median(r["chunk_s"] for r in mine),
                   readings=[round(r["agent_steps_per_s"]) for r in mine])
        row["ratio"] = row["agent_steps_per_s"] / rows[0]["agent_steps_per_s"] if rows else 1.0
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    cpu = cpu_model()
    print(f"machine: {cpu}, {os.cpu_count()} cores, {datetime.date.today()}; median of "
          f"{args.chunks} chunks after the compiling one, then of {args.rounds} round(s)")
    print("| preset | setting | devices | worlds | T | epochs x minibatches | params "
          "| agent-steps/s | ratio | s per chunk | first chunk s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['preset']} | {r['setting']} | {r['devices']} | {r['num_worlds']} | "
              f"{r['rollout_len']} | {r['epochs']} x {r['num_minibatches']} | {r['params']:,} | "
              f"{r['agent_steps_per_s']:,.0f} | {r['ratio']:.2f} | {r['chunk_s']:.2f} | "
              f"{r['first_chunk_s']:.1f} |")
    if args.rounds > 1:
        for r in rows:
            print(f"readings {r['setting']} devices={r['devices']}: {r['readings']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
