"""Using and destroying items, and the gold a newcomer brings (docs/rules.md §10.3-10.5).

nmmo 2.1.2's `Use` and `Destroy` actions (nmmo/core/action.py) and the items'
`use` (nmmo/systems/item.py): using equipment toggles it on or off, using a
consumable eats it; an item needs the agent's level for it.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..config import Config
from ..materialize import materialize
from ..params import Params
from ..state import (AMMUNITION_KINDS, CONSUMABLE_KINDS, EQUIP_SLOT_OF,
                     MELEE_SKILL, NUM_ITEM_KINDS, NUM_SKILLS, POTION, RATION, TOOL_KINDS,
                     WEAPON_KINDS, Items, State)
from .inventory import clear, is_kind
from .skills import level, max_vitals_from_xp, profession_level


def _level_column_of_kinds() -> np.ndarray:
    """int [NUM_ITEM_KINDS]: which column of `use_levels`' table gates each kind:
    a style's combat level for weapons and ammunition, a profession's level
    for tools, the agent's overall level (the last column) for the rest."""
    overall = NUM_SKILLS + len(TOOL_KINDS)
    column = np.full(NUM_ITEM_KINDS, overall)
    for style, (weapon, ammunition) in enumerate(zip(WEAPON_KINDS, AMMUNITION_KINDS)):
        column[weapon] = column[ammunition] = MELEE_SKILL + style
    for profession, tool in enumerate(TOOL_KINDS):
        column[tool] = NUM_SKILLS + profession
    return column


_LEVEL_COLUMN = _level_column_of_kinds()
_EQUIP_SLOT = np.asarray(EQUIP_SLOT_OF)


def _level_table(state: State, config: Config, params: Params) -> jnp.ndarray:
    """int32 [A, NUM_SKILLS + 6]: each agent's skill levels, profession levels
    and overall level, the columns `_LEVEL_COLUMN` names for each item kind."""
    xp, prof_xp = state.agents.xp, state.items.prof_xp
    skills = level(xp, config)  # [A, 7]
    professions = profession_level(prof_xp, params)  # [A, 5]
    # Each table's level rises with XP, so the highest level is the most XP's:
    # two lookups rather than a maximum over all twelve.
    overall = jnp.maximum(level(jnp.max(xp, axis=1), config),
                          profession_level(jnp.max(prof_xp, axis=1), params))
    return jnp.concatenate([skills, professions, overall[:, None]], axis=1)


def use_levels(state: State, config: Config, params: Params) -> jnp.ndarray:
    """int32 [A, NUM_ITEM_KINDS]: each agent's level for each item kind.

    Weapons and ammunition: that style's combat level; tools: that
    profession's level (`profession_level`); armour and consumables: the
    agent's level, the highest of its skills and professions (nmmo's
    `Player.level`).
    """
    # A buffer of its own: fused into the gathers that read it, every item kind
    # and inventory slot would re-derive all twelve levels.
    return materialize(_level_table(state, config, params))[:, _LEVEL_COLUMN]


def usable(items: Items, levels: jnp.ndarray) -> jnp.ndarray:
    """bool [A, I]: the slot holds an item whose level the agent has
    (levels: `use_levels` [A, NUM_ITEM_KINDS])."""
    need = jnp.take_along_axis(levels, items.kind, axis=1)
    return (items.kind > 0) & (items.level <= need)


def usable_in(state: State, slot: jnp.ndarray, config: Config, params: Params) -> jnp.ndarray:
    """bool [A]: `usable` for the one inventory slot [A] (clipped to 0..I-1) that
    each agent names, its level looked up for that item's kind alone rather
    than for every kind and slot as the observation's masks need."""
    items = state.items
    at = lambda x, i: jnp.take_along_axis(x, i[:, None], axis=1)[:, 0]
    slot = jnp.clip(slot, 0, items.kind.shape[1] - 1)
    kind, item_level = at(items.kind, slot), at(items.level, slot)
    need = at(_level_table(state, config, params), jnp.asarray(_LEVEL_COLUMN, jnp.int32)[kind])
    return (kind > 0) & (item_level <= need)


