"""Who dies sets the evaluation's mean lifetime: a survival table per policy.

    python -m scripts.survival [--checkpoint RUN_DIR] [--ticks 1000] [--worlds 4]
                               [--warmup 2000] [--json]

The evaluation (`train/evaluate.py`) reports the mean lifetime of the lives
that END in its window. Spawning refills an empty slot every tick, so a world
fills until food runs short; from then on somebody must die for anyone to
spawn, and the one who dies is usually the newcomer at the spawn ring, not the
veteran. This table puts that metric next to what it leaves out, for the
scripted `forager`, the `careful_forager` (which wastes less food), the
`yielding_forager` (which leaves an occupied forest to its occupant) and
optionally a trained checkpoint, on the evaluation's fresh held-out maps and
on the same worlds after `--warmup` ticks:

* mean and median lifetime of the lives that ended (the evaluation's metric),
* lives ended per world per 1,000 ticks and mean agents alive,
* the mean age of every life in the window: ended lives at their death, lives
  still running at the window's end at their age then.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

import numpy as np

import nmmo_jax as nj
from policies import scripted
from train.evaluate import play

COLUMNS = ("mean_ended", "median_ended", "ended_per_1000", "mean_alive", "mean_age_all")


def survival(policy: Callable, config: nj.Config, ticks: int, worlds: int,
             warmup: int) -> dict[str, float]:
    """The table's row for `policy(key, obs) -> Actions` on `worlds` held-out maps,
    counted over `ticks` ticks after `warmup`: {column: value} for COLUMNS (see
    the module docstring)."""
    record = lambda done, info: (done, info["lifetime"], info["alive"].sum())
    (done, life, alive), final = play(policy, config, ticks, worlds, record, warmup=warmup)
    ended = np.asarray(life)[np.asarray(done)]
    running = np.asarray(final.agents.time_alive)[np.asarray(final.agents.alive)]
    everyone = np.concatenate([ended, running])
    return {"mean_ended": float(ended.mean()) if ended.size else float("nan"),
            "median_ended": float(np.median(ended)) if ended.size else float("nan"),
            "ended_per_1000": ended.size / worlds * 1000 / ticks,
            "mean_alive": float(np.asarray(alive).sum() / (ticks * worlds)),
            "mean_age_all": float(everyone.mean()) if everyone.size else float("nan")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.survival",
                                description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None, help="also a trained run directory or checkpoint")
    p.add_argument("--ticks", type=int, default=1000)
    p.add_argument("--worlds", type=int, default=4)
    p.add_argument("--warmup", type=int, default=2000, help="ticks before the settled window")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = p.parse_args(argv)
    if args.ticks < 1 or args.worlds < 1 or args.warmup < 1:
        p.error("--ticks, --worlds and --warmup must be >= 1")
    config = nj.Config()
    policies = {"forager": scripted.forager, "careful": scripted.careful_forager,
                "yielding": scripted.yielding_forager}
    if args.checkpoint:
        from train.checkpoint import CheckpointError, load_policy
        try:
            policies["trained"], config = load_policy(args.checkpoint)
        except CheckpointError as e:
            p.error(str(e))
    rows = {f"{name} {where}": survival(fn, config, args.ticks, args.worlds, warmup)
            for name, fn in policies.items()
            for where, warmup in (("fresh", 0), ("settled", args.warmup))}
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{args.worlds} held-out maps x {args.ticks} ticks; settled = after {args.warmup} ticks")
    head = f"{'policy':<18}" + "".join(f"{c:>16}" for c in COLUMNS)
    print(head + "\n" + "-" * len(head))
    for name, row in rows.items():
        print(f"{name:<18}" + "".join(f"{row[c]:>16.1f}" for c in COLUMNS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
