"""Heal or starve (docs/rules.md §3.4)."""
from __future__ import annotations

import jax.numpy as jnp

from ..config import Config
from ..params import Params
from ..state import State
from .skills import max_vitals_from_xp


def vitals(state: State, active: jnp.ndarray, config: Config, params: Params) -> State:
    """Heal when fed and watered above half; lose health at zero food or water."""
    ag = state.agents
    max_health, max_food, max_water = max_vitals_from_xp(ag.xp, config)
    fed = (ag.food > max_food // 2) & (ag.water > max_water // 2)
    heal = jnp.floor(params.heal_fraction * max_health).astype(jnp.int32)
    health = jnp.where(fed, ag.health + jnp.maximum(jnp.minimum(max_health - ag.health, heal), 0),
                       ag.health)
    health = health - params.starve_damage * (ag.food == 0) - params.thirst_damage * (ag.water == 0)
    health = jnp.maximum(health, 0)
    return state.replace(agents=ag.replace(health=jnp.where(active, health, ag.health)))
