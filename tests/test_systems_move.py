"""Movement (docs/rules.md §3.5) on hand-built scenes."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.systems.skills import level, xp_table
from tests.conftest import SCENE, act, jit_step, run, scene


@pytest.mark.parametrize("move,expected", [(1, (9, 10)), (2, (11, 10)), (3, (10, 11)),
                                           (4, (10, 9)), (0, (10, 10)), (7, (10, 10)),
                                           (-1, (10, 10))])
def test_moves(move, expected):
    s = scene([dict(slot=0, pos=(10, 10))])
    _, s, *_ = run(s, act(move={0: move}))
    assert tuple(np.asarray(s.agents.pos[0])) == expected


def test_blocked_by_water_stone_edge():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(0, 5))],
              tiles={(9, 10): nj.WATER, (11, 10): nj.STONE})
    for move in (1, 2):
        _, out, *_ = run(s, act(move={0: move}))
        assert tuple(np.asarray(out.agents.pos[0])) == (10, 10)
    _, out, *_ = run(s, act(move={1: 1}))  # off the map
    assert tuple(np.asarray(out.agents.pos[1])) == (0, 5)
