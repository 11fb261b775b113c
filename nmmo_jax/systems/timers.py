"""Timers (docs/rules.md §3.2): immunity and freeze count down, time alive counts up."""
from __future__ import annotations

import jax.numpy as jnp

from ..state import State


def timers(state: State, active: jnp.ndarray) -> State:
    """active [A] bool: living agents that did not spawn this tick."""
    ag = state.agents
    tick = active.astype(jnp.int32)
    return state.replace(agents=ag.replace(
        immune=jnp.maximum(ag.immune - tick, 0),
        freeze=jnp.maximum(ag.freeze - tick, 0),
        time_alive=ag.time_alive + tick,
    ))
