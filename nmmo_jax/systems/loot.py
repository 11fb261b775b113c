"""Gold and loot at death (docs/rules.md §10.5).

nmmo 2.1.2's `Player.receive_damage` and `NPC.receive_damage` (nmmo/entity/
player.py, npc.py): a killed agent's gold and items go to its killer (an
NPC killer takes the gold only); a killed NPC gives its killer its gold and
its drops, an armour piece and, with professions, a tool. The killer is the
body that dealt the most damage in the tick (`combat.killers`); as each body
attacks at most one target a tick, a killer has at most one victim.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import rng
from ..config import Config
from ..params import Params
from ..state import ARMOR_KINDS, CAUSE_COMBAT, CAUSE_NPC, TOOL_KINDS, Items, State
from .inventory import clear, stacks


def loot(seed: jnp.ndarray, state: State, died: jnp.ndarray, cause: jnp.ndarray,
         killer: jnp.ndarray, npc_died: jnp.ndarray | None, config: Config, params: Params
         ) -> tuple[State, dict]:
    """Hand the dead's gold and items to their killers; empty the dead agents' rows.

    seed: the items stream's uint32 seed (the drops' kinds). died, cause [A]:
    the agents that died this tick and why (`death`); killer [S] (S =
    Config.num_slots): the slot that dealt each slot the most damage, S if
    none (`combat.killers`); npc_died [N] (None without NPCs). Only a combat
    death is looted, and only by a killer still alive after the tick;
    anything else the dead held is destroyed.

    Returns (state, flows) with flows items_in [A] (drop units kept),
    items_out [A] (the dead agents' units that no killer kept), gold_out [A]
    (the dead agents' gold no killer took), and with NPCs npc_gold_out [N]
    (the dead NPCs' gold no killer took).
    """
    a = config.num_agents
    alive = state.agents.alive
    if config.num_npcs:
        alive = jnp.concatenate([alive, state.npcs.alive])
    alive = jnp.concatenate([alive, jnp.zeros(1, bool)])  # slot S: no killer
    k = killer[:a]
    fought = died & ((cause == CAUSE_COMBAT) | (cause == CAUSE_NPC)) & alive[k]
    to_agent, to_npc = fought & (k < a), fought & (k >= a)

    before = state.items
    gold = before.gold.at[jnp.where(to_agent, k, a)].add(before.gold, mode="drop")
    items = before.replace(gold=gold)
    # What each agent killer takes: a victim agent's inventory (victim rows
    # 0 .. A-1) or a victim NPC's drops (rows A .. A+N-1).
    held, drops = (before.kind, before.level, before.quantity), None
    victim_of = jnp.full(a, config.num_slots, jnp.int32).at[jnp.where(to_agent, k, a)].set(
        jnp.arange(a, dtype=jnp.int32), mode="drop")  # num_slots: no victim
    if config.num_npcs:  # an NPC's gold, with what it took this tick, goes to its killer
        items = items.replace(npc_gold=items.npc_gold.at[jnp.where(to_npc, k - a, config.num_npcs)]
                              .add(before.gold, mode="drop"))
        items, drops, npc_victim_of, npc_gold_out = _npc_loot(
            seed, items, state, npc_died, killer[a:], alive, config, params)
        victim_of = jnp.where(npc_victim_of < config.num_npcs, a + npc_victim_of, victim_of)
    items, kept = _pass_on(items, held, drops, victim_of)
    from_agent = victim_of < a
    kept_by_victim = jnp.zeros(a, jnp.int32).at[jnp.where(from_agent, victim_of, a)].add(
        kept, mode="drop")
    flows = {"items_in": jnp.where(from_agent, 0, kept),
             "items_out": jnp.where(died, jnp.sum(before.quantity, axis=1) - kept_by_victim, 0),
             "gold_out": jnp.where(died & ~fought, before.gold, 0)}
    if config.num_npcs:
        flows["npc_gold_out"] = npc_gold_out
    items = clear(items, jnp.broadcast_to(died[:, None], items.kind.shape))
    items = items.replace(gold=jnp.where(died, 0, items.gold),
                          prof_xp=jnp.where(died[:, None], 0, items.prof_xp))
    return state.replace(items=items), flows


# Killers whose loot is placed per pass: a tick of random play has a few combat
# deaths per world, and each pass costs [LOOT_BATCH, I, I], not [A, I, I].
LOOT_BATCH = 8


def _pass_on(items: Items, held: tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray],
             drops: tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray] | None, victim_of: jnp.ndarray
             ) -> tuple[Items, jnp.ndarray]:
    """Each agent killer receives its victim's items as `receive` would hand
    them over one by one in slot order.

    held: (kind, level, quantity) [A, I], the agents' inventories (victim
    rows 0 .. A-1); drops: (kind, level, quantity) [N, D] of the NPCs' drops
    (victim rows A .. A+N-1, in slots 0 .. D-1), None without NPCs;
    victim_of [A] int32: the row each agent takes, A + N for none.
    A killer's victim row is read where it is, agent or NPC: the two tables
    joined into one would be written whole every tick for the few rows read.
    Returns (items with the killers' rows filled, units each killer kept [A]).

    A killer has one victim, so its row changes only by that victim's
    items. Victim slot i's ammunition joins the killer's stack of its kind
    and level; every other item takes the killer's r-th empty slot, r its
    rank among these, or is destroyed past the last. A victim holds at most
    one stack of each ammunition kind and level (`receive` stacks them), so
    each killer slot takes at most one victim item. Killers go LOOT_BATCH at
    a time (a `while_loop`, none in a tick without loot, carrying only the
    three arrays it writes); their rows are disjoint and read only the
    inventories before loot, so the passes are independent.
    """
    a, i = held[0].shape
    n = 0 if drops is None else drops[0].shape[0]
    v = a + n
    inv = jnp.arange(i, dtype=jnp.int32)

    def victim_rows(victim):  # (kind, level, quantity) [B, I] of victim rows [B]
        rows = tuple(x[jnp.minimum(victim, a - 1)] for x in held)
        if drops is None:
            return rows
        npc = jnp.clip(victim - a, 0, n - 1)
        pad = lambda x: jnp.pad(x, ((0, 0), (0, i - x.shape[1])))
        dropped = (pad(x[npc]) for x in drops)
        return tuple(jnp.where((victim >= a)[:, None], d, r) for d, r in zip(dropped, rows))

    def one_pass(carry):
        (out_kind, out_level, out_quantity), kept_by_killer, pending = carry
        rows = jnp.nonzero(pending, size=LOOT_BATCH, fill_value=a)[0]  # killers; a: none
        k = jnp.minimum(rows, a - 1)
        has_victim = rows < a
        victim = jnp.minimum(victim_of[k], v - 1)
        kind, level, quantity = victim_rows(victim)
        mine_kind, mine_level = items.kind[k], items.level[k]  # [B, I]
        give = has_victim[:, None] & (kind > 0)
        # [B, victim slot i, killer slot s]: i joins the killer's stack at s ...
        stack = ((give & stacks(kind))[:, :, None] & (mine_kind[:, None, :] == kind[:, :, None])
                 & (mine_level[:, None, :] == level[:, :, None]))
        fresh = give & ~jnp.any(stack, axis=2)
        empty = mine_kind == 0
        rank = jnp.cumsum(fresh, axis=1) - 1
        empty_rank = jnp.where(empty, jnp.cumsum(empty, axis=1) - 1, -1)
        # ... or takes the empty slot s whose rank among the empty slots is its own.
        here = stack | (fresh[:, :, None] & (empty_rank[:, None, :] == rank[:, :, None]))
        source = jnp.max(jnp.where(here, inv[:, None], -1), axis=1)  # [B, s]: victim slot or -1
        got = source >= 0
        take = lambda x: jnp.where(got, jnp.take_along_axis(x, jnp.maximum(source, 0), axis=1), 0)
        kept = take(quantity)
        # A joined stack already has the item's kind and level; an empty slot has 0s.
        out = (out_kind.at[rows].set(jnp.maximum(mine_kind, take(kind)), mode="drop"),
               out_level.at[rows].set(jnp.maximum(mine_level, take(level)), mode="drop"),
               out_quantity.at[rows].add(kept, mode="drop"))
        kept_by_killer = kept_by_killer.at[rows].set(jnp.sum(kept, axis=1), mode="drop")
        return out, kept_by_killer, pending.at[rows].set(False, mode="drop")

    (kind, level, quantity), kept, _ = jax.lax.while_loop(
        lambda c: jnp.any(c[2]), one_pass,
        ((items.kind, items.level, items.quantity), jnp.zeros(a, jnp.int32), victim_of < v))
    return items.replace(kind=kind, level=level, quantity=quantity), kept


def _npc_loot(seed: jnp.ndarray, items: Items, state: State, npc_died: jnp.ndarray,
              killer: jnp.ndarray, alive: jnp.ndarray, config: Config, params: Params
              ) -> tuple[Items, tuple, jnp.ndarray, jnp.ndarray]:
    """Dead NPCs [N] give their living agent killers [N] their gold and drops:
    an armour piece (hat, top or bottom, uniform) and, with professions, a
    tool (uniform of the five), at the NPC's level capped at
    `Params.item_level_max`, quantity 1. Returns (items with the gold paid,
    the drops (kind, level, quantity) [N, D] in slot order (D = 1, or 2
    with professions), npc_victim_of [A] (the NPC each agent killed, N if none),
    npc_gold_out [N])."""
    a, n = config.num_agents, config.num_npcs
    by_agent = npc_died & (killer < a) & alive[killer]
    to = jnp.where(by_agent, killer, a)
    gold = items.npc_gold
    items = items.replace(gold=items.gold.at[to].add(gold, mode="drop"),
                          npc_gold=jnp.where(npc_died, 0, gold))
    npc_slots = jnp.arange(n, dtype=jnp.int32)
    kinds = [(ARMOR_KINDS, rng.STREAM_DROP_ARMOR)]
    if config.professions:
        kinds.append((TOOL_KINDS, rng.STREAM_DROP_TOOL))
    kind = jnp.stack([jnp.asarray(group, jnp.int32)[rng.below(rng.stream(seed, tag), npc_slots,
                                                                len(group))]
                      for group, tag in kinds], axis=1)
    level = jnp.broadcast_to(jnp.clip(state.npcs.level, 1, params.item_level_max)[:, None],
                             kind.shape)
    npc_victim_of = jnp.full(a, n, jnp.int32).at[to].set(npc_slots, mode="drop")
    drops = (kind, level, jnp.ones_like(kind))
    return items, drops, npc_victim_of, jnp.where(npc_died & ~by_agent, gold, 0)
