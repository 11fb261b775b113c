"""Resource tiles with professions on (docs/rules.md §10.6): each material's tool,
drops, profession and regrowth, and where the materials lie at reset.

nmmo 2.1.2's materials (nmmo/lib/material.py) and placement
(nmmo/core/terrain.py `spawn_profession_resources`). Only read when
`Config.professions` is on.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import rng
from .config import Config
from .params import Params
from .state import (ALCHEMY, ARROW, AXE, BOW, CARVING, CHISEL, CRYSTAL, FISH, FISHING_PROF, GLOVES,
                    GRASS, HERB, HERBALISM, ORE, PICKAXE, POTION, PROSPECTING, RATION, ROD, RUNES,
                    SPEAR, TREE, WAND, WATER, WHETSTONE)

# Sub-streams of the items seed (rng.STREAM_ITEMS): placement at reset, the weapon
# drops of a harvest, the regrowth of harvested tiles. The items systems of
# docs/rules.md §10.7 use tags 21 and up.
STREAM_PLACE, STREAM_HARVEST_DROP, STREAM_RESOURCE_REGROWTH = 1, 2, 3


class Material(NamedTuple):
    """One harvestable material; its harvested (depleted) tile is `tile + 1`."""

    tile: int  # the full tile kind
    profession: int  # column of Items.prof_xp
    tool: int  # the held tool that raises the drop's level
    drop: int  # the item every harvest gives
    weapon: int  # the weapon it also gives with Params.weapon_drop_prob; 0: none
    respawn: str  # the Params field: chance per tick that the depleted tile regrows


# Standing materials first (in tile order, so material index = (tile - ORE) // 2),
# then fish, which is harvested from a neighbouring tile.
MATERIALS = (
    Material(ORE, PROSPECTING, PICKAXE, WHETSTONE, WAND, "ore_respawn"),
    Material(TREE, CARVING, AXE, ARROW, SPEAR, "tree_respawn"),
    Material(CRYSTAL, ALCHEMY, CHISEL, RUNES, BOW, "crystal_respawn"),
    Material(HERB, HERBALISM, GLOVES, POTION, 0, "herb_respawn"),
    Material(FISH, FISHING_PROF, ROD, RATION, 0, "fish_respawn"),
)
STANDING, FISH_MATERIAL = MATERIALS[:4], MATERIALS[4]


def neighbour_any(mask: jnp.ndarray) -> jnp.ndarray:
    """bool [H, W]: some 4-neighbour of the cell is True in mask [H, W] (off-map: False)."""
    p = jnp.pad(mask, 1)
    return p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:]


def place_resources(key: jax.Array, tiles: jnp.ndarray, config: Config, params: Params
                    ) -> jnp.ndarray:
    """Tiles [H, W] int8 with the materials placed on the interior (docs/rules.md §10.6).

    key: the reset's items seed (`rng.stream(rng.seed_of(key), rng.STREAM_ITEMS)`)
    or any PRNG key. In nmmo's order, each step on the tiles the one before
    left: ore, tree, then crystal clusters (a seed grass cell and its grass
    4-neighbours), herbs on single grass cells, fish on water cells with a
    grass 4-neighbour. Each eligible cell is drawn independently with the
    chance that makes the expected count the density times the interior's
    area (nmmo places exactly that count). jit- and vmap-able.
    """
    seed = rng.stream(rng.seed_of(key), STREAM_PLACE)
    n, b = config.map_size, config.border
    inner = (jnp.arange(n) > b) & (jnp.arange(n) < n - 1 - b)
    interior = inner[:, None] & inner[None, :]
    area = float((config.ring_side - 2) ** 2)
    cells = jnp.arange(n * n, dtype=jnp.uint32).reshape(n, n)

    def drawn(tag: int, eligible: jnp.ndarray, density: jnp.ndarray) -> jnp.ndarray:
        count = jnp.maximum(jnp.sum(eligible, dtype=jnp.int32), 1).astype(jnp.float32)
        chance = jnp.minimum(density * area / count, 1.0)
        return eligible & (rng.bits(rng.stream(seed, tag), cells) < rng.threshold(chance))

    # Sub-streams of the placement seed: 0-2 the ore, tree and crystal seeds, 3 herbs, 4 fish.
    for tag, material in enumerate(STANDING[:3]):  # the clustered materials
        grass = interior & (tiles == GRASS)
        seeds = drawn(tag, grass, params.resource_cluster_density)
        tiles = jnp.where(seeds | (grass & neighbour_any(seeds)), jnp.int8(material.tile), tiles)
    grass = interior & (tiles == GRASS)
    tiles = jnp.where(drawn(3, grass, params.herb_density), jnp.int8(HERB), tiles)
    shore = interior & (tiles == WATER) & neighbour_any(tiles == GRASS)
    return jnp.where(drawn(4, shore, params.fish_density), jnp.int8(FISH), tiles).astype(jnp.int8)
