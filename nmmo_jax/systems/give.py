"""Giving items and gold to an agent on the same tile (docs/rules.md §10.5a).

nmmo 2.1.2's `Give` and `GiveGold` actions (nmmo/core/action.py): a living
player on the giver's own tile receives one unequipped item, or gold. nmmo
runs the givers one after another; here every gift of a tick is decided on
the inventories as the phase starts, and a recipient takes at most one item
per tick, so the outcome does not depend on the order of the slots.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ..state import State
from .inventory import clear, receive, stacks


def partners(state: State, to: jnp.ndarray, active: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(ok [A] bool, to [A] int32 clipped to 0..A-1): active agent a may give
    to slot to[a], a living agent other than itself on a's tile."""
    ag = state.agents
    num = ag.alive.shape[0]
    me = jnp.arange(num, dtype=jnp.int32)
    valid = (to >= 0) & (to < num)
    to = jnp.clip(to, 0, num - 1).astype(jnp.int32)
    same_tile = jnp.all(ag.pos[to] == ag.pos, axis=-1)
    return active & valid & (to != me) & ag.alive[to] & same_tile, to


def give(state: State, slot: jnp.ndarray | None, to: jnp.ndarray | None,
         gold: jnp.ndarray | None, active: jnp.ndarray) -> State:
    """Each active agent [A] gives the item in inventory slot slot [A] and
    min(gold [A], its gold) gold to agent to [A] (None, or a value out of
    range: nothing).

    An item is given when it is held and not equipped and the recipient has
    room for it (an empty slot, or for ammunition a stack of the same kind
    and level), both as the phase starts. Of several items given to one
    recipient in a tick only the lowest giver's slot's lands; the others stay
    with their givers. Gold moves from every giver at once; nothing is lost.
    """
    if to is None or (slot is None and gold is None):
        return state
    ok, to = partners(state, to, active)
    items = state.items
    num = ok.shape[0]
    me = jnp.arange(num, dtype=jnp.int32)
    if slot is not None:
        size = items.kind.shape[1]
        held = (slot >= 0) & (slot < size)
        col = jnp.clip(slot, 0, size - 1)[:, None]
        kind, level, quantity, equipped = (
            jnp.take_along_axis(x, col, axis=1)[:, 0]
            for x in (items.kind, items.level, items.quantity, items.equipped))
        theirs_kind, theirs_level = items.kind[to], items.level[to]  # [A, I]: recipients'
        room = jnp.any(theirs_kind == 0, axis=1) | jnp.any(
            stacks(kind)[:, None] & (theirs_kind == kind[:, None])
            & (theirs_level == level[:, None]), axis=1)
        offer = ok & held & (kind > 0) & ~equipped & room
        # One item per recipient: the lowest giver. Its room was there at the
        # start and giving only frees slots, so the item always lands.
        giver = jax.ops.segment_min(jnp.where(offer, me, num), to, num_segments=num)
        gives = offer & (giver[to] == me)
        slots = jnp.arange(size, dtype=jnp.int32)
        items = clear(items, gives[:, None] & (slots[None, :] == col))
        source = jnp.minimum(giver, num - 1)
        items, _ = receive(items, kind[source], level[source], quantity[source], giver < num)
    if gold is not None:
        amount = jnp.where(ok & (gold > 0), jnp.minimum(gold, items.gold), 0).astype(jnp.int32)
        got = jax.ops.segment_sum(amount, to, num_segments=num)
        items = items.replace(gold=items.gold - amount + got)
    return state.replace(items=items)
