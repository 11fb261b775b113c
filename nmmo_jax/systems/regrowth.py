"""Regrowth (docs/rules.md §3.8): each scrub tile becomes forest with probability
regrow_prob; with professions on (§10.6) each harvested resource tile regrows too."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import rng
from ..params import Params
from ..resources import MATERIALS
from ..state import FOREST, SCRUB, State


def regrowth(key: jax.Array, state: State, params: Params, professions: bool = False) -> State:
    """key: a PRNG key or a uint32 seed. One hashed draw per tile (a dense
    jax.random draw over the map costs several times the rest of the tick).

    With `professions` (static) each depleted resource tile (slag, stump,
    fragment, weeds, ocean) also becomes its material again with the
    material's respawn chance (nmmo 2.1.2 `Tile.step`), decided by the same
    draw: a tile is scrub or one depleted material, never two, so each tile
    still meets one chance with one draw, and hashing the map once more would
    cost as much again.
    """
    seed = rng.seed_of(key)
    cells = jnp.arange(state.tiles.size, dtype=jnp.uint32).reshape(state.tiles.shape)
    bits = rng.bits(seed, cells)
    tiles = state.tiles
    grown = jnp.where((tiles == SCRUB) & (bits < rng.threshold(params.regrow_prob)),
                      jnp.int8(FOREST), tiles)
    if professions:  # a compare per material: a table gather per tile is dearer on CPU
        for m in MATERIALS:
            grows = (tiles == m.tile + 1) & (bits < rng.threshold(getattr(params, m.respawn)))
            grown = jnp.where(grows, jnp.int8(m.tile), grown)
    return state.replace(tiles=grown)
