"""Death (docs/rules.md §3.7, §9.5): health <= 0 or standing on lava ends the life this tick."""
from __future__ import annotations

import jax.numpy as jnp

from ..state import (CAUSE_COMBAT, CAUSE_LAVA, CAUSE_NONE, CAUSE_NPC, CAUSE_STARVATION, LAVA,
                     State)


def death(state: State, npc_damage: jnp.ndarray | None = None
          ) -> tuple[State, jnp.ndarray, jnp.ndarray, dict]:
    """Returns (state, reward [A] f32, done [A] bool, info).

    npc_damage [A]: the part of each agent's combat damage this tick that NPCs
    dealt (None: no NPCs). info: alive [A] (after the tick), lifetime [A]
    int32 (the ended life's length, 0 elsewhere), death_cause [A] int32
    (CAUSE_* values; a combat death is CAUSE_NPC when NPCs dealt more than
    half of that tick's damage).
    """
    ag = state.agents
    on_lava = state.tiles[ag.pos[:, 0], ag.pos[:, 1]] == LAVA
    dies = ag.alive & ((ag.health <= 0) | on_lava)
    fought = CAUSE_COMBAT if npc_damage is None else jnp.where(
        2 * npc_damage > ag.damage, CAUSE_NPC, CAUSE_COMBAT)
    cause = jnp.where(on_lava, CAUSE_LAVA, jnp.where(ag.damage > 0, fought, CAUSE_STARVATION))
    alive = ag.alive & ~dies
    info = {
        "alive": alive,
        "lifetime": jnp.where(dies, ag.time_alive, 0),
        "death_cause": jnp.where(dies, cause, CAUSE_NONE).astype(jnp.int32),
    }
    reward = jnp.where(dies, -1.0, 0.0).astype(jnp.float32)
    return state.replace(agents=ag.replace(alive=alive)), reward, dies, info
