"""Foraging food and water (docs/rules.md §3.3) on hand-built scenes."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from tests.conftest import SCENE, act, run, scene


def test_forage_worked_example():
    # Food 3, water 3, on a forest next to water, hunting and fishing level 10.
    s = scene([dict(slot=0, pos=(10, 10), food=3, water=3)],
              tiles={(10, 10): nj.FOREST, (10, 11): nj.WATER})
    xp0 = np.asarray(s.agents.xp[0])
    _, s, *_ = run(s)
    assert int(s.agents.food[0]) == 7 and int(s.agents.water[0]) == 7
    assert int(s.tiles[10, 10]) == nj.SCRUB
    gained = np.asarray(s.agents.xp[0]) - xp0
    assert gained[nj.HUNTING] == 50 and gained[nj.FISHING] == 50
    _, s, *_ = run(s, seed=1)
    assert int(s.agents.food[0]) == 6 and int(s.agents.water[0]) == 10


def test_only_eaten_forest_changes():
    # Regression: agents not eating once wrote SCRUB onto the map's last row
    # (index -1 wraps in JAX); every tile but the eaten forest must stay put.
    n = SCENE.map_size
    s = scene([dict(slot=0, pos=(10, 10), food=3), dict(slot=1, pos=(12, 7))],
              tiles={(10, 10): nj.FOREST, (n - 1, 7): nj.FOREST, (n - 1, 10): nj.FOREST})
    before = np.asarray(s.tiles).copy()
    _, s, *_ = run(s)
    changed = np.argwhere(np.asarray(s.tiles) != before)
    assert changed.tolist() == [[10, 10]]


def test_lowest_slot_eats_shared_forest():
    s = scene([dict(slot=3, pos=(10, 10), food=2), dict(slot=1, pos=(10, 10), food=2)],
              tiles={(10, 10): nj.FOREST})
    _, s, *_ = run(s)
    assert int(s.agents.food[1]) == 6 and int(s.agents.food[3]) == 1


@pytest.mark.parametrize("size", [3, 4])  # 7 entries: 49 > 4 * 3^2 takes the grid, 49 <= 4 * 4^2 the pairs
def test_lowest_on_tile_by_pairs_and_by_the_grid(size):
    from nmmo_jax.grid import lowest_on_tile
    pos = jnp.array([[1, 1], [2, 2], [1, 1], [2, 2], [1, 1], [-1, 0], [0, 2]], jnp.int32)
    who = jnp.array([False, True, True, True, True, False, True])  # entry 5 is off the map
    got = jax.jit(lowest_on_tile, static_argnums=2)(pos, who, size)
    assert np.asarray(got).tolist() == [False, True, True, False, False, False, True]


def test_masked_cells_write_only_the_chosen_cells():
    # Unchosen entries, one at row -1 (which would wrap onto the last row), write nothing.
    from nmmo_jax.grid import masked_cells
    pos = jnp.array([[0, 0], [-1, 2], [2, 1], [1, 1]], jnp.int32)
    which = jnp.array([True, False, False, True])
    out = jnp.zeros((3, 3), jnp.int8).at[masked_cells(pos, which, 3)].set(7, mode="drop")
    assert np.argwhere(np.asarray(out) == 7).tolist() == [[0, 0], [1, 1]]
