"""Population evaluation on held-out maps: how many agents a policy keeps alive.

    python -m train.evaluate RUN_DIR_OR_CHECKPOINT|pretrained [--ticks 1000] [--worlds 32]
                             [--warmup 2000] [--seed N] [--params FIELD=VALUE ...]
                             [--out eval.json] [--no-cache]

The headline is the mean number of agents alive per world in two settings
side by side: fresh (the first `ticks` ticks after reset) and settled
(`ticks` counted ticks after `warmup`). Beside it: lifetime by Little's law
(mean alive / spawns per tick), the mean of the lives that ended (censored:
long lives that outlast the window are left out), deaths by cause and
resource use (docs/experiments.md, "Population evaluation", defines them).
The trained policy plays sampled and greedy; every scripted yardstick has a
row. Yardstick rows depend only on (config, params, seed, ticks, warmup,
worlds, code, JAX version and backend), so they are cached as JSON under the
user's cache directory; `--no-cache` recomputes them (neither the cache nor
the rows shipped in train/yardsticks/ are read).

`--params FIELD=VALUE` (repeatable; `nmmo_jax.Params` fields, a damage pair
as BASE,PER_LEVEL) plays every policy under other numbers than v1.3's, e.g.
held-out settings for a policy trained on others. The results JSON records
them as "params": the fields that differ from the defaults ({} for v1.3's).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Callable

import jax
import numpy as np

import nmmo_jax as nj

from .config import TrainConfig
from .matches import CAUSES, Policy, Sums, holders_for_all, match_params, play, play_each

EVAL_SEED = 1_000_003  # held-out maps: training keys never come from this seed
SETTLE_TICKS = 2000  # warmup before the settled window
# Keys of every evaluation row (a subset; see `summarize`).
FIELDS = ("mean_alive", "se_alive", "lifetime_little", "mean_lifetime", "lives_ended",
          "deaths_lava", "deaths_starvation", "deaths_combat", "food_per_agent_tick",
          "water_per_agent_tick", "forests_left")


# --------------------------------------------------------------------- summaries
def summarize(sums: Sums, window: int, ticks: int, held: np.ndarray | None = None) -> dict:
    """One row from `sums` of window index `window` (`ticks` ticks long), over the
    (world, population) cells where held bool [W, P] is True (default: all).

    mean_alive: agents alive per world and tick (se_alive: its standard error
    over worlds); lifetime_little: mean alive / spawns per tick (Little's law);
    mean_lifetime: the mean of the lives that ended; lives_ended, spawns,
    deaths_<cause>, kills (dealt by the held cells); food/water_per_agent_tick:
    points gained per alive agent-tick; forests_left: forests standing at the
    window's end over those of the fresh map, mean over worlds.
    """
    pick = lambda x: x[window]
    alive, spawns, ended, age = map(pick, (sums.alive, sums.spawns, sums.ended, sums.ended_age))
    held = np.ones(alive.shape, bool) if held is None else np.asarray(held, bool)
    cells = lambda x: np.where(held, x, 0)
    per_world = cells(alive).sum(axis=1) / ticks  # [W]
    worlds = len(per_world)
    total_alive, total_spawns, total_ended = (int(cells(x).sum()) for x in (alive, spawns, ended))
    deaths = np.where(held[..., None], pick(sums.deaths), 0).sum(axis=(0, 1))
    ratio = lambda a, b: float(a / b) if b else float("nan")
    row = {"mean_alive": float(per_world.mean()),
           "se_alive": float(per_world.std(ddof=1) / np.sqrt(worlds)) if worlds > 1 else
           float("nan"),
           "lifetime_little": ratio(total_alive, total_spawns),
           "mean_lifetime": ratio(int(cells(age).sum()), total_ended),
           "lives_ended": total_ended, "spawns": total_spawns,
           "kills": float(np.where(held[..., None], pick(sums.kills), 0).sum()),
           "food_per_agent_tick": ratio(float(cells(pick(sums.food)).sum()), total_alive),
           "water_per_agent_tick": ratio(float(cells(pick(sums.water)).sum()), total_alive),
           "forests_left": float(np.mean(pick(sums.forests_end) / np.maximum(sums.forests_reset, 1)))}
    row.update({f"deaths_{c}": int(d) for c, d in zip(CAUSES, deaths)})
    return row


def windows_of(ticks: int, warmup: int) -> dict[str, tuple[int, int]]:
    """The two settings' tick ranges: fresh [0, ticks), settled [warmup, warmup + ticks)."""
    if ticks < 1 or warmup < 0:
        raise ValueError(f"evaluate: ticks={ticks} must be >= 1 and warmup={warmup} >= 0")
    return {"fresh": (0, ticks), "settled": (warmup, warmup + ticks)}


def population_ceiling(config: nj.Config, ticks: int, warmup: int = 0) -> float:
    """The most agents a world can hold alive, averaged over the counted ticks
    [warmup, warmup + ticks) of a window, as `mean_alive` counts them: a bound
    derived from `config` (no policy reaches above it), not a rule of the game.

    Reset spawns s = `config.spawn_per_tick` agents and every tick s more while
    slots are empty (docs/rules.md §3.1), so counted tick t, the world after
    tick t + 1, holds at most min(num_agents, s * (t + 2)). Fresh (warmup 0):
    the default preset's 1,000 ticks give 119.999, the small preset's 15.895;
    a window that starts once the world can be full gives num_agents.

    config: the world's shapes; ticks >= 1 counted ticks after warmup >= 0
    uncounted ones. Returns the mean of that bound over the window.
    """
    windows_of(ticks, warmup)  # the same checks as the evaluation's windows
    t = np.arange(warmup, warmup + ticks, dtype=np.int64)
    bound = np.minimum(config.num_agents, config.spawn_per_tick * (t + 2))
    return float(bound.sum() / ticks)


def evaluate(policy: Policy, config: nj.Config, ticks: int = 1000, worlds: int = 4,
             seed: int = EVAL_SEED, warmup: int = 0, params: nj.Params | None = None) -> dict:
    """`policy(key, obs) -> Actions` (one world) alone on `worlds` held-out maps:
    the `summarize` row of the `ticks` ticks that follow `warmup` uncounted ones.
    params: the game's numbers (None: v1.3's)."""
    window = windows_of(ticks, warmup)["settled"]
    sums = play([policy], holders_for_all(worlds, config), config, [window], seed, params)
    return summarize(sums, 0, ticks)


def settings_sums(policies: dict[str, Policy], config: nj.Config, ticks: int, worlds: int,
                  seed: int = EVAL_SEED, warmup: int = SETTLE_TICKS,
                  params: nj.Params | None = None) -> dict[str, Sums]:
    """{name: Sums} of each policy alone for warmup + ticks ticks on the same
    worlds, windows fresh then settled (one compiled program for all of them),
    under the numbers `params` (None: v1.3's)."""
    windows = list(windows_of(ticks, warmup).values())
    sums = play_each(list(policies.values()), config, worlds, windows, seed, params)
    return dict(zip(policies, sums))


def settings_rows(sums: Sums, ticks: int) -> dict[str, dict]:
    """{"fresh": row, "settled": row} of one policy's `settings_sums`."""
    return {name: summarize(sums, i, ticks) for i, name in enumerate(("fresh", "settled"))}


def evaluate_settings(policies: dict[str, Policy], config: nj.Config, ticks: int, worlds: int,
                      seed: int = EVAL_SEED, warmup: int = SETTLE_TICKS,
                      params: nj.Params | None = None) -> dict[str, dict[str, dict]]:
    """{name: {"fresh": row, "settled": row}}: each policy alone for warmup + ticks
    ticks (the fresh window is the start of the same worlds) under the numbers
    `params` (None: v1.3's)."""
    return {name: settings_rows(sums, ticks) for name, sums in
            settings_sums(policies, config, ticks, worlds, seed, warmup, params).items()}


# --------------------------------------------------------------------- yardsticks
def scripted_policies() -> dict[str, Callable]:
    """The scripted yardsticks by name (policies.scripted.SCRIPTED)."""
    from policies.scripted import SCRIPTED
    return dict(SCRIPTED)


# Yardstick rows shipped with the code (scripts/ship_yardsticks.py writes them),
# read before the user's cache: the default run's closing evaluation costs no
# yardstick minutes on a fresh machine. A row computed by other code never matches.
SHIPPED_DIR = Path(__file__).resolve().parent / "yardsticks"


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/nmmo-jax/yardsticks (default ~/.cache/nmmo-jax/yardsticks)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nmmo-jax" / "yardsticks"


def _code_fingerprint() -> str:
    """A hash of the sources a yardstick's Sums depend on: the game, the batch
    stepping, the scripted policies and the match runner (not the summaries,
    which are recomputed from the Sums)."""
    root = Path(__file__).resolve().parent.parent
    files = sorted((root / "nmmo_jax").rglob("*.py")) + [
        root / "envs" / "batch.py", root / "envs" / "autoreset.py",
        root / "policies" / "scripted.py", root / "policies" / "navigation.py",
        root / "train" / "matches.py"]
    digest = hashlib.sha256()
    for f in files:
        if f.exists():
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def params_values(params: nj.Params | None, config: nj.Config) -> dict[str, float | int | list]:
    """{field: value} of every field of `params` (None: `default_params(config)`),
    as JSON numbers (a damage pair as [base, per_level]); None and the explicit
    defaults give the same dict. ValueError naming the field for a bad value."""
    return nj.params.values(match_params(params, config), config)


def params_changes(params: nj.Params | None, config: nj.Config) -> dict[str, float | int | list]:
    """{field: value} of the fields of `params` that differ from `default_params(config)`
    ({} for None or the defaults): what a result records of the numbers it was played with."""
    return nj.params.changes(match_params(params, config), config)


def describe_params(changes: dict) -> str:
    """One line naming the numbers of `params_changes` ("v1.3's" when there are none)."""
    if not changes:
        return "game numbers: v1.3's"
    show = lambda v: ",".join(f"{x:g}" for x in v) if isinstance(v, list) else f"{v:g}"
    return "game numbers: v1.3's but " + ", ".join(f"{k}={show(v)}" for k, v in changes.items())


def yardstick_key(config: nj.Config, ticks: int, worlds: int, seed: int, warmup: int,
                  params: nj.Params | None = None) -> str:
    """The JSON text that identifies a yardstick evaluation: the config, every
    Params field's value (None = the defaults' values), seed, ticks, warmup,
    worlds, the code's fingerprint, and the JAX version and backend (another
    XLA may round differently)."""
    return json.dumps({"config": dataclasses.asdict(config),
                       "params": params_values(params, config), "seed": seed, "ticks": ticks,
                       "warmup": warmup, "worlds": worlds,
                       "code": _code_fingerprint(), "jax": jax.__version__,
                       "backend": jax.default_backend()}, sort_keys=True)


def yardsticks(config: nj.Config, ticks: int, worlds: int, seed: int = EVAL_SEED,
               warmup: int = SETTLE_TICKS, cache_dir: Path | None = None,
               params: nj.Params | None = None, shipped: bool = True) -> dict[str, dict]:
    """{name: {"fresh": row, "settled": row}} for every scripted yardstick, played
    under the numbers `params` (None: v1.3's).

    Each yardstick's Sums are read from SHIPPED_DIR (unless `shipped` is False)
    or `cache_dir` when an identical evaluation (`yardstick_key`) was stored
    there, else played (and stored in `cache_dir`); the rows are computed from
    them. With shipped=False and cache_dir None everything is played."""
    key = yardstick_key(config, ticks, worlds, seed, warmup, params)
    file_name = f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.json"
    stored = None
    for folder in ((SHIPPED_DIR,) if shipped else ()) + (cache_dir,):
        found = Path(folder) / file_name if folder is not None else None
        if found is not None and found.exists():
            doc = json.loads(found.read_text())
            if doc.get("key") == key:
                stored = {name: Sums(**{f: np.asarray(v) for f, v in fields.items()})
                          for name, fields in doc["sums"].items()}
                break
    if stored is None:
        stored = settings_sums(scripted_policies(), config, ticks, worlds, seed, warmup, params)
        if cache_dir is not None:
            path = Path(cache_dir) / file_name
            path.parent.mkdir(parents=True, exist_ok=True)
            doc = {"key": key, "sums": {name: {f: np.asarray(v).tolist()
                                               for f, v in sums._asdict().items()}
                                        for name, sums in stored.items()}}
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(doc))
            os.replace(tmp, path)
    return {name: settings_rows(sums, ticks) for name, sums in stored.items()}


