"""A tiny numpy renderer: the tile map with agents as squares in population colours.

A fallback for `ParallelEnv.render()` used only while `nmmo_jax.render` is
not available; it needs nothing but numpy.
"""
from __future__ import annotations

import colorsys

import numpy as np

import nmmo_jax as nj

# RGB per tile type, indexed as nmmo_jax.LAVA .. STONE.
TILE_COLOURS = np.array([
    [200, 40, 20],    # lava
    [40, 90, 200],    # water
    [110, 180, 70],   # grass
    [170, 150, 90],   # scrub
    [20, 100, 40],    # forest
    [125, 125, 125],  # stone
], np.uint8)


def population_colours(num_populations: int) -> np.ndarray:
    """uint8 [P, 3]: evenly spaced bright hues."""
    return np.array([[int(255 * c) for c in colorsys.hsv_to_rgb(p / num_populations, 0.9, 1.0)]
                     for p in range(num_populations)], np.uint8)


def fallback_frame(state: nj.State, config: nj.Config, scale: int = 4) -> np.ndarray:
    """uint8 [H * scale, W * scale, 3] picture of one world (not batched)."""
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale={scale!r}: must be an integer >= 1")
    tiles = np.asarray(state.tiles).astype(np.int64)
    frame = np.repeat(np.repeat(TILE_COLOURS[tiles], scale, 0), scale, 1)
    ag = state.agents
    alive = np.asarray(ag.alive)
    pos, pop = np.asarray(ag.pos)[alive], np.asarray(ag.population)[alive]
    colours = population_colours(config.num_populations)
    pad = scale // 4  # leave a margin of tile colour around each agent
    for (r, c), p in zip(pos, pop):  # host-side drawing, outside jit
        frame[r * scale + pad:(r + 1) * scale - pad, c * scale + pad:(c + 1) * scale - pad] = \
            colours[p % config.num_populations]
    return frame
