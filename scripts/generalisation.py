"""Trained policies and the scripted yardsticks on held-out game settings.

    python -m scripts.generalisation default=RUN_A randomized=RUN_B [--worlds 16]
        [--settings default,slow_regrowth,...] [--out results.json]

Each setting is a set of `nmmo_jax.Params` changes (SETTINGS); every policy
(the trained ones and the named scripted yardsticks) plays alone on the
same held-out maps under it, fresh and settled (the population evaluation
of train.evaluation). All policies of a setting run in one compiled program,
and the settings differ only in data, so the program compiles once (once
per setting where a policy sees the game's numbers: `--sees-params`). The
table gives mean alive ± SE; the last lines compare each later trained
policy with the first: the difference per setting with its standard error
(sqrt(SE_a^2 + SE_b^2)) and the mean over the held-out settings (all but
`default`).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import nmmo_jax as nj
from policies.resolve import resolve
from train.evaluation.cache import scripted_policies
from train.evaluation.population import EVAL_SEED, SETTLE_TICKS, evaluate_settings
from train.run.policy import load_trained

_DOUBLE = {"melee_damage": (10.0, 90.0), "range_damage": (6.0, 64.0), "mage_damage": (2.0, 48.0)}
# name: Params changes. The randomised recipe of docs/experiments.md draws regrowth,
# healing and meals inside its ranges (never these exact values) and never draws
# faster water decay or doubled damage.
SETTINGS: dict[str, dict] = {
    "default": {},
    "slow_regrowth": {"regrow_prob": 0.01},  # 0.4x, inside the ranges
    "weak_healing": {"heal_fraction": 0.05},  # 0.5x, inside
    "lean_meals": {"eat_fraction": 0.3},  # 0.6x, inside
    "thirsty": {"water_decay": 2},  # 2x, outside
    "double_damage": _DOUBLE,  # 2x, outside
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scripts.generalisation",
                                description=__doc__.splitlines()[0])
    p.add_argument("policies", nargs="+", metavar="NAME=RUN",
                   help="trained policies: a name and a run directory, checkpoint or `pretrained`")
    p.add_argument("--settings", default=",".join(SETTINGS),
                   help=f"comma list of settings (of {', '.join(SETTINGS)})")
    p.add_argument("--worlds", type=int, default=16)
    p.add_argument("--ticks", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=SETTLE_TICKS)
    p.add_argument("--yardsticks", default="forager,yielding_forager,careful_forager",
                   help="comma list of scripted policies to play beside them ('' for none)")
    p.add_argument("--out", type=Path, help="write every row as JSON here")
    args = p.parse_args(argv)
    args.settings = args.settings.split(",")
    args.yardsticks = [n for n in args.yardsticks.split(",") if n]
    bad = [n for n in args.yardsticks if n not in scripted_policies()]
    if bad:
        p.error(f"--yardsticks: unknown {bad}; choose from {', '.join(scripted_policies())}")
    unknown = [s for s in args.settings if s not in SETTINGS]
    if unknown:
        p.error(f"--settings: unknown {unknown}; choose from {', '.join(SETTINGS)}")
    pairs = [spec.partition("=") for spec in args.policies]
    if any(not sep or not name for name, sep, _ in pairs):
        p.error("policies: each must be NAME=RUN")
    args.policies = {name: run for name, _, run in pairs}
    return args


def difference(a: dict, b: dict) -> tuple[float, float]:
    """(b - a, its standard error) of two rows' mean alive."""
    return b["mean_alive"] - a["mean_alive"], math.hypot(a["se_alive"], b["se_alive"])


def report(results: dict, trained: list[str]) -> str:
    """Markdown: mean alive ± SE per setting and policy, fresh | settled; then each
    later trained policy minus the first, per setting and averaged over the
    held-out ones (every setting but `default`; the SE of that mean combines
    the settings' SEs as if independent: root of their summed squares over
    the count)."""
    names = list(next(iter(results.values())))
    lines = ["| setting | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for setting, rows in results.items():
        cell = lambda r: (f"{r['fresh']['mean_alive']:.1f} ± {r['fresh']['se_alive']:.1f} \\| "
                          f"{r['settled']['mean_alive']:.1f} ± {r['settled']['se_alive']:.1f}")
        lines.append(f"| {setting} | " + " | ".join(cell(rows[n]) for n in names) + " |")
    held = [s for s in results if s != "default"]
    for b in trained[1:]:
        a = trained[0]
        lines += ["", f"| setting | {b} - {a}, fresh | settled |", "|---|---:|---:|"]
        for setting in results:
            cells = [difference(results[setting][a][w], results[setting][b][w])
                     for w in ("fresh", "settled")]
            lines.append(f"| {setting} | " + " | ".join(f"{d:+.1f} ± {se:.1f}" for d, se in cells)
                         + " |")
        if held:
            mean = []
            for w in ("fresh", "settled"):
                ds = [difference(results[s][a][w], results[s][b][w]) for s in held]
                mean.append((sum(d for d, _ in ds) / len(ds),
                             math.sqrt(sum(se * se for _, se in ds)) / len(ds)))
            lines.append(f"| mean of {len(held)} held-out | " + " | ".join(
                f"{d:+.1f} ± {se:.1f}" for d, se in mean) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loaded = {name: resolve(run, load_trained, scripted=False)
              for name, run in args.policies.items()}
    config = next(iter(loaded.values())).config
    policies = {name: named.policy() for name, named in loaded.items()}
    trained = list(policies)
    policies |= {name: scripted_policies()[name] for name in args.yardsticks}
    results = {}
    for setting in args.settings:
        params = nj.default_params(config, **SETTINGS[setting])
        # A policy that sees the game's numbers is told each setting's (its program
        # then compiles once per setting); the others play unchanged.
        policies |= {name: named.policy(game=params) for name, named in loaded.items()
                     if named.model.world_inputs is not None}
        results[setting] = evaluate_settings(policies, config, args.ticks, args.worlds,
                                             EVAL_SEED, args.warmup, params)
        print(f"  done {setting}", file=sys.stderr, flush=True)
    print(f"mean alive ± SE on {args.worlds} held-out maps, fresh (ticks 1-{args.ticks}) | "
          f"settled (ticks {args.warmup + 1}-{args.warmup + args.ticks}); sampled actions")
    print(report(results, trained))
    if args.out:
        args.out.write_text(json.dumps({"settings": {s: SETTINGS[s] for s in args.settings},
                                        "policies": args.policies, "worlds": args.worlds,
                                        "ticks": args.ticks, "warmup": args.warmup,
                                        "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