# --------------------------------------------------------------------- trained policies
def greedy_policy(model, params) -> Policy:
    """(key, obs [A, ...]) -> Actions: the most likely action of `model`
    (policies.baseline.ActorCritic) with `params`; the key is unused."""
    from policies.io import to_actions

    def policy(key: jax.Array, obs: nj.Obs) -> nj.Actions:
        dist, _ = model.apply(params, obs)
        return to_actions(dist.mode(), obs)

    return policy


def pretrained_path() -> Path:
    from scripts.replay import pretrained_path as path  # the one place that names it
    return path()


def load_trained(spec: str, num_agents: int | None = None):
    """(ActorCritic, params, env Config) of a run directory, checkpoint or
    `pretrained`; with num_agents, the model and config for worlds of that
    many slots (the parameters do not depend on it). CheckpointError when
    the checkpoint is missing or unreadable."""
    from policies.baseline import ActorCritic

    from .checkpoint import CheckpointError, load_model
    path = pretrained_path() if spec == "pretrained" else Path(spec)
    if not path.exists():
        raise CheckpointError(f"{spec!r}: no such run directory or checkpoint file")
    model, params, tc = load_model(path)
    config = tc.env_config
    if num_agents is not None and num_agents != config.num_agents:
        config = config.replace(num_agents=num_agents)
        model = ActorCritic(config, width=model.width, shared=model.shared,
                            entity_dim=model.net.entity_dim, navigation=model.navigation)
    return model, params, config


