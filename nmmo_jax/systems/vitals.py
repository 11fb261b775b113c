"""Heal or starve (RULES.md §3.4)."""
from __future__ import annotations

import jax.numpy as jnp

from ..config import Config
from ..state import CONSTITUTION, FISHING, HUNTING, State
from .skills import level


def vitals(state: State, active: jnp.ndarray, config: Config) -> State:
    """Heal when fed and watered above half; lose health at zero food or water."""
    ag = state.agents
    max_health = level(ag.xp[:, CONSTITUTION], config)
    fed = (ag.food > level(ag.xp[:, HUNTING], config) // 2) & (
        ag.water > level(ag.xp[:, FISHING], config) // 2)
    heal = jnp.floor(config.heal_fraction * max_health).astype(jnp.int32)
    health = jnp.where(fed, ag.health + jnp.maximum(jnp.minimum(max_health - ag.health, heal), 0),
                       ag.health)
    health = health - config.starve_damage * (ag.food == 0) - config.thirst_damage * (ag.water == 0)
    health = jnp.maximum(health, 0)
    return state.replace(agents=ag.replace(health=jnp.where(active, health, ag.health)))
