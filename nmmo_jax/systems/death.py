"""Death (docs/rules.md §3.7): health <= 0 or standing on lava ends the life this tick."""
from __future__ import annotations

import jax.numpy as jnp

from ..state import (CAUSE_COMBAT, CAUSE_LAVA, CAUSE_NONE, CAUSE_STARVATION, LAVA, State)


def death(state: State) -> tuple[State, jnp.ndarray, jnp.ndarray, dict]:
    """Returns (state, reward [A] f32, done [A] bool, info).

    info: alive [A] (after the tick), lifetime [A] int32 (the ended life's
    length, 0 elsewhere), death_cause [A] int32 (CAUSE_* values).
    """
    ag = state.agents
    on_lava = state.tiles[ag.pos[:, 0], ag.pos[:, 1]] == LAVA
    dies = ag.alive & ((ag.health <= 0) | on_lava)
    cause = jnp.where(on_lava, CAUSE_LAVA, jnp.where(ag.damage > 0, CAUSE_COMBAT, CAUSE_STARVATION))
    alive = ag.alive & ~dies
    info = {
        "alive": alive,
        "lifetime": jnp.where(dies, ag.time_alive, 0),
        "death_cause": jnp.where(dies, cause, CAUSE_NONE).astype(jnp.int32),
    }
    reward = jnp.where(dies, -1.0, 0.0).astype(jnp.float32)
    return state.replace(agents=ag.replace(alive=alive)), reward, dies, info