# --------------------------------------------------------------------- report
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
    population table gives (no line without it)."""
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
    head = (f"{'settled worlds':<18} {'lava':>6} {'starve':>7} {'combat':>7} {'food/ag-t':>10} "
            f"{'water/ag-t':>10} {'forests left':>12}")
    lines += ["", head, "-" * len(head)]
    for name, r in results.items():
        r = r[s]
        lines.append(f"{name:<18} {r['deaths_lava']:>6d} {r['deaths_starvation']:>7d} "
                     f"{r['deaths_combat']:>7d} {r['food_per_agent_tick']:>10.3f} "
                     f"{r['water_per_agent_tick']:>10.3f} {r['forests_left']:>12.0%}")
    return "\n".join(lines)


def run_report(tc: TrainConfig, out: Path, policy: Policy, greedy: Policy | None = None,
               cache_dir: Path | None = None, params: nj.Params | None = None) -> dict:
    """The end of a run: print the population table and write OUT/eval.json,
    OUT/population.png and OUT/replay.html of `policy(key, obs) -> Actions`
    (sampled) on a held-out map. `greedy` (see `greedy_policy`) adds its row.
    Every row, and the replay, is played under the numbers `params` (None:
    v1.3's). Yardsticks are cached in `cache_dir` (default:
    `default_cache_dir()`). Returns {name: {"fresh": row, "settled": row}}."""
    from viz import record, write_html

    from .plot import plot_population
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
    from .checkpoint import CheckpointError

    p = argparse.ArgumentParser(prog="python -m train.evaluate",
                                description=__doc__.splitlines()[0])
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
        model, weights, config = load_trained(args.checkpoint)
        params = nj.default_params(config, **assigned)
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    changes = params_changes(params, config)
    trained = {"trained": model.policy_fn(weights),
               "trained (greedy)": greedy_policy(model, weights)}
    results = evaluate_trained(trained, config, args.ticks, args.worlds, args.seed, args.warmup,
                               None if args.no_cache else default_cache_dir(), params,
                               shipped=not args.no_cache)
    print(format_table(results, args.ticks, args.worlds, args.warmup, changes, config))
    if args.out:
        args.out.write_text(json.dumps(results_doc(results, args.ticks, args.worlds,
                                                   args.warmup, args.seed, changes), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
