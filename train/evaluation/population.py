"""Population evaluation on held-out maps: how many agents a policy keeps alive.

The headline is the mean number of agents alive per world in two settings
side by side: fresh (the first `ticks` ticks after reset) and settled
(`ticks` counted ticks after `warmup`). Beside it: lifetime by Little's law
(mean alive / spawns per tick), the mean of the lives that ended (censored:
long lives that outlast the window are left out), deaths by cause and
resource use (docs/experiments.md, "Population evaluation", defines them).
With NPCs on, rows also give `npc_kills` and `npc_deaths`, both per
PER_AGENT_TICKS (1,000) agent-ticks alive; with items on, ITEM_FIELDS:
equipment_level and gold per living agent, harvested and gold_gained per
1,000 agent-ticks alive. The rows are computed in numpy from the match
runner's Sums (train.evaluation.matches).
"""
from __future__ import annotations

import numpy as np

import nmmo_jax as nj

from .matches import (CAUSES, ITEM_FIELDS, NPC_FIELDS, Policy, Sums, has_items, has_npcs,
                      holders_for_all, play, play_each)

EVAL_SEED = 1_000_003  # held-out maps: training keys never come from this seed
SETTLE_TICKS = 2000  # warmup before the settled window
# Keys of every evaluation row (a subset; see `summarize`).
FIELDS = ("mean_alive", "se_alive", "lifetime_little", "mean_lifetime", "lives_ended",
          "deaths_lava", "deaths_starvation", "deaths_combat", "food_per_agent_tick",
          "water_per_agent_tick", "forests_left")
# Rows with NPCs on also hold NPC_FIELDS, rates per PER_AGENT_TICKS agent-ticks alive.
PER_AGENT_TICKS = 1000
# Rows with items on also hold ITEM_FIELDS: these per living agent (means over the
# alive agent-ticks), the others per PER_AGENT_TICKS agent-ticks alive.
PER_LIVING_AGENT = ("equipment_level", "gold")


def summarize(sums: Sums, window: int, ticks: int, held: np.ndarray | None = None) -> dict:
    """One row from `sums` of window index `window` (`ticks` ticks long), over the
    (world, population) cells where held bool [W, P] is True (default: all).

    mean_alive: agents alive per world and tick (se_alive: its standard error
    over worlds); lifetime_little: mean alive / spawns per tick (Little's law);
    mean_lifetime: the mean of the lives that ended; lives_ended, spawns,
    deaths_<cause>, kills (dealt by the held cells); food/water_per_agent_tick:
    points gained per alive agent-tick; forests_left: forests standing at the
    window's end over those of the fresh map, mean over worlds.

    With NPCs on (`has_npcs(sums)`) the row also holds npc_kills (NPCs killed
    by the held cells' agents; an NPC that several agents hit in the tick it
    died counts once for each of them, as the game's info["npc_kill"] says)
    and npc_deaths (their agents' deaths with cause npc), both per
    PER_AGENT_TICKS (1,000) alive agent-ticks of those cells (NaN with none).

    With items on (`has_items(sums)`) it also holds equipment_level (the
    mean, over those cells' alive agent-ticks, of a living agent's equipped
    items' levels summed), gold (the mean gold a living agent holds), and
    harvested (harvests, one item each) and gold_gained (gold taken as
    loot), both per PER_AGENT_TICKS alive agent-ticks (NaN with none).
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
    if has_npcs(sums):
        row.update({k: ratio(PER_AGENT_TICKS * int(cells(pick(getattr(sums, k))).sum()),
                             total_alive) for k in NPC_FIELDS})
    if has_items(sums):
        scale = lambda k: 1 if k in PER_LIVING_AGENT else PER_AGENT_TICKS
        row.update({k: ratio(scale(k) * int(cells(pick(getattr(sums, k))).sum()), total_alive)
                    for k in ITEM_FIELDS})
    return row


def npc_cells(row: dict, widths: tuple[int, int], digits: int) -> str:
    """The row's npc_kills and npc_deaths as two right-aligned table cells of the
    given widths (nan where the row has none: it was played without NPCs)."""
    return "".join(f" {row.get(k, float('nan')):>{w}.{digits}f}" for k, w in zip(NPC_FIELDS, widths))


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
