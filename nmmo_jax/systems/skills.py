"""Experience and levels (docs/rules.md §2): the RuneScape table, capped at 99."""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from ..config import Config
from ..params import Params
from ..state import CONSTITUTION, FISHING, HUNTING, NUM_SKILLS


def xp_table(max_level: int = 99) -> np.ndarray:
    """T(L) for L = 1..max_level as int64 [max_level]: XP needed for level L."""
    points, table = 0, []
    for level in range(1, max_level + 1):
        table.append(points // 4)
        points += math.floor(level + 300 * 2 ** (level / 7))
    return np.asarray(table, dtype=np.int64)


XP_TABLE = xp_table(99)  # int64 [99]: XP_TABLE[L - 1] = T(L)


# T(L) grows like 75 (2^(L/7) - 2^(1/7)) / (2^(1/7) - 1); inverting that guesses the
# level within one of the truth for every xp up to T(99) (checked in tests).
_GROWTH = 2.0 ** (1 / 7)


def level(xp: jnp.ndarray, config: Config) -> jnp.ndarray:
    """Level (int32, same shape as xp): the largest L with T(L) <= xp, capped.

    A closed-form guess corrected by one table comparison each way (a binary
    search is a loop of gathers, several times dearer on CPU).
    """
    top = config.max_level
    # by_level[L] = T(L) for L = 1..top; by_level[top + 1] is past every int32 xp.
    by_level = jnp.asarray(np.concatenate([[0], XP_TABLE[:top], [2 ** 31 - 1]]), dtype=jnp.int32)
    x = jnp.maximum(xp, 0)
    guess = 7.0 * jnp.log2(x.astype(jnp.float32) * ((_GROWTH - 1) / 75) + _GROWTH)
    guess = jnp.clip(jnp.floor(guess).astype(jnp.int32), 1, top)
    guess = guess + ((x >= by_level[guess + 1]) & (guess < top))
    return guess - (x < by_level[guess])


def start_xp(params: Params) -> jnp.ndarray:
    """XP [NUM_SKILLS] int32 of a freshly spawned agent."""
    start = {CONSTITUTION: params.constitution_start_level, FISHING: params.fishing_start_level,
             HUNTING: params.hunting_start_level}
    levels = jnp.stack([jnp.asarray(start.get(s, params.combat_start_level), jnp.int32)
                        for s in range(NUM_SKILLS)])
    return jnp.asarray(XP_TABLE, dtype=jnp.int32)[levels - 1]


def max_vitals(levels: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """(max health, max food, max water) [...] from levels [..., NUM_SKILLS]:
    the constitution, hunting and fishing levels (docs/rules.md §2)."""
    return levels[..., CONSTITUTION], levels[..., HUNTING], levels[..., FISHING]


def max_vitals_from_xp(xp: jnp.ndarray, config: Config) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """max_vitals(level(xp)) for xp [..., NUM_SKILLS], levelling only the three
    columns it reads (the systems that need no other level skip four table lookups)."""
    health_xp, food_xp, water_xp = max_vitals(xp)
    return level(health_xp, config), level(food_xp, config), level(water_xp, config)


PROFESSION_LEVEL_MAX = 10  # nmmo 2.1.2's PROGRESSION_LEVEL_MAX


def profession_level(prof_xp: jnp.ndarray, params: Params) -> jnp.ndarray:
    """Profession levels (int32, same shape as prof_xp [..., 5]), 1 .. PROFESSION_LEVEL_MAX.

    nmmo 2.1.2's table `default_exp_threshold(90, 10)`: level L + 1 needs
    sum over l = 1..L of round(base * sqrt(l)) XP (base
    `Params.profession_xp_base`; 90: 0, 90, 217, 373, 553, ...).
    """
    steps = jnp.round(params.profession_xp_base
                      * jnp.sqrt(jnp.arange(1, PROFESSION_LEVEL_MAX, dtype=jnp.float32)))
    above_one = jnp.cumsum(steps.astype(jnp.int32))  # XP of levels 2 .. max
    return 1 + jnp.sum(prof_xp[..., None] >= above_one, axis=-1, dtype=jnp.int32)
