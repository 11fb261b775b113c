"""Terrain generation (docs/rules.md §1)."""
import jax
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax import terrain


def test_map_layout_and_mix():
    cfg = nj.Config()
    maps = np.asarray(jax.jit(jax.vmap(lambda k: terrain.generate(k, cfg)))(
        jax.random.split(jax.random.PRNGKey(0), 16)))
    assert maps.dtype == np.int8
    lava = np.ones((80, 80), bool)
    lava[9:71, 9:71] = False
    assert (maps[:, lava] == nj.LAVA).all()
    for r, c in np.ndindex(80, 80):
        if 9 <= r <= 70 and 9 <= c <= 70 and (r in (9, 70) or c in (9, 70)):
            assert (maps[:, r, c] == nj.GRASS).all()
    inner = maps[:, 10:70, 10:70]
    mix = [float((inner == t).mean()) for t in (nj.WATER, nj.GRASS, nj.FOREST, nj.STONE)]
    for got, want in zip(mix, (0.08, 0.47, 0.28, 0.17)):
        assert abs(got - want) < 0.04, mix
    assert not (inner == nj.LAVA).any() and not (inner == nj.SCRUB).any()
    assert (maps[0] != maps[1]).mean() > 0.3  # different keys, different maps


def test_ring_cells_cover_perimeter():
    cfg = nj.Config()
    cells = np.asarray(terrain.ring_cell(np.arange(cfg.num_ring_cells), cfg))
    assert len({tuple(c) for c in cells}) == cfg.num_ring_cells
    assert all(max(abs(r - 39.5), abs(c - 39.5)) == 30.5 for r, c in cells)
