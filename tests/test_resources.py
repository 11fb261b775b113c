"""Decay, forage, heal and starve (docs/rules.md §3.3-3.4) on hand-built scenes."""
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


def test_decay_stops_at_zero():
    s = scene([dict(slot=0, pos=(10, 10), food=1, water=0, health=10)])
    _, s, *_ = run(s)
    assert int(s.agents.food[0]) == 0 and int(s.agents.water[0]) == 0


def test_lowest_slot_eats_shared_forest():
    s = scene([dict(slot=3, pos=(10, 10), food=2), dict(slot=1, pos=(10, 10), food=2)],
              tiles={(10, 10): nj.FOREST})
    _, s, *_ = run(s)
    assert int(s.agents.food[1]) == 6 and int(s.agents.food[3]) == 1


def test_heal_threshold():
    # Max food/water 10: heal needs food > 5 and water > 5 after decay.
    fed = scene([dict(slot=0, pos=(10, 10), food=7, water=7, health=5)])
    _, fed, *_ = run(fed)
    assert int(fed.agents.health[0]) == 6  # floor(0.1 * 10) = 1
    hungry = scene([dict(slot=0, pos=(10, 10), food=6, water=7, health=5)])
    _, hungry, *_ = run(hungry)  # food decays to 5, not > 5
    assert int(hungry.agents.health[0]) == 5
    full = scene([dict(slot=0, pos=(10, 10), food=9, water=9, health=10)])
    _, full, *_ = run(full)
    assert int(full.agents.health[0]) == 10


def test_starve_and_thirst():
    one = scene([dict(slot=0, pos=(10, 10), food=0, water=9, health=5)])
    _, one, *_ = run(one)
    assert int(one.agents.health[0]) == 4
    both = scene([dict(slot=0, pos=(10, 10), food=1, water=1, health=5)])
    _, both, *_ = run(both)  # both reach 0 this tick
    assert int(both.agents.health[0]) == 3


def test_starvation_death_cause():
    s = scene([dict(slot=2, pos=(10, 10), food=0, water=0, health=2, time_alive=40)])
    _, s, reward, done, info = run(s)
    assert bool(done[2]) and float(reward[2]) == -1.0
    assert int(info["lifetime"][2]) == 41
    assert int(info["death_cause"][2]) == nj.CAUSE_STARVATION
    assert not bool(s.agents.alive[2])


def test_regrowth_rate():
    cfg = nj.Config.small(spawn_per_tick=0, map_size=64)
    s = scene([], config=cfg, fill=nj.SCRUB)
    _, s, *_ = run(s, act(cfg), config=cfg)
    rate = float(np.mean(np.asarray(s.tiles) == nj.FOREST))
    assert abs(rate - 0.025) < 0.008, rate  # 4096 tiles: std about 0.0024
