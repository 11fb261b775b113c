"""Equipment in combat (docs/rules.md §10.2): what worn and held items add to
offence and defence, and the ammunition an attack fires.

nmmo 2.1.2's `Equipment.total` over the hat, top, bottom, held and ammunition
slots (nmmo/systems/inventory.py) with its item stats (nmmo/systems/item.py):
a weapon adds to its style's offence, ammunition to its style's offence,
armour and tools to the defence against every style.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ..params import Params
from ..state import AMMUNITION_KINDS, ARMOR_KINDS, NUM_STYLES, TOOL_KINDS, WEAPON_KINDS, Items
from .inventory import clear, is_kind


def _stat(pair: jnp.ndarray, level: jnp.ndarray) -> jnp.ndarray:
    """int32 floor(base + per_level * level) of a (base, per_level) Params pair."""
    return jnp.floor(pair[0] + pair[1] * level.astype(jnp.float32)).astype(jnp.int32)


def equipment_offense(items: Items, params: Params) -> jnp.ndarray:
    """int32 [A, 3]: per style, the equipped weapon's offence
    (`Params.weapon_damage`) plus the equipped ammunition's
    (`Params.ammunition_damage`), each base + per_level * item level."""
    kind, on = items.kind, items.equipped
    weapon, ammunition = is_kind(kind, WEAPON_KINDS), is_kind(kind, AMMUNITION_KINDS)
    bonus = jnp.where(weapon, _stat(params.weapon_damage, items.level),
                      _stat(params.ammunition_damage, items.level))
    bonus = jnp.where(on & (weapon | ammunition), bonus, 0)  # [A, I]
    style = jnp.where(weapon, kind - WEAPON_KINDS[0], kind - AMMUNITION_KINDS[0])
    per_style = jax.nn.one_hot(style, NUM_STYLES, dtype=jnp.int32)  # [A, I, 3]
    return jnp.sum(per_style * bonus[..., None], axis=1)


def equipment_defense(items: Items, params: Params) -> jnp.ndarray:
    """int32 [A]: the equipped armour's defence (`Params.armor_defense` each)
    plus the held tool's (`Params.tool_defense`), each base + per_level * item level."""
    kind, on = items.kind, items.equipped
    armor, tool = is_kind(kind, ARMOR_KINDS), is_kind(kind, TOOL_KINDS)
    each = jnp.where(armor, _stat(params.armor_defense, items.level),
                     _stat(params.tool_defense, items.level))
    return jnp.sum(jnp.where(on & (armor | tool), each, 0), axis=1)


def fire_ammunition(items: Items, style: jnp.ndarray, attacked: jnp.ndarray
                    ) -> tuple[Items, jnp.ndarray]:
    """Each agent that attacked [A] (hit or miss) with style [A] (0..2) fires one
    unit of its equipped ammunition of that style, if any; a stack fired to 0
    leaves its slot empty. Returns (items, fired [A] int32 units)."""
    ammunition = jnp.asarray(AMMUNITION_KINDS, jnp.int32)[style]
    fire = attacked[:, None] & items.equipped & (items.kind == ammunition[:, None])
    quantity = items.quantity - fire.astype(jnp.int32)
    items = clear(items.replace(quantity=quantity), fire & (quantity == 0))
    return items, jnp.sum(fire, axis=1, dtype=jnp.int32)


def equipped_level(items: Items) -> jnp.ndarray:
    """int32 [A]: the levels of the equipped items, summed (nmmo's `item_level`)."""
    return jnp.sum(jnp.where(items.equipped, items.level, 0), axis=1)
