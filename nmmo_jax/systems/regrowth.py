"""Regrowth (RULES.md §3.8): each scrub tile becomes forest with probability regrow_prob."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ..config import Config
from ..state import FOREST, SCRUB, State


def hash_uniform_bits(seed: jnp.ndarray, counter: jnp.ndarray) -> jnp.ndarray:
    """uint32 hash of (seed, counter): cheap per-tile randomness (a dense
    jax.random draw over the map costs several times the rest of the tick)."""
    x = counter.astype(jnp.uint32) * jnp.uint32(0x9E3779B9) + seed
    x = (x ^ (x >> 16)) * jnp.uint32(0x7FEB352D)
    x = (x ^ (x >> 15)) * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def regrowth(key: jax.Array, state: State, config: Config) -> State:
    seed = jax.random.bits(key, (), jnp.uint32)
    cells = jnp.arange(state.tiles.size, dtype=jnp.uint32).reshape(state.tiles.shape)
    threshold = jnp.uint32(min(int(config.regrow_prob * 2.0 ** 32), 2 ** 32 - 1))
    grows = (state.tiles == SCRUB) & (hash_uniform_bits(seed, cells) < threshold)
    return state.replace(tiles=jnp.where(grows, jnp.int8(FOREST), state.tiles))
