"""The tile grid as an index of agents: occupancy counts, windows, agents in tile order.

These turn "which agents are near me" into work proportional to the window,
not to the number of agents (docs/performance.md, "Design principles").
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .materialize import materialize
from .state import Agents


def occupancy(agents: Agents, size: int) -> jnp.ndarray:
    """Living agents per tile, int32 [size, size]."""
    pos = agents.pos
    return jnp.zeros((size, size), jnp.int32).at[pos[:, 0], pos[:, 1]].add(
        agents.alive.astype(jnp.int32), mode="drop")


def masked_cells(pos: jnp.ndarray, which: jnp.ndarray, size: int
                 ) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(rows, cols) int32 [...] to scatter onto a size x size map at pos [..., 2]
    where which [...] holds: the other entries get row `size`, one past the
    map, which a scatter with mode="drop" skips (a negative index would wrap
    onto the last row instead); columns are clipped onto the map."""
    return jnp.where(which, pos[..., 0], size), jnp.clip(pos[..., 1], 0, size - 1)


def lowest_on_tile(pos: jnp.ndarray, who: jnp.ndarray, size: int) -> jnp.ndarray:
    """bool [P]: entry p is in `who` and no lower entry in `who` is on its tile.

    pos [P, 2] int32 (entries outside `who` may lie off the map), who [P] bool,
    on a size x size map. The rule "the lowest slot on a tile goes first"
    (eating a forest, taking a resource, claiming a fish tile).

    Up to P^2 <= 4 size^2 every pair of entries is compared; beyond, each
    tile's lowest entry goes on a map. A map-sized scatter is several passes
    over the map (fill, copy, scatter, gather), dearer on CPU than the pairs
    until the entries outnumber twice the map's side.
    """
    p = pos.shape[0]
    order = jnp.arange(p, dtype=jnp.int32)
    if p * p <= 4 * size * size:
        same = (pos[:, None, 0] == pos[None, :, 0]) & (pos[:, None, 1] == pos[None, :, 1])
        earlier = who[None, :] & (order[None, :] < order[:, None])
        return who & ~jnp.any(same & earlier, axis=1)
    r, c = masked_cells(pos, who, size)
    lowest = jnp.full((size, size), p, jnp.int32).at[r, c].min(order, mode="drop")
    return who & (lowest[jnp.minimum(r, size - 1), c] == order)


def windows(grid: jnp.ndarray, pos: jnp.ndarray, radius: int, fill) -> jnp.ndarray:
    """The (2 radius + 1)^2 window of grid [H, W] centred on each pos [A, 2]: [A, V, V].

    Cells off the grid read as `fill`.
    """
    side = 2 * radius + 1
    padded = jnp.pad(grid, radius, constant_values=fill)
    crop = lambda p: jax.lax.dynamic_slice(padded, (p[0], p[1]), (side, side))
    return jax.vmap(crop)(pos)


