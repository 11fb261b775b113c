"""Decay, heal and starve (docs/rules.md §3.3-3.4) on hand-built scenes."""
import numpy as np

import nmmo_jax as nj
from tests.conftest import SCENE, act, run, scene


def test_decay_stops_at_zero():
    s = scene([dict(slot=0, pos=(10, 10), food=1, water=0, health=10)])
    _, s, *_ = run(s)
    assert int(s.agents.food[0]) == 0 and int(s.agents.water[0]) == 0


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
