"""Decay and forage (docs/rules.md §3.3): eat from forests, drink next to water."""
from __future__ import annotations

import jax.numpy as jnp

from ..config import Config
from ..grid import lowest_on_tile, masked_cells
from ..params import Params
from ..state import FISHING, FOREST, HUNTING, SCRUB, State, WATER
from .skills import max_vitals_from_xp


def adjacent_to_water(tiles: jnp.ndarray, pos: jnp.ndarray) -> jnp.ndarray:
    """[A] bool: a 4-neighbour of pos [A, 2] is water (off-map counts as not).

    Reads the four cells at clipped indices rather than padding the map: a pad
    is a pass over the whole map every tick."""
    h, w = tiles.shape
    r, c = pos[:, 0], pos[:, 1]
    water = lambda rr, cc, inside: inside & (
        tiles[jnp.clip(rr, 0, h - 1), jnp.clip(cc, 0, w - 1)] == WATER)
    return (water(r - 1, c, r > 0) | water(r + 1, c, r < h - 1)
            | water(r, c - 1, c > 0) | water(r, c + 1, c < w - 1))


def forage(state: State, active: jnp.ndarray, config: Config, params: Params) -> State:
    """Food and water decay, then drink and eat (lowest slot eats a shared forest)."""
    ag, tiles = state.agents, state.tiles
    a = config.num_agents
    r, c = ag.pos[:, 0], ag.pos[:, 1]
    _, max_food, max_water = max_vitals_from_xp(ag.xp, config)  # the hunting and fishing levels
    food = jnp.where(active, jnp.maximum(ag.food - params.food_decay, 0), ag.food)
    water = jnp.where(active, jnp.maximum(ag.water - params.water_decay, 0), ag.water)

    drinks = active & adjacent_to_water(tiles, ag.pos)
    drink_gain = jnp.floor(params.drink_fraction * max_water).astype(jnp.int32)
    water_gain = jnp.where(drinks, jnp.minimum(max_water - water, drink_gain), 0)
    water_gain = jnp.maximum(water_gain, 0)

    on_forest = active & (tiles[r, c] == FOREST)
    eats = lowest_on_tile(ag.pos, on_forest, tiles.shape[0])
    eat_gain = jnp.floor(params.eat_fraction * max_food).astype(jnp.int32)
    food_gain = jnp.maximum(jnp.where(eats, jnp.minimum(max_food - food, eat_gain), 0), 0)
    tiles = tiles.at[masked_cells(ag.pos, eats, tiles.shape[0])].set(SCRUB, mode="drop")

    xp = ag.xp.at[:, FISHING].add(params.xp_fishing_per_water * water_gain)
    xp = xp.at[:, HUNTING].add(params.xp_hunting_per_food * food_gain)
    return state.replace(tiles=tiles, agents=ag.replace(
        food=food + food_gain, water=water + water_gain, xp=xp))
