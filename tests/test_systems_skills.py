"""Skill levels and XP (docs/rules.md §2)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.systems.skills import level, xp_table
from tests.conftest import SCENE, act, jit_step, run, scene


def test_xp_table():
    t = xp_table()
    assert (t[1], t[2], t[9], t[19], t[49], t[98]) == (83, 174, 1154, 4470, 101333, 13034431)
    lv = level(jnp.array([0, 82, 83, 1153, 1154, 13034430, 13034431, 2**31 - 1]), SCENE)
    assert lv.tolist() == [1, 1, 2, 9, 10, 98, 99, 99]
