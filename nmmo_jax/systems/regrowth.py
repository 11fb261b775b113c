"""Regrowth (docs/rules.md §3.8): each scrub tile becomes forest with probability
regrow_prob; with professions on (§10.6) each harvested resource tile regrows too."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import rng
from ..params import Params
from ..resources import MATERIALS, STREAM_RESOURCE_REGROWTH
from ..state import FOREST, SCRUB, State


def regrowth(key: jax.Array, state: State, params: Params) -> State:
    """key: a PRNG key or a uint32 seed. One hashed draw per tile (a dense
    jax.random draw over the map costs several times the rest of the tick)."""
    seed = rng.seed_of(key)
    cells = jnp.arange(state.tiles.size, dtype=jnp.uint32).reshape(state.tiles.shape)
    grows = (state.tiles == SCRUB) & (rng.bits(seed, cells) < rng.threshold(params.regrow_prob))
    return state.replace(tiles=jnp.where(grows, jnp.int8(FOREST), state.tiles))


def resource_regrowth(key: jax.Array, state: State, params: Params) -> State:
    """Each depleted resource tile (slag, stump, fragment, weeds, ocean) becomes its
    material again with the material's respawn chance (nmmo 2.1.2 `Tile.step`).

    key: the step's items seed (`rng.stream(seed, rng.STREAM_ITEMS)`) or any
    PRNG key; its own sub-stream, so `regrowth`'s draws are unchanged. One
    hashed draw per tile; only run with `Config.professions` on.
    """
    seed = rng.stream(rng.seed_of(key), STREAM_RESOURCE_REGROWTH)
    cells = jnp.arange(state.tiles.size, dtype=jnp.uint32).reshape(state.tiles.shape)
    bits = rng.bits(seed, cells)
    tiles = state.tiles
    for m in MATERIALS:  # a compare per material: a table gather per tile is dearer on CPU
        grows = (state.tiles == m.tile + 1) & (bits < rng.threshold(getattr(params, m.respawn)))
        tiles = jnp.where(grows, jnp.int8(m.tile), tiles)
    return state.replace(tiles=tiles)
