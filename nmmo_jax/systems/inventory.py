"""The inventory (docs/rules.md §10.1): receiving an item into fixed slots, stacking
ammunition, and what is lost when there is no room.

Every way an item reaches an agent (harvest, loot, an NPC's drop) goes through
`receive`, so the one rule of where an item lands is written once.
"""
from __future__ import annotations

import jax.numpy as jnp

from ..config import Config
from ..state import AMMUNITION_KINDS, Items


def empty_items(config: Config) -> Items:
    """Items with every inventory empty, no gold and no profession XP (A agent
    slots, I = config.inventory_slots inventory slots, N = config.num_npcs)."""
    a, i = config.num_agents, config.inventory_slots
    zeros = jnp.zeros((a, i), jnp.int32)
    return Items(kind=zeros, level=zeros, quantity=zeros, equipped=jnp.zeros((a, i), bool),
                 gold=jnp.zeros(a, jnp.int32), prof_xp=jnp.zeros((a, 5), jnp.int32),
                 npc_gold=jnp.zeros(config.num_npcs, jnp.int32))


def is_kind(kind: jnp.ndarray, kinds: tuple[int, ...]) -> jnp.ndarray:
    """bool, same shape as kind: kind is one of `kinds`, a group of state.py's
    consecutive item ids (ARMOR_KINDS, WEAPON_KINDS, TOOL_KINDS, ...)."""
    return (kind >= kinds[0]) & (kind <= kinds[-1])


def stacks(kind: jnp.ndarray) -> jnp.ndarray:
    """bool, same shape as kind: the item kind is ammunition, which stacks."""
    return is_kind(kind, AMMUNITION_KINDS)


def receive(items: Items, kind: jnp.ndarray, level: jnp.ndarray, quantity: jnp.ndarray,
            take: jnp.ndarray) -> tuple[Items, jnp.ndarray]:
    """Each agent receives at most one item: kind, level, quantity, take [A].

    Ammunition joins the agent's stack of the same kind and level when it holds
    one (full inventory or not); anything else takes the lowest empty slot. With
    neither, the item is destroyed (nmmo 2.1.2's Inventory.receive).
    Returns (items, kept [A] bool: received; False where take is False).
    """
    slots = jnp.arange(items.kind.shape[1], dtype=jnp.int32)
    stack = (stacks(kind)[:, None] & (items.kind == kind[:, None])
             & (items.level == level[:, None]))
    empty = items.kind == 0
    has_stack, has_room = jnp.any(stack, axis=1), jnp.any(empty, axis=1)
    slot = jnp.where(has_stack, jnp.argmax(stack, axis=1), jnp.argmax(empty, axis=1))
    kept = take & (has_stack | has_room)
    here = (slots[None, :] == slot[:, None]) & kept[:, None]
    return items.replace(
        kind=jnp.where(here, kind[:, None], items.kind),
        level=jnp.where(here, level[:, None], items.level),
        quantity=items.quantity + jnp.where(here, quantity[:, None], 0)), kept


def clear(items: Items, gone: jnp.ndarray) -> Items:
    """items with the slots gone [A, I] bool emptied (kind, level, quantity 0, unequipped)."""
    return items.replace(kind=jnp.where(gone, 0, items.kind),
                         level=jnp.where(gone, 0, items.level),
                         quantity=jnp.where(gone, 0, items.quantity),
                         equipped=items.equipped & ~gone)
