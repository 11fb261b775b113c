"""Navigation features: shortest in-window paths to food and to water.

For every agent and each goal (GOALS): the walking distance from its cell to
the nearest goal cell, and which of the four moves start a shortest path.

* food: a forest no other agent stands on (one forest feeds one agent per
  tick, docs/rules.md §3.3; a forest under the agent itself counts: it eats
  it next tick);
* water: a walkable cell 4-adjacent to water (the agent drinks there).

Paths go over grass, scrub and forest (and, with professions, the resource
tiles one can stand on), 4-neighbour steps; lava and the tiles nobody can
enter (water and stone, docs/rules.md §1; fish and ocean, §10.6) block them,
and so does the window's edge (cells off the map read as lava). Paths longer than `max_steps` count as unreachable.

The search runs from the goal cells on bit rows: window row r is one uint32
whose bit c is cell (r, c), so one breadth-first step over a whole window is
a few shifts and ORs per row, cheap enough to run once per tick for every
agent. The network reads the result (`features`) instead of learning to
search; PPO stores it in the rollout so the epochs do not recompute it.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

import nmmo_jax as nj
from nmmo_jax.systems.move import blocking_tiles

GOALS = ("food", "water")
UNREACHABLE = 255  # distance of a goal that no path of at most max_steps reaches
# Per goal: reachable (0/1), distance (max_steps + 1 when unreachable), and
# for N, S, E, W whether that move starts a shortest path (0/1).
FEATURES_PER_GOAL = 2 + len(nj.MOVE_DELTAS) - 1


def walkable(tiles: jnp.ndarray, professions: bool = False) -> jnp.ndarray:
    """Cells a path may cross: all but lava and the tiles nobody can enter
    (`blocking_tiles`: water and stone; with professions also fish and ocean),
    so grass, scrub, forest and the other resource tiles. int tiles [..., V, V] -> bool."""
    return ~jnp.isin(tiles, jnp.asarray((nj.LAVA,) + blocking_tiles(professions), tiles.dtype))


def goal_cells(tiles: jnp.ndarray, tile_agents: jnp.ndarray,
               professions: bool = False) -> jnp.ndarray:
    """bool [..., 2, V, V]: the food and water goal cells of each window (module
    docstring). tiles, tile_agents [..., V, V] with the observer at the centre."""
    v = tiles.shape[-1] // 2
    alone = jnp.zeros(tiles.shape[-2:], tile_agents.dtype).at[v, v].set(1)  # the observer's count
    food = (tiles == nj.FOREST) & (tile_agents <= alone)
    water = jnp.pad(tiles == nj.WATER, [(0, 0)] * (tiles.ndim - 2) + [(1, 1), (1, 1)])
    near_water = (water[..., :-2, 1:-1] | water[..., 2:, 1:-1]
                  | water[..., 1:-1, :-2] | water[..., 1:-1, 2:])
    return jnp.stack([food, near_water & walkable(tiles, professions)], axis=-3)


def _bit_rows(cells: jnp.ndarray) -> jnp.ndarray:
    """bool [..., G, V, V] -> uint32 [..., V]: bit 16 g + c of row r is cell (r, c)
    of goal plane g (G <= 2, V <= 15: bit 15 of each half stays 0)."""
    g, v = cells.shape[-3], cells.shape[-1]
    shift = 16 * jnp.arange(g, dtype=jnp.uint32)[:, None] + jnp.arange(v, dtype=jnp.uint32)
    bits = jnp.where(cells, jnp.left_shift(jnp.uint32(1), shift)[:, None, :], jnp.uint32(0))
    return jnp.sum(bits, axis=(-3, -1), dtype=jnp.uint32)


def _grow(rows: jnp.ndarray, walk: jnp.ndarray) -> jnp.ndarray:
    """One breadth-first step: the cells of `rows` and their 4-neighbours, kept
    to `walk` (whose bits 15 and 31 are 0, so a shift never carries a cell
    into the other goal's half)."""
    zero = jnp.zeros_like(rows[..., :1])
    up = jnp.concatenate([rows[..., 1:], zero], axis=-1)
    down = jnp.concatenate([zero, rows[..., :-1]], axis=-1)
    return (rows | jnp.left_shift(rows, 1) | jnp.right_shift(rows, 1) | up | down) & walk


def move_distances(tiles: jnp.ndarray, tile_agents: jnp.ndarray, max_steps: int,
                   professions: bool = False) -> jnp.ndarray:
    """int32 [..., 2, 5]: per goal (GOALS) and move (nj.MOVE_DELTAS order, stay
    first), the walking distance from the cell the move leads to (the agent's
    own cell for stay) to the nearest goal cell; UNREACHABLE when that cell is
    not walkable or no path of at most max_steps steps exists.
    tiles, tile_agents [..., V, V] with the observer at the centre, V <= 15;
    professions: `Config.professions` (which tiles block, `walkable`)."""
    v = tiles.shape[-1] // 2
    if tiles.shape[-1] > 15 or max_steps > 254:
        raise ValueError(f"navigation: window {tiles.shape[-1]} > 15 or max_steps "
                         f"{max_steps} > 254 does not fit the 16-bit halves")
    both = jnp.uint32(0x10001)  # bit 0 of each goal's half
    walk = _bit_rows(walkable(tiles, professions)[..., None, :, :]) * both
    reached = _bit_rows(goal_cells(tiles, tile_agents, professions)) & walk  # [..., V]
    probes = [(v + dr, v + dc) for dr, dc in nj.MOVE_DELTAS]

    def step(_, carry):
        # A probe's distance is the number of steps before its bit first appears
        # (reached only grows): count the misses of both goals at once.
        reached, misses = carry
        miss = jnp.stack([~jnp.right_shift(reached[..., r], c) & both for r, c in probes], -1)
        return _grow(reached, walk), misses + miss

    misses = jnp.zeros(reached.shape[:-1] + (len(probes),), jnp.uint32)
    _, misses = jax.lax.fori_loop(0, max_steps + 1, step, (reached, misses))
    dist = jnp.stack([misses & 0xFFFF, jnp.right_shift(misses, 16)], axis=-2).astype(jnp.int32)
    return jnp.where(dist > max_steps, UNREACHABLE, dist)


def features(tiles: jnp.ndarray, tile_agents: jnp.ndarray, max_steps: int,
             professions: bool = False) -> jnp.ndarray:
    """uint8 [..., 2 * FEATURES_PER_GOAL]: per goal, reachable, distance from the
    agent (max_steps + 1 when unreachable) and one 0/1 per move N, S, E, W that
    starts a shortest path. tiles, tile_agents [..., V, V]."""
    dist = move_distances(tiles, tile_agents, max_steps, professions)
    here = dist[..., :1]
    reachable = here < UNREACHABLE
    toward = reachable & (dist[..., 1:] + 1 == here)
    out = jnp.concatenate([reachable, jnp.minimum(here, max_steps + 1), toward], axis=-1)
    return out.reshape(out.shape[:-2] + (-1,)).astype(jnp.uint8)
