"""Map generation (docs/rules.md §1): ridged multifractal simplex noise -> tile types.

Pure JAX: `generate(key, config)` is jit- and vmap-able over keys.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .config import Config
from .params import Params, resolve
from .state import FOREST, GRASS, LAVA, STONE, WATER

# A fixed lattice hash (period 256); maps differ by their random offsets.
_PERM = np.random.default_rng(1300).permutation(256)
_PERM = jnp.asarray(np.concatenate([_PERM, _PERM]), dtype=jnp.int32)
_GRADIENTS = jnp.asarray(
    [(1, 1), (-1, 1), (1, -1), (-1, -1), (1, 0), (-1, 0),
     (0, 1), (0, -1), (1, 0), (-1, 0), (0, 1), (0, -1)], dtype=jnp.float32)
_F2 = 0.5 * (math.sqrt(3.0) - 1.0)
_G2 = (3.0 - math.sqrt(3.0)) / 6.0


def simplex2d(x: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
    """2-D simplex noise in about [-1, 1]; x, y float32 of any (equal) shape."""
    skew = (x + y) * _F2
    i = jnp.floor(x + skew)
    j = jnp.floor(y + skew)
    unskew = (i + j) * _G2
    x0 = x - (i - unskew)
    y0 = y - (j - unskew)
    upper = x0 > y0  # which triangle of the skewed cell
    i1 = upper.astype(jnp.float32)
    j1 = 1.0 - i1
    corners = (
        (x0, y0, 0, 0),
        (x0 - i1 + _G2, y0 - j1 + _G2, i1.astype(jnp.int32), j1.astype(jnp.int32)),
        (x0 - 1.0 + 2.0 * _G2, y0 - 1.0 + 2.0 * _G2, 1, 1),
    )
    ii = i.astype(jnp.int32) & 255
    jj = j.astype(jnp.int32) & 255
    total = jnp.zeros_like(x)
    for cx, cy, di, dj in corners:
        g = _GRADIENTS[_PERM[ii + di + _PERM[jj + dj]] % 12]
        falloff = jnp.maximum(0.5 - cx * cx - cy * cy, 0.0)
        total = total + falloff ** 4 * (g[..., 0] * cx + g[..., 1] * cy)
    return 70.0 * total


def height_map(key: jax.Array, config: Config, params: Params) -> jnp.ndarray:
    """Ridged multifractal height [H, W] float32, normalised to max 1."""
    n = config.map_size
    coords = jnp.arange(n, dtype=jnp.float32) / n - 0.5
    rows, cols = jnp.meshgrid(coords, coords, indexing="ij")
    # Offsets modulo the lattice period (256) are as good as any larger range.
    offsets = jax.random.uniform(key, (config.noise_octaves, 2), maxval=256.0)
    height = jnp.zeros((n, n), jnp.float32)
    running = jnp.zeros((n, n), jnp.float32)
    for octave in range(config.noise_octaves):
        freq = params.noise_frequency * 2.0 ** octave
        s = simplex2d(rows * freq + offsets[octave, 0], cols * freq + offsets[octave, 1])
        ridge = 1.0 - jnp.abs(jnp.clip(s * params.noise_scale, -1.0, 1.0))  # = 1 - |2n - 1| with n = (s + 1) / 2
        term = ridge * params.noise_persistence ** octave
        if octave > 0:
            term = term * running
        running = running + term
        height = height + term
    return height / jnp.max(height)


def generate(key: jax.Array, config: Config, params: Params | None = None) -> jnp.ndarray:
    """Tile types [H, W] int8: lava border, grass spawn ring, noise interior.

    params: the noise and threshold numbers (None: `default_params(config)`).
    """
    params = resolve(params, config)
    n, b = config.map_size, config.border
    h = height_map(key, config, params)
    tiles = jnp.where(h < params.water_threshold, WATER,
            jnp.where(h < params.grass_threshold, GRASS,
            jnp.where(h < params.forest_threshold, FOREST, STONE)))
    idx = jnp.arange(n)
    inside = (idx >= b) & (idx < n - b)
    interior = (idx > b) & (idx < n - 1 - b)
    inside2 = inside[:, None] & inside[None, :]
    interior2 = interior[:, None] & interior[None, :]
    tiles = jnp.where(interior2, tiles, jnp.where(inside2, GRASS, LAVA))
    return tiles.astype(jnp.int8)


def square_cell(index: jnp.ndarray, lo: jnp.ndarray | int, side: jnp.ndarray | int
                ) -> jnp.ndarray:
    """(row, col) int32 [..., 2] of cell `index` [...] in [0, 4 side) on the
    border of the square from (lo, lo) to (lo + side, lo + side): clockwise
    from the top-left corner, `side` cells per edge, each edge ending just
    before the next corner. side must be at least 1."""
    edge, step = index // side, index % side
    hi = lo + side
    edges = [edge == 0, edge == 1, edge == 2]  # else the left edge
    row = jnp.select(edges, [lo, lo + step, hi], hi - step)
    col = jnp.select(edges, [lo + step, hi, hi - step], lo)
    return jnp.stack([row, col], axis=-1).astype(jnp.int32)


def ring_cell(index: jnp.ndarray, config: Config) -> jnp.ndarray:
    """(row, col) int32 [..., 2] of spawn-ring cell `index` in [0, num_ring_cells)."""
    return square_cell(index, config.border, config.ring_side - 1)
