"""Death by lava and in combat (docs/rules.md §3.7) on hand-built scenes."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.systems.skills import level, xp_table
from tests.conftest import SCENE, act, jit_step, run, scene

SURE = nj.default_params(SCENE, hit_base=1.0)  # every attack hits


@pytest.mark.slow
def test_lava_death_same_tick():
    s = scene([dict(slot=5, pos=(10, 10), time_alive=7)], tiles={(10, 11): nj.LAVA})
    _, s, reward, done, info = run(s, act(move={5: nj.EAST}))
    assert bool(done[5]) and float(reward[5]) == -1.0
    assert not bool(info["alive"][5]) and int(info["lifetime"][5]) == 8
    assert int(info["death_cause"][5]) == nj.CAUSE_LAVA
    assert float(jnp.abs(reward).sum()) == 1.0 and int(done.sum()) == 1


def test_mutual_kill_same_tick():
    s = scene([dict(slot=0, pos=(10, 10), health=3), dict(slot=1, pos=(10, 11), health=2)])
    acts = act(style={0: nj.MELEE, 1: nj.MELEE}, target={0: 1, 1: 0})
    _, s, reward, done, info = run(s, acts, params=SURE)
    assert bool(done[0]) and bool(done[1])
    assert (info["death_cause"][:2] == nj.CAUSE_COMBAT).all()
    assert reward[:2].tolist() == [-1.0, -1.0]
