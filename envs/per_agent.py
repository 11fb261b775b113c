"""What one agent sees and does in the dict APIs (JaxMARL-style and PettingZoo).

Observation of one agent: a dict of the per-slot rows of `nmmo_jax.Obs`
named in AGENT_OBS_FIELDS (entity_slot is left out: the dict APIs name
targets by their row in the agent's own entity list).

Action of one agent: three integers (move, style, target_row):
move 0..4 (stay, N, S, E, W), style 0..2 (melee, range, mage), target_row
0..K-1 a row of the agent's entity list; row 0 (itself) or a padding row
means no attack. `rows_to_actions` turns these into slot-indexed core Actions.
"""
from __future__ import annotations

import jax.numpy as jnp

import nmmo_jax as nj

AGENT_OBS_FIELDS = ("tiles", "tile_agents", "entities", "entity_mask", "move_mask",
                    "target_mask")
ACTION_FIELDS = ("move", "style", "target")


def action_sizes(config: nj.Config) -> tuple[int, int, int]:
    """Number of choices of (move, style, target_row): (5, 3, max_entities)."""
    return (nj.NUM_MOVES, nj.NUM_STYLES, config.max_entities)


def obs_shapes(config: nj.Config) -> dict[str, tuple[int, ...]]:
    """Shape of each AGENT_OBS_FIELDS entry for one agent."""
    v, k = config.window, config.max_entities
    return {"tiles": (v, v), "tile_agents": (v, v), "entities": (k, nj.NUM_ENTITY_FEATURES),
            "entity_mask": (k,), "move_mask": (nj.NUM_MOVES,),
            "target_mask": (nj.NUM_STYLES, k)}


def rows_to_actions(rows: jnp.ndarray, entity_slot: jnp.ndarray) -> nj.Actions:
    """Per-agent (move, style, target_row) [A, 3] int -> core Actions (int32 [A] each).

    entity_slot [A, K] is the observation the actions answer. A target row
    outside 0..K-1 means no attack; other out-of-range values are left to
    the core, which treats them as stay / no attack.
    """
    rows = rows.astype(jnp.int32)
    a, k = entity_slot.shape
    row = rows[:, 2]
    listed = jnp.take_along_axis(entity_slot, jnp.clip(row, 0, k - 1)[:, None], 1)[:, 0]
    own = jnp.arange(a, dtype=jnp.int32)
    target = jnp.where((row >= 0) & (row < k), listed, own)
    return nj.Actions(move=rows[:, 0], style=rows[:, 1], target=target)
