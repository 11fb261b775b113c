"""Foraging food and water (docs/rules.md §3.3) on hand-built scenes."""
import numpy as np

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