def tile_order(agents: Agents, size: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Living agents sorted by (tile row-major, slot), dead slots last.

    Returns (tile [A], slot [A]) int32 in that order (tile = row * size + col,
    size * size for dead slots). The agents of a run of tiles of one map row
    are then a contiguous piece of it, starting at the `first_index` of the
    run's first occupied tile.
    """
    a = agents.alive.shape[0]
    tile = jnp.where(agents.alive, agents.pos[:, 0] * size + agents.pos[:, 1], size * size)
    slots = jnp.arange(a, dtype=jnp.int32)
    if (size * size + 1) * a < 2 ** 31:  # one packed int32 key sorts fastest
        packed = jax.lax.sort(tile.astype(jnp.int32) * a + slots)
        return packed // a, packed % a
    # Stable sort on the tile alone keeps equal tiles in slot order.
    return jax.lax.sort((tile.astype(jnp.int32), slots), num_keys=1, is_stable=True)


def first_index(sorted_tile: jnp.ndarray, size: int) -> jnp.ndarray:
    """[size, size] int32: position in tile order of each tile's first agent (A if empty)."""
    a = sorted_tile.shape[0]
    place = jnp.arange(a, dtype=jnp.int32)
    first = jnp.full(size * size, a, jnp.int32).at[sorted_tile].min(place, mode="drop")
    return first.reshape(size, size)


def bits(n: int) -> int:
    """Bits needed to store the integers 0..n."""
    return max(int(n).bit_length(), 1)


# Bits of a tile type in the packed grid: v1.3's 6 types need 3, the 16 of the
# resource tiles (Config.professions) 4.
V13_TILE_BITS, PROFESSION_TILE_BITS = 3, 4


def packs(num_agents: int, tile_bits: int = V13_TILE_BITS) -> bool:
    """Whether tile type (tile_bits), agent count and first index fit one int32 per tile."""
    return tile_bits + 2 * bits(num_agents) <= 31


def packed_grid(tiles: jnp.ndarray, sorted_tile: jnp.ndarray,
                tile_bits: int = V13_TILE_BITS) -> jnp.ndarray:
    """int32 [H, W]: tile type | count << t | first << (t + b), t = tile_bits, b = bits(A).

    count: living agents on the tile; first: position in tile order of its
    first agent (A if none). Built by one scatter-add of the agents in tile
    order onto the map, which also makes the grid a real buffer that the
    window crops read (see materialize.py).
    """
    a = sorted_tile.shape[0]
    shift = tile_bits + bits(a)
    place = jnp.arange(a, dtype=jnp.int32)
    starts = jnp.concatenate([jnp.ones(1, bool), sorted_tile[1:] != sorted_tile[:-1]])
    add = (1 << tile_bits) + jnp.where(starts, (place - a) << shift, 0)
    base = tiles.astype(jnp.int32) | (a << shift)
    flat = base.reshape(-1).at[sorted_tile].add(add, mode="drop")  # dead slots: out of range
    return flat.reshape(tiles.shape)


def unpack(window: jnp.ndarray, num_agents: int, tile_bits: int = V13_TILE_BITS
           ) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """(tile type, count, first index) int32 from a `packed_grid` window."""
    b = bits(num_agents)
    return (window & ((1 << tile_bits) - 1), (window >> tile_bits) & ((1 << b) - 1),
            window >> (tile_bits + b))


def square_radius(count_window: jnp.ndarray, need: int) -> jnp.ndarray:
    """Smallest Chebyshev radius whose square holds >= need agents, else the
    window radius: int32 [A]. count_window [V, V, A] (agents minor)."""
    v = count_window.shape[0] // 2
    band = count_window[:, v]  # [V, A]: per window row, the columns within d of the centre
    inside = band[v]
    short = jnp.zeros(inside.shape, jnp.int32)
    for d in range(1, v + 1):
        short = short + (inside < need)
        band = band + count_window[:, v - d] + count_window[:, v + d]
        inside = band[v]
        for i in range(1, d + 1):
            inside = inside + band[v - i] + band[v + i]
    return short + (inside < need)


def square_segments(count_window: jnp.ndarray, first_window: jnp.ndarray, radius: jnp.ndarray
                    ) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Where each observer's square of Chebyshev `radius` lies in tile order.

    count_window, first_window [V, V, A] (agents minor; windows of the agent
    counts and `first_index`, off-map cells 0 and A); radius [A] int32 <= V // 2.
    Returns (start [V, A], length [V, A]): window row i holds the agents at
    tile-order positions start .. start + length - 1 of the square (length 0
    outside it). Starts grow along the rows by at least the lengths.
    """
    v = count_window.shape[0] // 2
    length = count_window[:, v]
    start = first_window[:, v]
    for d in range(1, v + 1):
        use = radius >= d
        length = length + jnp.where(use, count_window[:, v - d] + count_window[:, v + d], 0)
        start = jnp.where(use, jnp.minimum(start, jnp.minimum(first_window[:, v - d],
                                                             first_window[:, v + d])), start)
    rows = np.abs(np.arange(2 * v + 1) - v)[:, None]
    return start, jnp.where(jnp.asarray(rows) <= radius[None, :], length, 0)


def gather_segments(start: jnp.ndarray, length: jnp.ndarray, count: int
                    ) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """The first `count` positions of the concatenated segments of each column.

    start, length [R, A] int32 with the starts increasing along R by at least
    the lengths (true of `square_segments`). Returns (place [count, A] into
    the tile order, valid [count, A] bool, total [A] int32 = sum of lengths).
    """
    low = jnp.iinfo(jnp.int32).min
    p = jnp.arange(count, dtype=jnp.int32)[:, None]
    # Computed into buffers first: fused into the loop below, XLA would
    # recompute the segments (and their windows) for every output element.
    length = materialize(length)
    before = materialize(jnp.cumsum(length, axis=0) - length)  # [R, A]: taken by earlier rows
    shift = materialize(jnp.where(length > 0, start - before, low))
    owner_shift = jnp.full((count,) + start.shape[1:], low, jnp.int32)
    # Shifts (start - before) grow along R, so position p belongs to the last
    # nonempty segment that starts at or before it.
    for i in range(start.shape[0]):
        owner_shift = jnp.maximum(owner_shift, jnp.where(before[i][None, :] <= p, shift[i][None, :], low))
    total = before[-1] + length[-1]
    valid = p < total[None, :]
    return materialize(jnp.where(valid, p + owner_shift, 0)), valid, total
