"""Regrowth (docs/rules.md §3.8): each scrub tile becomes forest with probability regrow_prob."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import rng
from ..params import Params
from ..state import FOREST, SCRUB, State


def regrowth(key: jax.Array, state: State, params: Params) -> State:
    """key: a PRNG key or a uint32 seed. One hashed draw per tile (a dense
    jax.random draw over the map costs several times the rest of the tick)."""
    seed = rng.seed_of(key)
    cells = jnp.arange(state.tiles.size, dtype=jnp.uint32).reshape(state.tiles.shape)
    grows = (state.tiles == SCRUB) & (rng.bits(seed, cells) < rng.threshold(params.regrow_prob))
    return state.replace(tiles=jnp.where(grows, jnp.int8(FOREST), state.tiles))
