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
from ..grid import lowest_on_tile, masked_cells
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
    """(near [A, 4, 2] int32, claims [A, 4] bool): the cells next to each agent
    (MOVE_DELTAS' four steps, possibly off the map) and whether the agent takes
    the fish tile there. Each fish tile goes to the lowest active slot next to it.

    nmmo's agents act in id order and each depletes every fish tile next to it
    (`harvest_adjacent`), so a tile is taken by its lowest neighbour.
    """
    size = tiles.shape[0]
    near = pos[:, None, :] + jnp.asarray(MOVE_DELTAS[1:], jnp.int32)[None]
    inside = jnp.all((near >= 0) & (near < size), axis=-1)
    cell = jnp.clip(near, 0, size - 1)
    fish = active[:, None] & inside & (tiles[cell[..., 0], cell[..., 1]] == FISH_MATERIAL.tile)
    # In slot order, then step order: the first entry on a tile is its lowest neighbour.
    claims = lowest_on_tile(near.reshape(-1, 2), fish.reshape(-1), size)
    return near, claims.reshape(fish.shape)


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

    near, fish_claimed = fish_claims(tiles, state.agents.pos, active)
    fishes = jnp.any(fish_claimed, axis=1)

    here = tiles[r, c]
    stands = active & jnp.isin(here, jnp.asarray([m.tile for m in STANDING], here.dtype))
    picks = lowest_on_tile(state.agents.pos, stands, config.map_size)
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

    # Harvested tiles become their depleted kind.
    size = config.map_size
    tiles = tiles.at[masked_cells(state.agents.pos, picks, size)].set(here + 1, mode="drop")
    tiles = tiles.at[masked_cells(near, fish_claimed, size)].set(
        jnp.int8(FISH_MATERIAL.tile + 1), mode="drop")
    count = lambda *flags: sum(f.astype(jnp.int32) for f in flags)
    info = {"items_in": count(kept_fish, kept_drop, kept_weapon),
            "harvest_lost": count(lost_fish, lost_drop, lost_weapon),
            "harvested": by_standing | by_fishing}
    return state.replace(tiles=tiles, items=items.replace(prof_xp=items.prof_xp + gained)), info
