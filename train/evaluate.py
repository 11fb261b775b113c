"""Evaluate policies on the same held-out maps: lifetime, population, deaths by cause.

    python -m train.evaluate RUN_DIR_OR_CHECKPOINT [--ticks 1000] [--worlds 4] [--warmup 0]
                             [--out eval.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

import nmmo_jax as nj
from envs.batch import batch_reset, batch_step

from .config import TrainConfig

EVAL_SEED = 1_000_003  # held-out maps: training keys never come from this seed
FIELDS = ("mean_lifetime", "lives_ended", "mean_alive", "deaths_lava", "deaths_starvation",
          "deaths_combat")


def scripted_policies() -> dict[str, Callable]:
    """The scripted yardsticks by name: random, forager, combat."""
    from policies import scripted
    return {"random": scripted.random_policy, "forager": scripted.forager,
            "combat": scripted.combat}


def play(policy: Callable, config: nj.Config, ticks: int, worlds: int, record: Callable,
         seed: int = EVAL_SEED, warmup: int = 0):
    """Run `policy(key, obs) -> Actions` (one world) on `worlds` held-out maps for
    `warmup` uncounted ticks and then `ticks` counted ones.

    Returns (the counted ticks' `record(done, info)` stacked on a leading [ticks]
    axis, the final State [worlds]); done and info as `envs.batch.batch_step`
    gives them, [worlds, A].
    """
    if ticks < 1 or warmup < 0:
        raise ValueError(f"evaluate: ticks={ticks} must be >= 1 and warmup={warmup} >= 0")

    @jax.jit
    def run(key):
        k_reset, k_run = jax.random.split(key)
        obs, state = batch_reset(k_reset, config, worlds)

        def tick(carry, k):
            obs, state = carry
            k_act, k_env = jax.random.split(k)
            actions = jax.vmap(policy)(jax.random.split(k_act, worlds), obs)
            obs, state, _, done, info = batch_step(k_env, state, actions, config)
            return (obs, state), record(done, info)

        (_, state), per_tick = jax.lax.scan(tick, (obs, state),
                                            jax.random.split(k_run, warmup + ticks))
        return jax.tree.map(lambda x: x[warmup:], per_tick), state

    return run(jax.random.PRNGKey(seed))


def evaluate(policy: Callable, config: nj.Config, ticks: int = 1000, worlds: int = 4,
             seed: int = EVAL_SEED, warmup: int = 0) -> dict[str, float]:
    """Run `policy(key, obs) -> Actions` (one world) on `worlds` held-out maps.

    Returns the mean lifetime of lives that ended, how many ended, the mean
    number of agents alive per world and tick, and deaths by cause, counted
    over `ticks` ticks that follow `warmup` uncounted ones (warmup > 0
    measures settled worlds instead of fresh maps).
    """

    def sums(done, info):
        cause = info["death_cause"]
        return jnp.stack([done.sum(), jnp.where(done, info["lifetime"], 0).sum(),
                          info["alive"].sum(), (cause == nj.CAUSE_LAVA).sum(),
                          (cause == nj.CAUSE_STARVATION).sum(),
                          (cause == nj.CAUSE_COMBAT).sum()])

    per_tick, _ = play(policy, config, ticks, worlds, sums, seed, warmup)
    ended, life_sum, alive_sum, lava, starve, combat = np.asarray(per_tick.sum(axis=0))
    return {"mean_lifetime": float(life_sum / ended) if ended else float("nan"),
            "lives_ended": int(ended), "mean_alive": float(alive_sum / (ticks * worlds)),
            "deaths_lava": int(lava), "deaths_starvation": int(starve), "deaths_combat": int(combat)}


def evaluate_all(policies: dict[str, Callable], config: nj.Config, ticks: int, worlds: int,
                 warmup: int = 0) -> dict[str, dict]:
    return {name: evaluate(fn, config, ticks, worlds, warmup=warmup)
            for name, fn in policies.items()}


def format_table(results: dict[str, dict], ticks: int, worlds: int, warmup: int = 0) -> str:
    head = (f"{'policy':<10} {'mean lifetime':>13} {'lives ended':>11} {'mean alive':>10} "
            f"{'lava':>6} {'starve':>6} {'combat':>6}")
    after = f" after {warmup} ticks of warmup" if warmup else ""
    lines = [f"evaluation: {worlds} held-out maps x {ticks} ticks{after}", head, "-" * len(head)]
    for name, r in results.items():
        lines.append(f"{name:<10} {r['mean_lifetime']:>13.1f} {r['lives_ended']:>11d} "
                     f"{r['mean_alive']:>10.1f} {r['deaths_lava']:>6d} "
                     f"{r['deaths_starvation']:>6d} {r['deaths_combat']:>6d}")
    return "\n".join(lines)


def run_report(tc: TrainConfig, out: Path, policy: Callable) -> dict:
    """The end of a run: print the evaluation table and write OUT/eval.json,
    OUT/lifetime.png and OUT/replay.html of `policy(key, obs) -> Actions` on a
    held-out map (the evaluation seed). Returns the results {policy: row}."""
    from viz import record, write_html
    from .plot import plot_lifetime
    cfg = tc.env_config
    policies = {"trained": policy, **scripted_policies()}
    results = evaluate_all(policies, cfg, tc.eval_ticks, tc.eval_worlds)
    (out / "eval.json").write_text(json.dumps(results, indent=2))
    print(format_table(results, tc.eval_ticks, tc.eval_worlds))
    plot_lifetime(out / "metrics.csv", out / "lifetime.png",
                  {k: results[k]["mean_lifetime"] for k in ("random", "forager")})
    write_html(record(policy, cfg, ticks=tc.eval_ticks, seed=EVAL_SEED, name=str(out)),
               out / "replay.html")
    print(f"wrote {out / 'eval.json'}, {out / 'lifetime.png'}, {out / 'metrics.csv'}, "
          f"{out / 'replay.html'}")
    return results


def main(argv: list[str] | None = None) -> int:
    from .checkpoint import CheckpointError, load_policy

    p = argparse.ArgumentParser(prog="python -m train.evaluate", description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", help="a run directory, its checkpoints/ folder or a ckpt_*.npz")
    p.add_argument("--ticks", type=int, default=1000)
    p.add_argument("--worlds", type=int, default=4)
    p.add_argument("--warmup", type=int, default=0,
                   help="ticks played before counting starts (a settled world, not a fresh map)")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    p.add_argument("--no-baselines", action="store_true", help="evaluate only the checkpoint")
    args = p.parse_args(argv)
    if args.ticks < 1 or args.worlds < 1:
        p.error("--ticks and --worlds must be >= 1")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    try:
        policy, config = load_policy(args.checkpoint)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    policies = {"trained": policy}
    if not args.no_baselines:
        policies.update(scripted_policies())
    results = evaluate_all(policies, config, args.ticks, args.worlds, args.warmup)
    print(format_table(results, args.ticks, args.worlds, args.warmup))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
