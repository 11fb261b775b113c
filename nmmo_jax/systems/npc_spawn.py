"""NPC spawn (docs/rules.md §9.1): refill empty NPC slots; kind and level by danger.

nmmo 2.1.2's rule (nmmo/systems/combat.py `danger`, nmmo/entity/npc.py
`default_spawn`, nmmo/entity/npc_manager.py): a cell's danger is
2 × its distance from the edge of the playable square / the square's side,
0 on the edge where agents spawn and about 1 at the centre; it sets the
kind (hostile, neutral, passive by thresholds) and the level. A slot whose
NPC died respawns on a cell at the same danger, where nmmo queues the dead
NPC's danger.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import rng
from ..config import Config
from ..materialize import materialize
from ..params import Params
from ..state import HOSTILE, LAVA, NEUTRAL, NUM_STYLES, PASSIVE, Npcs, State
from ..terrain import square_cell
from .move import blocking_tiles


def empty_npcs(config: Config) -> Npcs:
    """N NPC slots that are all empty (alive False; no target, attacker or ring)."""
    n = config.num_npcs
    zeros, none = jnp.zeros(n, jnp.int32), jnp.full(n, -1, jnp.int32)
    return Npcs(alive=jnp.zeros(n, bool), pos=jnp.zeros((n, 2), jnp.int32), kind=zeros,
                level=zeros, style=zeros, health=zeros, freeze=zeros, damage=zeros,
                time_alive=zeros, target=none, attacker=none, ring=none)


def ring_distance(pos: jnp.ndarray, config: Config) -> jnp.ndarray:
    """int32 [...]: Chebyshev distance of pos [..., 2] from the spawn ring, inwards
    (0 on the ring, (ring_side - 1) // 2 at the centre, negative outside it)."""
    lo, hi = config.border, config.border + config.ring_side - 1
    return jnp.min(jnp.minimum(pos - lo, hi - pos), axis=-1).astype(jnp.int32)


def danger(ring: jnp.ndarray, config: Config) -> jnp.ndarray:
    """float32 [...]: 2 × ring distance / ring side (nmmo's `combat.danger`)."""
    return (2 * ring).astype(jnp.float32) / config.ring_side


def npc_level(ring: jnp.ndarray, config: Config, params: Params) -> jnp.ndarray:
    """int32 [...]: floor(danger × (max − min) + min), computed exactly in integers."""
    spread = params.npc_level_max - params.npc_level_min
    return params.npc_level_min + (2 * ring * spread) // config.ring_side


def npc_kind(ring: jnp.ndarray, config: Config, params: Params) -> jnp.ndarray:
    """int32 [...]: HOSTILE, NEUTRAL or PASSIVE by the first danger threshold
    reached (hostile first), 0 where the danger is below the passive one."""
    d = danger(ring, config)
    return jnp.where(d >= params.npc_hostile_danger, HOSTILE,
                     jnp.where(d >= params.npc_neutral_danger, NEUTRAL,
                               jnp.where(d >= params.npc_passive_danger, PASSIVE, 0))
                     ).astype(jnp.int32)


def square_ring_cell(u: jnp.ndarray, ring: jnp.ndarray, config: Config) -> jnp.ndarray:
    """(row, col) int32 [..., 2]: the cell at fraction u [...] in [0, 1) of the way
    round the square at Chebyshev distance `ring` [...] inside the spawn ring."""
    lo = config.border + ring
    side = config.ring_side - 2 * ring - 1  # cells per edge, clockwise from the top-left
    count = jnp.maximum(4 * side, 1)  # a ring of one cell at the centre of an odd square
    index = jnp.minimum(jnp.floor(u * count.astype(jnp.float32)).astype(jnp.int32), count - 1)
    # side 0 (one cell) walks a side-1 square: index 0 is its corner (lo, lo) either way.
    return square_cell(index, lo, jnp.maximum(side, 1))


def npc_spawn(seed: jnp.ndarray, state: State, config: Config, params: Params
              ) -> tuple[State, jnp.ndarray]:
    """Spawn attempts into empty NPC slots; returns (state, spawned [N] bool).

    seed: the NPC stream's uint32 seed. The first `npc_spawn_attempts`
    empty slots (in slot order) each try one cell: on their ring when they
    remember one (the slot's last NPC spawned there), else uniform over the
    playable square (the spawn ring and everything inside it). An attempt on
    lava or a tile nobody enters (`move.blocking_tiles`: water and stone, and
    fish and ocean with professions), or below the passive danger, spawns nothing and
    the slot forgets its ring (nmmo pops the queued danger the same way).
    A new NPC has the kind and level of its cell's danger, a uniform style,
    full health (`npc_health`) and no target.
    """
    npcs, n = state.npcs, config.num_npcs
    slots = jnp.arange(n, dtype=jnp.int32)
    empty = ~npcs.alive
    tries = empty & (jnp.cumsum(empty, dtype=jnp.int32) <= params.npc_spawn_attempts)

    side = config.ring_side
    # One draw: ring or square. Computed into a buffer of its own: fused into the
    # ring walk's select and the cell's uses, XLA would re-hash it for every read.
    u = materialize(rng.uniform(rng.stream(seed, rng.STREAM_NPC_CELLS), slots))
    anywhere = jnp.minimum(jnp.floor(u * (side * side)).astype(jnp.int32), side * side - 1)
    anywhere = config.border + jnp.stack([anywhere // side, anywhere % side], axis=-1)
    cell = jnp.where((npcs.ring >= 0)[:, None],
                     square_ring_cell(u, jnp.maximum(npcs.ring, 0), config), anywhere)
    ring = ring_distance(cell, config)
    kind = npc_kind(ring, config, params)
    tile = state.tiles[cell[:, 0], cell[:, 1]]
    spawned = tries & (kind > 0) & (tile != LAVA)
    for blocking in blocking_tiles(config.professions):  # water, stone (fish, ocean)
        spawned = spawned & (tile != blocking)

    style = rng.below(rng.stream(seed, rng.STREAM_NPC_STYLE), slots, NUM_STYLES)
    zeros, none = jnp.zeros(n, jnp.int32), jnp.full(n, -1, jnp.int32)
    fresh = Npcs(alive=jnp.ones(n, bool), pos=cell, kind=kind,
                 level=npc_level(ring, config, params), style=style,
                 health=jnp.full(n, params.npc_health, jnp.int32), freeze=zeros, damage=zeros,
                 time_alive=zeros, target=none, attacker=none, ring=ring)
    pick = lambda new, old: jnp.where(spawned.reshape((n,) + (1,) * (old.ndim - 1)), new, old)
    npcs = jax.tree.map(pick, fresh, npcs)
    npcs = npcs.replace(ring=jnp.where(tries & ~spawned, -1, npcs.ring))
    return state.replace(npcs=npcs), spawned
