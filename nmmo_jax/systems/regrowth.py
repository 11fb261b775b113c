"""Regrowth (docs/rules.md §3.8): each scrub tile becomes forest with probability
regrow_prob; with professions on (§10.6) each harvested resource tile regrows too."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import rng
from ..params import Params
from ..resources import MATERIALS, STREAM_RESOURCE_REGROWTH
from ..state import FOREST, SCRUB, State


def regrowth(key: jax.Array, state: State, params: Params,
             resource_key: jax.Array | None = None) -> State:
    """key: a PRNG key or a uint32 seed: one hashed draw per scrub tile (a dense
    jax.random draw over the map costs several times the rest of the tick).

    resource_key (with `Config.professions` on): the step's items seed
    (`rng.stream(seed, rng.STREAM_ITEMS)`) or any PRNG key. Each depleted
    resource tile (slag, stump, fragment, weeds, ocean) then becomes its
    material again with the material's respawn chance (nmmo 2.1.2
    `Tile.step`), drawn from the items seed's own sub-stream. A tile is scrub
    or one depleted material, never both, so each tile's one hash takes the
    seed of its kind: the draws are those of two separate passes at the cost
    of one.
    """
    seed, tiles = rng.seed_of(key), state.tiles
    cells = jnp.arange(tiles.size, dtype=jnp.uint32).reshape(tiles.shape)
    scrub = tiles == SCRUB
    chance = jnp.where(scrub, rng.threshold(params.regrow_prob), jnp.uint32(0))  # 0: never
    regrown = jnp.int8(FOREST)
    if resource_key is not None:
        seed = jnp.where(scrub, seed, rng.stream(rng.seed_of(resource_key),
                                                 STREAM_RESOURCE_REGROWTH))
        for m in MATERIALS:  # a compare per material: a table gather per tile is dearer on CPU
            chance = jnp.where(tiles == m.tile + 1, rng.threshold(getattr(params, m.respawn)),
                               chance)
        regrown = jnp.where(scrub, regrown, tiles - jnp.int8(1))  # depleted: tile + 1
    return state.replace(tiles=jnp.where(rng.bits(seed, cells) < chance, regrown, tiles))
