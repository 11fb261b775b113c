"""Harvest (docs/rules.md §10.6): professions gather resource tiles into items.

nmmo 2.1.2's harvest skills (nmmo/systems/skill.py `HarvestSkill`, `Fishing`,
`Herbalism`, `Prospecting`, `Carving`, `Alchemy`), which act every tick
without an action: an agent harvests the ore, tree, crystal or herb it
stands on, and fishes every fish tile next to it. Runs only with
`Config.professions` on.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import rng
from ..config import Config
from ..params import Params
from ..resources import FISH_MATERIAL, STANDING, STREAM_HARVEST_DROP
from ..state import MOVE_DELTAS, NUM_PROFESSIONS, ORE, Items, State
from .inventory import receive, stacks


def held_tool_level(items: Items, tool: jnp.ndarray) -> jnp.ndarray:
    """int32 [A]: level of the equipped item of kind tool [A], 0 where none is held."""
    held = items.equipped & (items.kind == tool[:, None])
    return jnp.max(jnp.where(held, items.level, 0), axis=1)


def drop_level(items: Items, tool: jnp.ndarray, params: Params) -> jnp.ndarray:
    """int32 [A]: 1 + the held matching tool's level, capped at item_level_max; 1
    without the tool (nmmo's `HarvestSkill.process_drops`)."""
    tool_level = held_tool_level(items, tool)
    return jnp.where(tool_level > 0, jnp.minimum(1 + tool_level, params.item_level_max), 1)


def harvest_xp(drop: jnp.ndarray, params: Params) -> jnp.ndarray:
    """int32 [A]: profession XP of a harvest whose drop is of kind drop [A]: ammunition
    (prospecting, carving, alchemy) or consumable (fishing, herbalism)."""
    return jnp.where(stacks(drop), params.xp_ammunition_harvest, params.xp_consumable_harvest)


def give(items: Items, want: jnp.ndarray, kind: jnp.ndarray, level: jnp.ndarray
         ) -> tuple[Items, jnp.ndarray, jnp.ndarray]:
    """One harvested item per agent where want [A]: (items, kept [A], lost [A] bool).

    nmmo destroys a harvested item when the inventory has no empty slot, even
    ammunition that would join a stack (`process_drops` checks
    `inventory.space` before `receive`).
    """
    room = jnp.any(items.kind == 0, axis=1)
    items, kept = receive(items, kind, level, jnp.ones_like(kind), want & room)
    return items, kept, want & ~kept


def fish_claims(tiles: jnp.ndarray, pos: jnp.ndarray, active: jnp.ndarray
                ) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(fished [H, W] bool, fishes [A] bool): each fish tile goes to the lowest active
    slot next to it, and an agent fishes when it gets at least one.

    nmmo's agents act in id order and each depletes every fish tile next to it
    (`harvest_adjacent`), so a tile is taken by its lowest neighbour.
    """
    a = pos.shape[0]
    slots = jnp.arange(a, dtype=jnp.int32)
    r, c = pos[:, 0] + 1, pos[:, 1] + 1  # on the map padded by one cell
    claim = jnp.full((tiles.shape[0] + 2, tiles.shape[1] + 2), a, jnp.int32)
    bidder = jnp.where(active, slots, a)
    for dr, dc in MOVE_DELTAS[1:]:
        claim = claim.at[r + dr, c + dc].min(bidder)
    is_fish = jnp.pad(tiles == FISH_MATERIAL.tile, 1)
    fished = is_fish & (claim < a)
    fishes = jnp.zeros(a, bool)
    for dr, dc in MOVE_DELTAS[1:]:
        fishes = fishes | (fished[r + dr, c + dc] & (claim[r + dr, c + dc] == slots))
    return fished[1:-1, 1:-1], fishes


def harvest(key: jax.Array, state: State, active: jnp.ndarray, config: Config, params: Params
            ) -> tuple[State, dict]:
    """Every active agent [A] bool harvests, at its position at the start of the tick.

    key: the step's items seed (`rng.stream(seed, rng.STREAM_ITEMS)`) or any
    PRNG key. Fishing first (a ration), then the tile it stands on (a
    standing tile feeds the lowest slot on it): its ammunition or potion,
    and for ore, tree and crystal a weapon with `weapon_drop_prob`. Harvested
    tiles become their depleted kind; each harvest adds its profession's XP,
    kept or not. Returns (state, info) with info:
    items_in [A] int32 (items received this tick), harvest_lost [A] int32
    (items harvested and destroyed for lack of room), harvested [A, 5] bool
    (per profession in PROFESSION_NAMES order: it harvested this tick).
    """
    tiles, items = state.tiles, state.items
    a = config.num_agents
    slots = jnp.arange(a, dtype=jnp.int32)
    r, c = state.agents.pos[:, 0], state.agents.pos[:, 1]

    fished, fishes = fish_claims(tiles, state.agents.pos, active)

    here = tiles[r, c]
    stands = active & jnp.isin(here, jnp.asarray([m.tile for m in STANDING], here.dtype))
    first_on = jnp.full(tiles.shape, a, jnp.int32).at[r, c].min(jnp.where(stands, slots, a))
    picks = stands & (first_on[r, c] == slots)
    # STANDING's row of each agent's tile (clipped where it stands on none: unused there).
    material = jnp.clip((here.astype(jnp.int32) - ORE) // 2, 0, len(STANDING) - 1)
    column = lambda field: jnp.asarray([getattr(m, field) for m in STANDING], jnp.int32)[material]

    fish_kind = jnp.full(a, FISH_MATERIAL.drop, jnp.int32)
    fish_level = drop_level(items, jnp.full(a, FISH_MATERIAL.tool, jnp.int32), params)
    level = drop_level(items, column("tool"), params)
    items, kept_fish, lost_fish = give(items, fishes, fish_kind, fish_level)
    items, kept_drop, lost_drop = give(items, picks, column("drop"), level)
    weapon = column("weapon")
    rolls = rng.bits(rng.stream(rng.seed_of(key), STREAM_HARVEST_DROP), slots)
    arms = picks & (weapon > 0) & (rolls < rng.threshold(params.weapon_drop_prob))
    items, kept_weapon, lost_weapon = give(items, arms, weapon, level)

    professions = jnp.arange(NUM_PROFESSIONS, dtype=jnp.int32)
    by_standing = picks[:, None] & (column("profession")[:, None] == professions)
    by_fishing = fishes[:, None] & (professions == FISH_MATERIAL.profession)
    gained = (jnp.where(by_standing, harvest_xp(column("drop"), params)[:, None], 0)
              + jnp.where(by_fishing, harvest_xp(fish_kind, params)[:, None], 0))

    taken = first_on < a  # only standers write a slot, so these are harvested standing tiles
    tiles = jnp.where(taken, tiles + 1, tiles)
    tiles = jnp.where(fished, jnp.int8(FISH_MATERIAL.tile + 1), tiles).astype(jnp.int8)
    count = lambda *flags: sum(f.astype(jnp.int32) for f in flags)
    info = {"items_in": count(kept_fish, kept_drop, kept_weapon),
            "harvest_lost": count(lost_fish, lost_drop, lost_weapon),
            "harvested": by_standing | by_fishing}
    return state.replace(tiles=tiles, items=items.replace(prof_xp=items.prof_xp + gained)), info
