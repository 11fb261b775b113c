"""Tournaments: entrants meet in the same held-out worlds, ranked by the share of it they hold.

    python -m train.tournament ENTRANT ENTRANT [...] [--num-agents 16,128] [--worlds 24]
                               [--warmup 2000] [--ticks 1000] [--seed N] [--preset NAME]
                               [--num-npcs N] [--params FIELD=VALUE ...] [--out DIR]

An entrant is a scripted policy's name, a run directory, a checkpoint or
`pretrained` (policies.resolve). A match puts entrants into the same worlds, the populations
divided among them as evenly as possible and rotated across worlds, so that
over a match every entrant holds every population equally often; it counts
`ticks` settled ticks after `warmup` (as the population evaluation does,
docs/experiments.md). Two entrants play one match; three or more play every
pair and one free-for-all. Each world of each match is a game for the
OpenSkill ratings (train/evaluation/ratings.py), scored by the agents alive per
population an entrant holds. `--num-agents` repeats the tournament at other
population caps (the worlds are the first trained entrant's, or `--preset`'s;
`--num-npcs N` gives them N NPC slots, docs/rules.md §9, and the table then
adds each entrant's NPC kills and deaths by NPCs).
`--params FIELD=VALUE` (repeatable, as in `python -m train.evaluate`) plays
every match under other game numbers than v1.3's; tournament.json records
them as "params" (the fields that differ from the defaults of the base
worlds; {} = v1.3's) and the table names them.
Writes OUT/tournament.json and OUT/tournament.png and prints the table.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

import nmmo_jax as nj
from policies.resolve import PolicyError, Resolved, resolve

from ..run.policy import load_trained
from .matches import Policy, match_params, play
from .numbers import describe_params, params_changes
from .population import EVAL_SEED, SETTLE_TICKS, npc_cells, summarize
from .ratings import ANCHOR_MU, rate


# --------------------------------------------------------------------- matches
def rotation(worlds: int, populations: int, entrants: int) -> np.ndarray:
    """holders int32 [W, P]: entrant (p + w) % K plays population p in world w.

    Each world divides the populations as evenly as possible; over W worlds (a
    multiple of K) every entrant holds every population W / K times.
    """
    if entrants < 1 or populations < entrants:
        raise ValueError(f"{entrants} entrants cannot share {populations} populations "
                         "(num_populations must be >= entrants per match)")
    if worlds < 1 or worlds % entrants:
        raise ValueError(f"worlds={worlds}: must be a positive multiple of the entrants "
                         f"per match ({entrants}) so that the rotation is even")
    w, p = np.meshgrid(np.arange(worlds), np.arange(populations), indexing="ij")
    return ((p + w) % entrants).astype(np.int32)


def schedule(n: int) -> list[tuple[int, ...]]:
    """The matches of n entrants: the pair for two; every pair and one free-for-all for more."""
    if n < 2:
        raise ValueError(f"a tournament needs two or more entrants, got {n}")
    pairs = list(itertools.combinations(range(n), 2))
    return pairs if n == 2 else pairs + [tuple(range(n))]


def match_result(sums, holders: np.ndarray, ticks: int, names: Sequence[str]) -> dict:
    """Per entrant of one match from its Sums (one window of `ticks` ticks):

    rows {name: summarize row + share (of the alive agent-ticks) + populations
    (held per world)}, kills [K killer][K victim] (credited kills between
    entrants, summed over worlds) and scores [W][K] (agents alive per tick
    and population held, per world: the ratings' games). With NPCs on each
    row also has summarize's npc_kills and npc_deaths (per 1,000 agent-ticks
    alive of the populations the entrant holds; an NPC kill is the entrant's
    whose agent landed a hit on the NPC in the tick it died).
    """
    k = len(names)
    held = np.eye(k, dtype=np.int64)[holders]  # [W, P, K]
    alive = sums.alive[0]  # [W, P] agent-ticks
    total = alive.sum()
    rows = {}
    for i, name in enumerate(names):
        row = summarize(sums, 0, ticks, held=holders == i)
        row["share"] = float(alive[holders == i].sum() / total) if total else float("nan")
        row["populations"] = float((holders == i).sum() / len(holders))
        rows[name] = row
    kills = np.einsum("wpk,wpq,wql->kl", held, sums.kills[0], held)
    per_world = np.einsum("wp,wpk->wk", alive, held) / ticks
    scores = per_world / held.sum(axis=1)
    return {"entrants": list(names), "rows": rows, "kills": kills.tolist(),
            "scores": scores.tolist()}


def play_match(policies: Sequence[Policy], names: Sequence[str], world: nj.Config, worlds: int,
               warmup: int, ticks: int, seed: int, params: nj.Params | None = None) -> dict:
    """`match_result` of `policies` meeting in `worlds` held-out worlds of `world`
    (maps from `seed`), counted over ticks [warmup, warmup + ticks), under the
    game numbers `params` (None: v1.3's)."""
    if ticks < 1 or warmup < 0:
        raise ValueError(f"ticks={ticks} must be >= 1 and warmup={warmup} >= 0")
    holders = rotation(worlds, world.num_populations, len(policies))
    sums = play(list(policies), holders, world, [(warmup, warmup + ticks)], seed, params)
    return match_result(sums, holders, ticks, names)


# --------------------------------------------------------------------- entrants
def load_entrant(spec: str, name: str | None = None) -> Resolved:
    """The entrant `spec` names (policies.resolve), labelled `name` (default: spec);
    ValueError (one line, naming the entrant) for an unknown name or a missing or
    unreadable checkpoint."""
    try:
        return dataclasses.replace(resolve(spec, load_trained), name=name or spec)
    except PolicyError as e:
        raise ValueError(f"entrant {e}") from None


def entrant_policy(entrant: Resolved, world: nj.Config, params: nj.Params | None = None
                   ) -> Policy:
    """The entrant's policy in worlds of `world` playing the numbers `params` (None:
    v1.3's); ValueError (one line, naming the entrant and the field) where its
    observations would not fit."""
    try:
        return entrant.policy(world, params)
    except PolicyError as e:
        raise ValueError(f"entrant {e}") from None


def labels(specs: Sequence[str]) -> list[str]:
    """Unique labels for the entrants: the spec, with #2, #3, ... on repeats."""
    out, seen = [], {}
    for spec in specs:
        spec = spec.rstrip("/") or spec
        seen[spec] = seen.get(spec, 0) + 1
        out.append(spec if seen[spec] == 1 else f"{spec}#{seen[spec]}")
    return out


# --------------------------------------------------------------------- tournament
def world_config(entrants: Sequence[Resolved], preset: str | None,
                 num_npcs: int | None = None) -> nj.Config:
    """The tournament's worlds: `preset`'s, else the first trained entrant's (its NPCs
    included), else the default; with `num_npcs` (not None) that many NPC slots
    instead. ValueError naming num_npcs for a bad count."""
    if preset is not None:
        base = nj.Config.preset(preset)
    else:
        trained = [e.config for e in entrants if e.config is not None]
        base = trained[0] if trained else nj.Config()
    return base if num_npcs is None else base.replace(num_npcs=num_npcs)


def tournament(entrants: Sequence[Resolved], base: nj.Config, caps: Sequence[int], worlds: int,
               warmup: int, ticks: int, seed: int, log=print,
               params: nj.Params | None = None) -> dict:
    """Every match of `schedule` at each population cap in `caps` (worlds of
    `base` with that num_agents), and the ratings of each cap's games, all
    under the game numbers `params` (None: v1.3's).

    Returns {str(cap): {"matches": [match_result...], "ratings": {name: {mu,
    sigma}}, "anchor": name or None}}. Every entrant, and `params`, is checked
    against every cap's worlds before the first match is played.
    """
    names = [e.name for e in entrants]
    matches = schedule(len(entrants))
    sizes = sorted({len(m) for m in matches})
    if worlds < 1 or any(worlds % k for k in sizes):
        raise ValueError(f"--worlds={worlds}: must be a multiple of every match's entrant "
                         f"count ({', '.join(map(str, sizes))}) so that the rotation is even")
    rotation(worlds, base.num_populations, sizes[-1])  # enough populations for the largest
    policies = {}
    for cap in caps:
        world = base.replace(num_agents=int(cap))
        match_params(params, world)  # ValueError naming the field
        policies[cap] = (world, [entrant_policy(e, world, params) for e in entrants])
    out = {}
    for cap, (world, fns) in policies.items():
        played = []
        for m in matches:
            start = time.time()
            played.append(play_match([fns[i] for i in m], [names[i] for i in m], world, worlds,
                                     warmup, ticks, seed, params))
            log(f"cap {cap}: {' vs '.join(names[i] for i in m)} ({time.time() - start:.0f} s)")
        games = [([names.index(n) for n in r["entrants"]], s) for r in played for s in r["scores"]]
        out[str(cap)] = {"matches": played, **rate(names, games, seed)}
    return out


# --------------------------------------------------------------------- report
def format_table(results: dict, worlds: int, warmup: int, ticks: int,
                 changes: dict | None = None) -> str:
    """The printed table of `tournament`'s results; changes: the Params fields
    that differ from v1.3's (a line names them). Where the matches were played
    with NPCs (their rows hold npc_kills) two more columns give each entrant's
    npc kills and npc deaths per 1,000 agent-ticks alive (the cap's header line
    says so); without NPCs the table is v1.3's, byte for byte."""
    lines = [describe_params(changes or {})]
    head = (f"{'entrant':<20} {'pops':>5} {'share':>6} {'alive ± SE':>12} {'Little':>7} "
            f"{'ended':>6} {'kills':>6} {'lava':>5} {'starve':>6} {'combat':>6}")
    for cap, res in results.items():
        npcs = any("npc_kills" in r for m in res["matches"] for r in m["rows"].values())
        unit = "; npc kills, npc deaths per 1,000 agent-ticks alive" if npcs else ""
        cap_head = head + (f" {'npc kills':>9} {'npc deaths':>10}" if npcs else "")
        lines += [f"cap {cap}: {worlds} held-out worlds, settled ticks {warmup + 1}-"
                  f"{warmup + ticks}; lifetime by Little's law, mean of ended lives{unit}",
                  cap_head, "-" * len(cap_head)]
        for m in res["matches"]:
            lines.append(" vs ".join(m["entrants"]))
            for name, r in m["rows"].items():
                line = (f"  {name:<18} {r['populations']:>5.1f} {r['share']:>6.1%} "
                        f"{r['mean_alive']:>6.1f} ± {r['se_alive']:<3.1f} "
                        f"{r['lifetime_little']:>7.0f} {r['mean_lifetime']:>6.0f} "
                        f"{r['kills']:>6.1f} {r['deaths_lava']:>5d} "
                        f"{r['deaths_starvation']:>6d} {r['deaths_combat']:>6d}")
                if npcs:
                    line += npc_cells(r, (9, 10), 2)
                lines.append(line)
            width = max(6, *(len(n) for n in m["entrants"]))
            lines.append(f"  {'kills (row killed column)':>26}  " + "  ".join(
                f"{n:>{width}}" for n in m["entrants"]))
            for name, row in zip(m["entrants"], m["kills"]):
                lines.append(f"  {name:>26}: " + "  ".join(f"{x:>{width}.1f}" for x in row))
        anchor = (f"{res['anchor']} = {ANCHOR_MU:g}" if res["anchor"] else
                  "unanchored: no forager entered")
        lines.append(f"ratings at cap {cap} (OpenSkill mu ± sigma, {anchor})")
        for name, r in sorted(res["ratings"].items(), key=lambda kv: -kv[1]["mu"]):
            lines.append(f"  {name:<18} {r['mu']:>6.1f} ± {r['sigma']:.1f}")
        lines.append("")
    return "\n".join(lines)


def parse_caps(text: str | None) -> list[int] | None:
    """'16,32' -> [16, 32]; None stays None; ValueError naming --num-agents otherwise."""
    if text is None:
        return None
    try:
        caps = [int(x) for x in text.split(",")]
    except ValueError:
        caps = []
    if not caps or min(caps) < 1 or len(set(caps)) != len(caps):
        raise ValueError(f"--num-agents={text!r}: want distinct positive integers like 16,32,64")
    return caps


def main(argv: list[str] | None = None) -> int:
    """`python -m train.tournament`: 0, or 2 with a one-line error."""
    p = argparse.ArgumentParser(prog="python -m train.tournament",
                                description=__doc__.splitlines()[0])
    p.add_argument("entrants", nargs="+", help="scripted policy names, run directories, "
                                               "checkpoints or `pretrained` (two or more)")
    p.add_argument("--num-agents", default=None,
                   help="population caps, comma-separated (default: the worlds' own)")
    p.add_argument("--worlds", type=int, default=24,
                   help="held-out worlds per match (a multiple of the entrants per match)")
    p.add_argument("--warmup", type=int, default=SETTLE_TICKS, help="ticks before counting")
    p.add_argument("--ticks", type=int, default=1000, help="counted ticks")
    p.add_argument("--seed", type=int, default=EVAL_SEED,
                   help="seed of the held-out maps and of the ratings' game order")
    p.add_argument("--preset", choices=nj.Config.PRESETS, default=None,
                   help="the worlds' preset (default: the first trained entrant's worlds)")
    p.add_argument("--num-npcs", type=int, default=None, metavar="N",
                   help="NPC slots per world (default: the worlds' own; docs/rules.md §9)")
    p.add_argument("--params", action="append", default=[], metavar="FIELD=VALUE",
                   help="play under other game numbers than v1.3's (repeatable; a "
                        "nmmo_jax.Params field, a damage pair as BASE,PER_LEVEL)")
    p.add_argument("--out", type=Path, default=None,
                   help="output directory (default runs/tournament_<timestamp>)")
    args = p.parse_args(argv)
    try:
        if len(args.entrants) < 2:
            raise ValueError("a tournament needs two or more entrants")
        caps = parse_caps(args.num_agents)
        assigned = nj.params.parse_assignments(args.params)  # before loading entrants
        entrants = [load_entrant(spec, name)
                    for spec, name in zip(args.entrants, labels(args.entrants))]
        base = world_config(entrants, args.preset, args.num_npcs)
        params = nj.default_params(base, **assigned)
        changes = params_changes(params, base)
        results = tournament(entrants, base, caps or [base.num_agents], args.worlds,
                             args.warmup, args.ticks, args.seed, params=params)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from .tournament_plot import plot_tournament
    out = args.out or Path("runs") / time.strftime("tournament_%Y%m%d_%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    report = {"entrants": [e.name for e in entrants], "worlds": args.worlds,
              "warmup": args.warmup, "ticks": args.ticks, "seed": args.seed,
              "world": dataclasses.asdict(base), "params": changes, "caps": results}
    (out / "tournament.json").write_text(json.dumps(report, indent=1))
    print(format_table(results, args.worlds, args.warmup, args.ticks, changes))
    plot_tournament(report, out / "tournament.png")
    print(f"wrote {out / 'tournament.json'}, {out / 'tournament.png'}")
    return 0

