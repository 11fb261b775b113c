"""The evaluation of a trained policy beside the yardsticks: tables, eval.json, its command line.

    python -m train.evaluate RUN_DIR_OR_CHECKPOINT|pretrained [--ticks 1000] [--worlds 32]
                             [--warmup 2000] [--seed N] [--params FIELD=VALUE ...]
                             [--out eval.json] [--no-cache]

The trained policy plays sampled and greedy, every scripted yardstick has a
row (train.evaluation.population says what the rows hold). Yardstick rows are
cached (train.evaluation.cache); `--no-cache` recomputes them (neither the
cache nor the rows shipped in train/evaluation/yardsticks/ are read).

`--params FIELD=VALUE` (repeatable; `nmmo_jax.Params` fields, a damage pair
as BASE,PER_LEVEL) plays every policy under other numbers than v1.3's, e.g.
held-out settings for a policy trained on others. The results JSON records
them as "params": the fields that differ from the defaults ({} for v1.3's).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jax

import nmmo_jax as nj
from policies.io import to_actions
from policies.resolve import resolve

from ..config import TrainConfig
from ..run.policy import load_trained
from . import population
from .cache import default_cache_dir, yardsticks
from .matches import ITEM_FIELDS, Policy, match_params
from .numbers import describe_params, params_changes
from .population import (EVAL_SEED, SETTLE_TICKS, evaluate_settings, npc_cells,
                         population_ceiling)


def greedy_policy(model, params, game: nj.Params | None = None) -> Policy:
    """(key, obs [A, ...]) -> Actions: the most likely action of `model`
    (policies.baseline.ActorCritic) with `params` in worlds playing the numbers
    `game` (None: v1.3's); the key is unused."""
    def policy(key: jax.Array, obs: nj.Obs) -> nj.Actions:
        dist, _ = model.apply(params, obs, game)
        return to_actions(dist.mode(), obs)

    return policy


def evaluate_trained(policies: dict[str, Policy], config: nj.Config, ticks: int, worlds: int,
                     seed: int = EVAL_SEED, warmup: int = SETTLE_TICKS,
                     cache_dir: Path | None = None, params: nj.Params | None = None,
                     shipped: bool = True) -> dict[str, dict]:
    """`policies` and every yardstick: {name: {"fresh": row, "settled": row}}, all
    under the numbers `params` (None: v1.3's); `yardsticks` says what cache_dir
    and shipped do."""
    rows = evaluate_settings(policies, config, ticks, worlds, seed, warmup, params)
    return rows | yardsticks(config, ticks, worlds, seed, warmup, cache_dir, params, shipped)


def results_doc(results: dict[str, dict], ticks: int, worlds: int, warmup: int, seed: int,
                changes: dict) -> dict:
    """The JSON document of an evaluation (eval.json, --out): its settings,
    "params" (the `params_changes` it was played with; {} = v1.3's numbers)
    and "policies" {name: {"fresh": row, "settled": row}}."""
    return {"worlds": worlds, "ticks": ticks, "warmup": warmup, "seed": seed,
            "params": changes, "policies": results}


def format_table(results: dict[str, dict], ticks: int, worlds: int,
                 warmup: int = SETTLE_TICKS, changes: dict | None = None,
                 config: nj.Config | None = None) -> str:
    """The printed table of {name: {"fresh": row, "settled": row}}; changes: the
    `params_changes` it was played with (a line names them); config: the worlds'
    Config, whose `population_ceiling` of both windows a line under the
    population table gives (no line without it).

    With NPCs (config.num_npcs > 0; without a config: rows that hold npc_kills)
    the settled table adds two columns, npc kills and npc deaths, per 1,000
    agent-ticks alive (its header says so); without NPCs the table is v1.3's,
    byte for byte. With items (config.inventory_slots > 0; without a config:
    rows that hold equipment_level) a table of the settled items follows
    (`item_table`); without items nothing is added."""
    f, s = "fresh", "settled"
    lines = [f"population on {worlds} held-out maps: fresh = ticks 1-{ticks} after reset, "
             f"settled = ticks {warmup + 1}-{warmup + ticks}; {describe_params(changes or {})}",
             f"{'':<18} {'mean alive (± SE)':^31} {'lifetime, Little':^17} "
             f"{'mean ended life':^17}",
             f"{'policy':<18} {f:>15} {s:>15} {f:>8} {s:>8} {f:>8} {s:>8}"]
    lines.append("-" * len(lines[-1]))
    for name, r in results.items():
        alive = lambda k: f"{r[k]['mean_alive']:.1f} ± {r[k]['se_alive']:.1f}"
        lines.append(f"{name:<18} {alive(f):>15} {alive(s):>15} "
                     f"{r[f]['lifetime_little']:>8.0f} {r[s]['lifetime_little']:>8.0f} "
                     f"{r[f]['mean_lifetime']:>8.1f} {r[s]['mean_lifetime']:>8.1f}")
    if config is not None:
        ceiling = lambda start: f"{population_ceiling(config, ticks, start):.1f}"
        lines += ["-" * len(lines[3]),
                  f"{'ceiling':<18} {ceiling(0):>15} {ceiling(warmup):>15}",
                  f"(ceiling: the most alive possible; cap {config.num_agents}, "
                  f"spawns {config.spawn_per_tick} per tick from reset)"]
    npcs = (config.num_npcs > 0 if config is not None else
            any("npc_kills" in r[s] for r in results.values()))
    head = (f"{'settled worlds':<18} {'lava':>6} {'starve':>7} {'combat':>7} {'food/ag-t':>10} "
            f"{'water/ag-t':>10} {'forests left':>12}")
    if npcs:
        head += f" {'npc kills/1k ag-t':>17} {'npc deaths/1k ag-t':>18}"
    lines += ["", head, "-" * len(head)]
    for name, r in results.items():
        r = r[s]
        line = (f"{name:<18} {r['deaths_lava']:>6d} {r['deaths_starvation']:>7d} "
                f"{r['deaths_combat']:>7d} {r['food_per_agent_tick']:>10.3f} "
                f"{r['water_per_agent_tick']:>10.3f} {r['forests_left']:>12.0%}")
        if npcs:
            line += npc_cells(r, (17, 18), 3)
        lines.append(line)
    if npcs:
        lines += ["(npc kills: NPCs killed by the policy's agents, one for each agent that hit "
                  "an NPC in the tick it died;",
                  " npc deaths: its agents killed by NPCs; both per 1,000 agent-ticks alive)"]
    items = (config.inventory_slots > 0 if config is not None else
             any("equipment_level" in r[s] for r in results.values()))
    if items:
        lines += [""] + item_table(results)
    return "\n".join(lines)


# The item table's columns, one per ITEM_FIELDS row key: (row key, header, width, digits).
ITEM_COLUMNS = tuple(zip(ITEM_FIELDS, ("equip level", "harvested/1k ag-t", "gold",
                                       "gold gained/1k ag-t"), (11, 17, 8, 19), (2, 1, 2, 2)))


def item_table(results: dict[str, dict]) -> list[str]:
    """The lines of the settled items table of {name: {"fresh": row, "settled": row}}:
    per policy its settled row's ITEM_FIELDS (nan where a row has none), and a
    note saying what they are."""
    head = f"{'settled items':<18}" + "".join(f" {h:>{w}}" for _, h, w, _ in ITEM_COLUMNS)
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        r = r["settled"]
        lines.append(f"{name:<18}" + "".join(f" {r.get(k, float('nan')):>{w}.{d}f}"
                                             for k, _, w, d in ITEM_COLUMNS))
    return lines + ["(equip level: the levels of a living agent's equipped items, summed; "
                    "gold: the gold it holds;",
                    " both means over agent-ticks alive; harvested: items harvested, "
                    "gold gained: gold taken as loot,",
                    " both per 1,000 agent-ticks alive)"]


def run_report(tc: TrainConfig, out: Path, policy: Policy, greedy: Policy | None = None,
               cache_dir: Path | None = None, params: nj.Params | None = None) -> dict:
    """The end of a run: print the population table and write OUT/eval.json,
    OUT/population.png and OUT/replay.html of `policy(key, obs) -> Actions`
    (sampled) on a held-out map. `greedy` (see `greedy_policy`) adds its row.
    Every row, and the replay, is played under the numbers `params` (None:
    v1.3's). Yardsticks are cached in `cache_dir` (default:
    `default_cache_dir()`). Returns {name: {"fresh": row, "settled": row}}."""
    from viz import record, write_html

    from .population_plot import plot_population
    cfg = tc.env_config
    changes = params_changes(params, cfg)
    trained = {"trained": policy} | ({"trained (greedy)": greedy} if greedy else {})
    results = evaluate_trained(trained, cfg, tc.eval_ticks, tc.eval_worlds, EVAL_SEED,
                               tc.eval_warmup, cache_dir or default_cache_dir(), params)
    (out / "eval.json").write_text(json.dumps(results_doc(
        results, tc.eval_ticks, tc.eval_worlds, tc.eval_warmup, EVAL_SEED, changes), indent=2))
    print(format_table(results, tc.eval_ticks, tc.eval_worlds, tc.eval_warmup, changes, cfg))
    plot_population(out / "metrics.csv", out / "population.png",
                    {k: v["settled"]["mean_alive"] for k, v in results.items()
                     if not k.startswith("trained")})
    write_html(record(policy, cfg, ticks=tc.eval_ticks, seed=EVAL_SEED, name=str(out),
                      params=match_params(params, cfg)),
               out / "replay.html")
    print(f"wrote {out / 'eval.json'}, {out / 'population.png'}, {out / 'metrics.csv'}, "
          f"{out / 'replay.html'}")
    return results


def main(argv: list[str] | None = None) -> int:
    """`python -m train.evaluate`: 0, or 2 with a one-line error."""
    p = argparse.ArgumentParser(prog="python -m train.evaluate",
                                description=population.__doc__.splitlines()[0])
    p.add_argument("checkpoint", help="a run directory, a ckpt_*.npz, a policy export or "
                                      "`pretrained`")
    p.add_argument("--ticks", type=int, default=1000, help="counted ticks of each setting")
    p.add_argument("--worlds", type=int, default=32, help="held-out maps")
    p.add_argument("--warmup", type=int, default=SETTLE_TICKS,
                   help="ticks played before the settled window")
    p.add_argument("--seed", type=int, default=EVAL_SEED, help="seed of the held-out maps")
    p.add_argument("--params", action="append", default=[], metavar="FIELD=VALUE",
                   help="play under other game numbers than v1.3's (repeatable; a "
                        "nmmo_jax.Params field, a damage pair as BASE,PER_LEVEL)")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    p.add_argument("--no-cache", action="store_true",
                   help=f"recompute the yardsticks: neither the cache ({default_cache_dir()}) "
                        "nor the shipped rows are read")
    args = p.parse_args(argv)
    for flag in ("ticks", "worlds"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag}={getattr(args, flag)}: must be >= 1")
    if args.warmup < 0:
        p.error(f"--warmup={args.warmup}: must be >= 0")
    try:
        assigned = nj.params.parse_assignments(args.params)  # syntax and names, before loading
        named = resolve(args.checkpoint, load_trained, scripted=False)
        model, weights, config = named.model, named.params, named.config
        params = nj.default_params(config, **assigned)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    changes = params_changes(params, config)
    trained = {"trained": model.policy_fn(weights, params),
               "trained (greedy)": greedy_policy(model, weights, params)}
    results = evaluate_trained(trained, config, args.ticks, args.worlds, args.seed, args.warmup,
                               None if args.no_cache else default_cache_dir(), params,
                               shipped=not args.no_cache)
    print(format_table(results, args.ticks, args.worlds, args.warmup, changes, config))
    if args.out:
        args.out.write_text(json.dumps(results_doc(results, args.ticks, args.worlds,
                                                   args.warmup, args.seed, changes), indent=2))
    return 0