def use_and_destroy(state: State, use: jnp.ndarray | None, destroy: jnp.ndarray | None,
                    active: jnp.ndarray, config: Config, params: Params
                    ) -> tuple[State, jnp.ndarray]:
    """Each active agent [A] uses the item in inventory slot use [A], then
    destroys the one in slot destroy [A] (None, or a value outside 0..I-1:
    nothing). Returns (state, items_out [A] int32: units eaten or destroyed).

    Use (an item the agent's level allows, `usable`): equipment that is
    equipped comes off; equipment that is not goes on, in place of whatever
    held its equipment slot; a ration restores food and water, a potion
    health, each by floor(max * (base + per_level * item level) / 100)
    (`Params.consumable_restore`) up to the maximum, and is gone. Destroy: an
    item that is not equipped is gone.
    """
    items = state.items
    slots = jnp.arange(items.kind.shape[1], dtype=jnp.int32)
    out = jnp.zeros(active.shape, jnp.int32)
    if use is not None:
        chosen = ((active & usable_in(state, use, config, params))[:, None]
                  & (slots[None, :] == use[:, None]))
        state, out = _use(state, chosen, config, params)
        items = state.items
    if destroy is not None:
        gone = (active[:, None] & (slots[None, :] == destroy[:, None]) & (items.kind > 0)
                & ~items.equipped)
        out = out + jnp.sum(jnp.where(gone, items.quantity, 0), axis=1)
        state = state.replace(items=clear(items, gone))
    return state, out


def _use(state: State, chosen: jnp.ndarray, config: Config, params: Params
         ) -> tuple[State, jnp.ndarray]:
    """Use the chosen [A, I] items (at most one per agent, each usable).
    Returns (state, units eaten [A])."""
    items, ag = state.items, state.agents
    equip_slot = jnp.asarray(_EQUIP_SLOT, jnp.int32)[items.kind]  # [A, I]; -1 not equipment
    toggle = chosen & (equip_slot >= 0)
    target_slot = jnp.max(jnp.where(toggle, equip_slot, -1), axis=1)  # [A]; -1 none
    was_on = jnp.any(toggle & items.equipped, axis=1)
    # Empty the equipment slot (the chosen item too), then put it on if it was off.
    equipped = items.equipped & ~((equip_slot == target_slot[:, None])
                                  & (target_slot >= 0)[:, None])
    equipped = equipped | (toggle & ~was_on[:, None])

    eat = chosen & is_kind(items.kind, CONSUMABLE_KINDS)
    ration = jnp.any(eat & (items.kind == RATION), axis=1)
    potion = jnp.any(eat & (items.kind == POTION), axis=1)
    item_level = jnp.sum(jnp.where(eat, items.level, 0), axis=1).astype(jnp.float32)
    percent = params.consumable_restore[0] + params.consumable_restore[1] * item_level
    max_health, max_food, max_water = max_vitals_from_xp(ag.xp, config)
    restore = lambda now, top, on: jnp.where(
        on, jnp.minimum(now + jnp.floor(top * percent / 100).astype(jnp.int32), top), now)
    agents = ag.replace(food=restore(ag.food, max_food, ration),
                        water=restore(ag.water, max_water, ration),
                        health=restore(ag.health, max_health, potion))
    eaten = jnp.sum(jnp.where(eat, items.quantity, 0), axis=1)
    return state.replace(agents=agents, items=clear(items.replace(equipped=equipped), eat)), eaten


def spawn_gold(items: Items, spawned: jnp.ndarray, params: Params) -> tuple[Items, jnp.ndarray]:
    """Newcomers [A] get `Params.gold_start` gold (their rows are empty: a dead
    agent's are cleared when it dies). Returns (items, gold_in [A] int32)."""
    gold_in = jnp.where(spawned, params.gold_start, 0).astype(jnp.int32)
    return items.replace(gold=jnp.where(spawned, gold_in, items.gold)), gold_in


def npc_spawn_gold(state: State, spawned: jnp.ndarray, params: Params
                   ) -> tuple[State, jnp.ndarray]:
    """A new NPC [N] carries `Params.npc_gold_per_level` × its level gold (nmmo:
    its level). Returns (state, npc_gold_in [N] int32)."""
    gold_in = jnp.where(spawned, params.npc_gold_per_level * state.npcs.level, 0)
    gold_in = gold_in.astype(jnp.int32)
    items = state.items
    return state.replace(items=items.replace(
        npc_gold=jnp.where(spawned, gold_in, items.npc_gold))), gold_in
