"""Items (docs/rules.md §10.2-10.5) on hand-built scenes: equipment in combat,
ammunition, the level gate, consumables, destroy, gold and loot, NPC drops."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.state import (ARMOR_KINDS, ARROW, BOTTOM, BOW, FISHING_PROF, HAT, POTION, RATION,
                            ROD, SPEAR, TOOL_KINDS, TOP, WHETSTONE)
from tests.conftest import act, jit_step, scene

ITEMS = nj.Config.small(spawn_per_tick=0, inventory_slots=4)
NPCS = ITEMS.replace(num_npcs=4)
A = ITEMS.num_agents
SURE = nj.default_params(ITEMS, hit_base=1.0)  # every attack hits at equal levels
NPC_SURE = nj.default_params(NPCS, hit_base=1.0, npc_spawn_attempts=0)
OBSERVE = jax.jit(nj.observe, static_argnums=1)


def give(state, slot, held=(), gold=None, prof_xp=None):
    """state with agent `slot` holding `held`, (kind, level, quantity, equipped)
    tuples in inventory slots 0, 1, ..., and the given gold and profession XP."""
    items = jax.tree.map(np.array, state.items)
    for i, (kind, level, quantity, equipped) in enumerate(held):
        items.kind[slot, i], items.level[slot, i] = kind, level
        items.quantity[slot, i], items.equipped[slot, i] = quantity, equipped
    if gold is not None:
        items.gold[slot] = gold
    if prof_xp is not None:
        items.prof_xp[slot] = prof_xp
    return state.replace(items=jax.tree.map(jnp.asarray, items))


def with_npc(state, slot, pos, **fields):
    """state with a level-1 passive melee NPC at full health in NPC slot `slot`."""
    n = jax.tree.map(np.array, state.npcs)
    n.alive[slot], n.pos[slot] = True, pos
    n.kind[slot], n.level[slot], n.style[slot], n.health[slot] = nj.PASSIVE, 1, nj.MELEE, 10
    n.target[slot] = n.attacker[slot] = -1
    for name, value in fields.items():
        getattr(n, name)[slot] = value
    return state.replace(npcs=jax.tree.map(jnp.asarray, n))


def acts(config=ITEMS, use=None, destroy=None, **kw):
    """`act` with {slot: inventory slot} uses and destroys (-1 elsewhere)."""
    arrays = [np.full(config.num_agents, -1, np.int32) for _ in range(2)]
    for array, spec in zip(arrays, (use, destroy)):
        for i, v in (spec or {}).items():
            array[i] = v
    return act(config, **kw).replace(use=jnp.asarray(arrays[0]), destroy=jnp.asarray(arrays[1]))


def step(state, actions=None, params=SURE, config=ITEMS, seed=0):
    _, state, _, done, info = jit_step(jax.random.PRNGKey(seed), state,
                                       actions if actions is not None else acts(config),
                                       config, params)
    return state, done, jax.tree.map(np.asarray, info)


def row(state, slot):
    """The agent's inventory as (kind, level, quantity, equipped) tuples."""
    it = state.items
    return [(int(k), int(l), int(q), bool(e)) for k, l, q, e in
            zip(it.kind[slot], it.level[slot], it.quantity[slot], it.equipped[slot])]


def duel(attacker_held=(), target_held=(), style=nj.MELEE, levels=None, params=SURE,
         target_health=10):
    """Agent 0 attacks agent 1 (adjacent) once; returns (state, info)."""
    s = scene([dict(slot=0, pos=(10, 10), levels=levels or {}),
               dict(slot=1, pos=(10, 11), health=target_health)], config=ITEMS)
    s = give(give(s, 0, attacker_held), 1, target_held)
    s, _, info = step(s, acts(style={0: style}, target={0: 1}), params)
    return s, info


EMPTY = (0, 0, 0, False)


# ------------------------------------------------------------ equipment in combat
@pytest.mark.slow
def test_no_equipment_deals_v13_damage():
    s, _ = duel()
    assert int(s.agents.damage[1]) == 5


@pytest.mark.parametrize("target_held,dealt", [
    ([(HAT, 1, 1, True)], 2),  # defence 0 + 3 x 1: 5 - 3
    ([(HAT, 1, 1, False)], 5),  # held, not worn: no defence
    ([(HAT, 1, 1, True), (TOP, 2, 1, True)], 1),  # 3 + 6 = 9 > 5: floor(0.25 x 5)
    ([(ROD, 1, 1, True)], 1),  # a held tool: 15
])
def test_armour_and_tools_defend(target_held, dealt):
    s, _ = duel(target_held=target_held)
    assert int(s.agents.damage[1]) == dealt


@pytest.mark.parametrize("attacker_held,style,dealt", [
    ([(SPEAR, 2, 1, True)], nj.MELEE, 20),  # 5 + (5 + 5 x 2)
    ([(SPEAR, 2, 1, True)], nj.RANGE, 3),  # a spear adds to melee only
    ([(WHETSTONE, 1, 3, True)], nj.MELEE, 20),  # 5 + (5 + 10 x 1)
    ([(SPEAR, 1, 1, True), (WHETSTONE, 1, 3, True)], nj.MELEE, 30),  # 5 + 10 + 15
    ([(BOW, 1, 1, True), (ARROW, 2, 3, True)], nj.RANGE, 38),  # 3 + 10 + 25
])
def test_weapons_and_ammunition_add_offence(attacker_held, style, dealt):
    s, _ = duel(attacker_held=attacker_held, style=style, target_health=100)
    assert int(s.agents.damage[1]) == dealt


def test_min_damage_fraction_of_the_whole_offence():
    # offence 5 + 10 = 15 against 15 + 3 = 18: max(-3, floor(0.25 x 15)) = 3
    s, _ = duel(attacker_held=[(SPEAR, 1, 1, True)],
                target_held=[(ROD, 1, 1, True), (HAT, 1, 1, True)])
    assert int(s.agents.damage[1]) == 3


def test_ammunition_fires_on_every_attack_of_its_style_hit_or_miss():
    held = [(ARROW, 1, 2, True), (WHETSTONE, 1, 5, False)]
    s, info = duel(attacker_held=held, style=nj.RANGE)
    assert row(s, 0)[:2] == [(ARROW, 1, 1, True), (WHETSTONE, 1, 5, False)]
    assert info["items_out"][0] == 1
    never = nj.default_params(ITEMS, hit_base=0.0)  # chance 0 at equal levels: a miss
    s, info = duel(attacker_held=[(ARROW, 1, 1, True)], style=nj.RANGE, params=never)
    assert not info["attack_hit"][0] and info["attack_target"][0] == 1
    assert row(s, 0)[0] == EMPTY and info["items_out"][0] == 1  # the last arrow: slot empty
    s, info = duel(attacker_held=[(ARROW, 1, 2, True)], style=nj.MELEE)
    assert row(s, 0)[0] == (ARROW, 1, 2, True) and info["items_out"][0] == 0


def test_no_attack_fires_nothing():
    s = give(scene([dict(slot=0, pos=(10, 10))], config=ITEMS), 0, [(ARROW, 1, 2, True)])
    s, _, info = step(s, acts(style={0: nj.RANGE}))
    assert row(s, 0)[0] == (ARROW, 1, 2, True)


# ------------------------------------------------------------------ use: equipment
def test_use_equips_in_the_tick_it_is_used():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11))], config=ITEMS)
    s = give(s, 1, [(HAT, 1, 1, False)])
    s, _, _ = step(s, acts(use={1: 0}, style={0: nj.MELEE}, target={0: 1}))
    assert row(s, 1)[0] == (HAT, 1, 1, True) and int(s.agents.damage[1]) == 2


def test_use_toggles_and_replaces_the_item_in_the_same_equipment_slot():
    s = scene([dict(slot=0, pos=(10, 10), levels={nj.RANGE_SKILL: 2})], config=ITEMS)
    s = give(s, 0, [(HAT, 1, 1, True), (HAT, 2, 1, False), (SPEAR, 1, 1, True), (BOW, 2, 1, False)])
    s, _, _ = step(s, acts(use={0: 1}))  # the second hat replaces the first
    assert [e for *_, e in row(s, 0)] == [False, True, True, False]
    s, _, _ = step(s, acts(use={0: 3}))  # a bow replaces the spear: one held slot
    assert [e for *_, e in row(s, 0)] == [False, True, False, True]
    s, _, _ = step(s, acts(use={0: 3}))  # used again: it comes off
    assert [e for *_, e in row(s, 0)] == [False, True, False, False]


@pytest.mark.parametrize("held,levels,prof_xp,equips", [
    ((SPEAR, 2, 1, False), {}, 0, False),  # melee level 1 < 2
    ((SPEAR, 2, 1, False), {nj.MELEE_SKILL: 2}, 0, True),
    ((ARROW, 3, 5, False), {nj.RANGE_SKILL: 2}, 0, False),
    ((HAT, 10, 1, False), {}, 0, True),  # the agent's level: its best skill, 10 at spawn
    ((HAT, 11, 1, False), {}, 0, False),
    ((HAT, 11, 1, False), {nj.DEFENSE: 11}, 0, True),
    ((ROD, 2, 1, False), {}, 89, False),  # fishing profession level 1 (level 2 at 90 XP)
    ((ROD, 2, 1, False), {}, 90, True),
])
def test_level_gate(held, levels, prof_xp, equips):
    s = scene([dict(slot=0, pos=(10, 10), levels=levels)], config=ITEMS)
    xp = np.zeros(5, np.int32)
    xp[FISHING_PROF] = prof_xp
    s = give(s, 0, [held], prof_xp=xp)
    obs, s2, *_ = jit_step(jax.random.PRNGKey(0), s, acts(use={0: 0}), ITEMS, SURE)
    assert row(s2, 0)[0][3] == equips
    # The mask said so before the step (the observation of the scene).
    assert bool(OBSERVE(s, ITEMS, SURE).use_mask[0, 0]) == equips


def test_the_step_gates_the_named_slot_as_the_mask_gates_every_slot():
    """`usable_in` (the step's check of the one slot an agent uses) equals the
    column of `usable` (the observation's mask over every slot) for each slot,
    over weapons, ammunition, armour, tools and consumables at several levels."""
    from nmmo_jax.params import resolve
    from nmmo_jax.systems.items import usable, usable_in, use_levels
    s = scene([dict(slot=0, pos=(10, 10), levels={nj.RANGE_SKILL: 2}),
               dict(slot=1, pos=(12, 12), levels={nj.DEFENSE: 11}),
               dict(slot=2, pos=(14, 14))], config=ITEMS)
    s = give(s, 0, [(ARROW, 3, 5, False), (BOW, 2, 1, False), (HAT, 11, 1, False)])
    s = give(s, 1, [(HAT, 11, 1, False), (POTION, 12, 1, False), (ROD, 2, 1, False),
                    (RATION, 1, 1, False)], prof_xp=np.array([90, 0, 0, 0, 0], np.int32))
    s = give(s, 2, [(SPEAR, 1, 1, False), (WHETSTONE, 2, 1, False)])
    params = resolve(SURE, ITEMS)
    every = np.asarray(usable(s.items, use_levels(s, ITEMS, params)))
    assert every[:3].any() and not every[:3].all()  # the scene gates both ways
    for slot in range(ITEMS.inventory_slots):
        named = usable_in(s, jnp.full(A, slot, jnp.int32), ITEMS, params)
        np.testing.assert_array_equal(np.asarray(named), every[:, slot], err_msg=f"slot {slot}")


# ---------------------------------------------------------------- use: consumables
def test_ration_restores_food_and_water_and_is_eaten():
    # 10 x (50 + 5 x 1) / 100 = 5.5 -> 5, before the tick's decay of 1
    s = scene([dict(slot=0, pos=(10, 10), food=2, water=9)], config=ITEMS)
    s = give(s, 0, [(RATION, 1, 1, False)])
    s, _, info = step(s, acts(use={0: 0}))
    assert (int(s.agents.food[0]), int(s.agents.water[0])) == (6, 9)  # 2+5-1, min(14,10)-1
    assert row(s, 0)[0] == EMPTY and info["items_out"][0] == 1


def test_potion_restores_health():
    # 10 x (50 + 5 x 2) / 100 = 6; food and water too low to heal
    s = scene([dict(slot=0, pos=(10, 10), food=3, water=3, health=3),
               dict(slot=1, pos=(10, 12), food=3, water=3, health=8)], config=ITEMS)
    s = give(give(s, 0, [(POTION, 2, 1, False)]), 1, [(POTION, 2, 1, False)])
    s, _, info = step(s, acts(use={0: 0, 1: 0}))
    assert (int(s.agents.health[0]), int(s.agents.health[1])) == (9, 10)  # 8 + 6 clipped
    assert int(s.items.kind[:2].sum()) == 0 and list(info["items_out"][:2]) == [1, 1]


def test_potion_above_the_agents_level_is_refused():
    s = scene([dict(slot=0, pos=(10, 10), food=3, water=3, health=3)], config=ITEMS)
    s = give(s, 0, [(POTION, 11, 1, False)])
    s, _, info = step(s, acts(use={0: 0}))
    assert int(s.agents.health[0]) == 3 and row(s, 0)[0] == (POTION, 11, 1, False)


# -------------------------------------------------------------------------- destroy
def test_destroy_removes_unequipped_items_only():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 12))], config=ITEMS)
    s = give(s, 0, [(ARROW, 1, 5, False), (HAT, 1, 1, True)])
    s = give(s, 1, [(ARROW, 1, 5, False), (HAT, 1, 1, True)])
    s, _, info = step(s, acts(destroy={0: 0, 1: 1}))
    assert row(s, 0)[:2] == [EMPTY, (HAT, 1, 1, True)] and info["items_out"][0] == 5
    assert row(s, 1)[:2] == [(ARROW, 1, 5, False), (HAT, 1, 1, True)] and info["items_out"][1] == 0


def test_use_then_destroy_in_one_tick():
    # Using the hat equips it, so destroying it in the same tick does nothing.
    s = give(scene([dict(slot=0, pos=(10, 10))], config=ITEMS), 0, [(HAT, 1, 1, False)])
    s, _, _ = step(s, acts(use={0: 0}, destroy={0: 0}))
    assert row(s, 0)[0] == (HAT, 1, 1, True)


@pytest.mark.parametrize("index", [-1, 4, 100, -100])
def test_out_of_range_use_and_destroy_are_noops(index):
    s = give(scene([dict(slot=0, pos=(10, 10))], config=ITEMS), 0,
             [(HAT, 1, 1, False), (POTION, 1, 1, False), (ARROW, 1, 3, False), (ROD, 1, 1, True)])
    after, _, info = step(s, acts(use={0: index}, destroy={0: index}))
    base, _, _ = step(s, acts())
    jax.tree.map(np.testing.assert_array_equal, after, base)
    assert info["items_out"][0] == 0


def test_no_use_or_destroy_field_is_a_noop():
    s = give(scene([dict(slot=0, pos=(10, 10))], config=ITEMS), 0, [(POTION, 1, 1, False)])
    after, _, _ = step(s, act(ITEMS))  # Actions without use and destroy
    base, _, _ = step(s, acts())
    jax.tree.map(np.testing.assert_array_equal, after, base)


# ----------------------------------------------------------------------------- loot
def test_killer_takes_gold_and_items_stacking_in_slot_order():
    # Health 1, healed to 2 before the fight (full food and water), hit for 2.
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11), health=1)], config=ITEMS)
    s = give(s, 0, [(ARROW, 1, 2, False), EMPTY, EMPTY, (ROD, 1, 1, False)], gold=1)
    s = give(s, 1, [(ARROW, 1, 3, False), (HAT, 1, 1, True), EMPTY, (POTION, 2, 1, False)],
             gold=7, prof_xp=[5, 0, 0, 0, 0])
    s, done, info = step(s, acts(style={0: nj.MELEE}, target={0: 1}))
    assert done[1] and int(s.agents.damage[1]) == 2  # the hat took 3
    assert row(s, 0) == [(ARROW, 1, 5, False), (HAT, 1, 1, False), (POTION, 2, 1, False),
                         (ROD, 1, 1, False)]
    assert int(s.items.gold[0]) == 8
    assert row(s, 1) == [EMPTY] * 4 and int(s.items.gold[1]) == 0
    assert int(s.items.prof_xp[1].sum()) == 0
    assert info["items_out"][1] == 0 and info["gold_out"][1] == 0


def test_full_killer_destroys_what_does_not_fit():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11), health=4)], config=ITEMS)
    s = give(s, 0, [(SPEAR, 1, 1, False), (HAT, 1, 1, False), (TOP, 1, 1, False), EMPTY])
    s = give(s, 1, [(BOTTOM, 2, 1, False), (POTION, 1, 1, False), (ARROW, 1, 4, False)])
    s, _, info = step(s, acts(style={0: nj.MELEE}, target={0: 1}))
    assert row(s, 0)[3] == (BOTTOM, 2, 1, False)
    assert info["items_out"][1] == 5  # the potion and 4 arrows


@pytest.mark.parametrize("killer_held,victim_held,after,lost", [
    # Fresh items fill the empty slots in order, ammunition joins only its own level's
    # stack, and what comes after the last empty slot is destroyed.
    ([EMPTY, (ARROW, 1, 2, False), EMPTY, (HAT, 1, 1, False)],
     [(ARROW, 1, 4, False), (POTION, 1, 1, False), (ARROW, 2, 3, False), (SPEAR, 1, 1, False)],
     [(POTION, 1, 1, False), (ARROW, 1, 6, False), (ARROW, 2, 3, False), (HAT, 1, 1, False)], 1),
    # A full killer still takes the ammunition it has a stack for.
    ([(ARROW, 1, 2, False), (HAT, 1, 1, False), (TOP, 1, 1, False), (SPEAR, 1, 1, False)],
     [(POTION, 1, 1, False), (WHETSTONE, 1, 3, False), (ARROW, 1, 4, False),
      (ARROW, 2, 5, False)],
     [(ARROW, 1, 6, False), (HAT, 1, 1, False), (TOP, 1, 1, False), (SPEAR, 1, 1, False)], 9),
])
def test_loot_lands_slot_by_slot_as_received(killer_held, victim_held, after, lost):
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11), health=4)], config=ITEMS)
    s = give(give(s, 0, killer_held), 1, victim_held)
    s, done, info = step(s, acts(style={0: nj.MELEE}, target={0: 1}))
    assert done[1] and row(s, 0) == after and row(s, 1) == [EMPTY] * 4
    assert info["items_out"][1] == lost


def test_killers_beyond_one_pass_are_placed_in_later_passes(monkeypatch):
    # Six killers, one victim each (four agents, then two NPCs' drops), placed one
    # killer per pass: the same rows as all at once, each killer taking only its
    # own victim's items.
    from nmmo_jax.systems import loot
    s = scene([dict(slot=i, pos=(10, 10 + i)) for i in range(12)], config=ITEMS)
    for killer in range(0, 8, 2):
        s = give(s, killer, [(ARROW, 1, killer + 1, False)])
        s = give(s, killer + 1, [(ARROW, 1, 10, False), (HAT, killer + 1, 1, False)])
    s = give(give(s, 8, [(ARROW, 1, 2, False)]), 10, [(HAT, 1, 1, False)])
    held = (s.items.kind, s.items.level, s.items.quantity)
    n = 4  # NPC rows A .. A + 3: drops (kind, level, quantity) [N, 2]
    drops = (jnp.asarray([[HAT, TOP]] * n, jnp.int32), jnp.asarray([[3, 3], [5, 5]] * 2, jnp.int32),
             jnp.ones((n, 2), jnp.int32))
    victim_of = (jnp.full(A, A + n, jnp.int32).at[jnp.arange(0, 8, 2)].set(jnp.arange(1, 8, 2))
                 .at[8].set(A + 1).at[10].set(A + 2))
    placed = {}
    for batch in (8, 1):
        monkeypatch.setattr(loot, "LOOT_BATCH", batch)
        # A new function each time: jit's cache would keep the first batch size's trace.
        placed[batch] = jax.jit(lambda *args: loot._pass_on(*args))(s.items, held, drops,
                                                                     victim_of)
    jax.tree.map(np.testing.assert_array_equal, placed[1], placed[8])
    items, kept = placed[1]
    looted = s.replace(items=items)
    for k in range(0, 8, 2):
        assert row(looted, k)[:2] == [(ARROW, 1, k + 11, False), (HAT, k + 1, 1, False)]
    assert row(looted, 8)[:3] == [(ARROW, 1, 2, False), (HAT, 5, 1, False), (TOP, 5, 1, False)]
    assert row(looted, 10)[:3] == [(HAT, 1, 1, False), (HAT, 3, 1, False), (TOP, 3, 1, False)]
    assert row(looted, 9) == row(s, 9) and row(looted, 11) == row(s, 11)  # no victim: unchanged
    assert list(np.asarray(kept[:12])) == [11, 0] * 4 + [2, 0, 2, 0]  # by killer


def test_the_most_damage_kills_ties_to_the_lowest_slot():
    victim = dict(slot=1, pos=(10, 11), health=5)
    for levels, killer in (({nj.MELEE_SKILL: 10}, 2), ({}, 0)):  # 9 beats 5; 5 and 5 tie
        s = scene([dict(slot=0, pos=(10, 10)), victim, dict(slot=2, pos=(10, 12), levels=levels)],
                  config=ITEMS)
        s = give(s, 1, [(HAT, 1, 1, False)], gold=4)
        s, _, _ = step(s, acts(style={0: nj.MELEE, 2: nj.MELEE}, target={0: 1, 2: 1}),
                       nj.default_params(ITEMS, hit_base=1.0, hit_level_divisor=1e9))
        assert row(s, killer)[0] == (HAT, 1, 1, False) and int(s.items.gold[killer]) == 4
        assert int(s.items.kind[2 - killer].sum()) == 0


def test_killers_that_die_in_the_same_tick_take_nothing():
    s = scene([dict(slot=0, pos=(10, 10), health=4), dict(slot=1, pos=(10, 11), health=4)],
              config=ITEMS)
    s = give(give(s, 0, [(HAT, 1, 1, False)], gold=2), 1, [(ARROW, 1, 3, False)], gold=3)
    s, done, info = step(s, acts(style={0: nj.MELEE, 1: nj.MELEE}, target={0: 1, 1: 0}))
    assert done[0] and done[1] and int(s.items.kind.sum()) == 0
    assert list(info["items_out"][:2]) == [1, 3] and list(info["gold_out"][:2]) == [2, 3]


def test_lava_destroys_items_and_gold():
    s = scene([dict(slot=0, pos=(10, 10))], tiles={(10, 10): nj.LAVA}, config=ITEMS)
    s = give(s, 0, [(HAT, 1, 1, True), (ARROW, 2, 7, False)], gold=5)
    s, done, info = step(s)
    assert done[0] and int(s.items.kind.sum()) == 0 and int(s.items.gold[0]) == 0
    assert info["items_out"][0] == 8 and info["gold_out"][0] == 5


# ------------------------------------------------------------------------ NPC loot
def npc_duel(npc_fields, agent_fields=None, held=(), gold=None, config=NPCS):
    s = scene([dict(slot=0, pos=(10, 10), **(agent_fields or {}))], config=config)
    s = give(with_npc(s, 0, (10, 11), **npc_fields), 0, held, gold=gold)
    return s


def test_npc_killer_takes_the_gold_and_destroys_the_items():
    s = npc_duel(dict(kind=nj.HOSTILE), dict(health=4), held=[(HAT, 1, 1, False)], gold=6)
    s = s.replace(items=s.items.replace(npc_gold=s.items.npc_gold.at[0].set(2)))
    s, done, info = step(s, acts(NPCS), NPC_SURE, NPCS)
    assert done[0] and int(s.items.npc_gold[0]) == 8 and int(s.items.kind.sum()) == 0
    assert info["items_out"][0] == 1 and info["gold_out"][0] == 0


@pytest.mark.parametrize("config,npc_level,item_level", [(NPCS, 4, 4), (NPCS, 15, 10),
                                                          (NPCS.replace(professions=True), 3, 3)])
def test_npc_drops_armour_tool_and_gold_to_its_killer(config, npc_level, item_level):
    s = npc_duel(dict(level=npc_level, health=4, freeze=5), config=config)  # heals to 5
    s = s.replace(items=s.items.replace(npc_gold=s.items.npc_gold.at[0].set(3)))
    params = nj.default_params(config, hit_base=1.0, hit_level_divisor=1e9, npc_spawn_attempts=0)
    s, _, info = step(s, acts(config, style={0: nj.MELEE}, target={0: A}), params, config)
    assert info["npc_done"][0] and int(s.items.gold[0]) == 3 and int(s.items.npc_gold[0]) == 0
    held = row(s, 0)
    assert held[0][0] in ARMOR_KINDS and held[0][1:] == (item_level, 1, False)
    if config.professions:
        assert held[1][0] in TOOL_KINDS and held[1][1:] == (item_level, 1, False)
        assert info["items_in"][0] == 2
    else:
        assert held[1] == EMPTY and info["items_in"][0] == 1


def test_npc_drop_kinds_are_uniform():
    config = NPCS.replace(professions=True)
    s = npc_duel(dict(health=1, freeze=5), config=config)
    params = nj.default_params(config, hit_base=1.0, npc_spawn_attempts=0)
    kill = jax.jit(jax.vmap(lambda k: jit_step(k, s, acts(config, style={0: nj.MELEE},
                                                           target={0: A}), config, params)[1]
                            .items.kind[0, :2]))
    kinds = np.asarray(kill(jax.random.split(jax.random.PRNGKey(0), 3000)))
    for column, group in ((0, ARMOR_KINDS), (1, TOOL_KINDS)):
        share = np.array([(kinds[:, column] == k).mean() for k in group])
        np.testing.assert_allclose(share, 1 / len(group), atol=0.04)


@pytest.mark.slow
def test_spawn_gold_for_agents_and_npcs():
    config = nj.Config.small(inventory_slots=4, num_npcs=4, spawn_per_tick=2)
    obs, s = nj.jit_reset(jax.random.PRNGKey(3), config)
    assert int(s.items.gold.sum()) == 2 and int(obs.gold.sum()) == 2
    np.testing.assert_array_equal(s.items.npc_gold, np.where(s.npcs.alive, s.npcs.level, 0))
    _, s2, _, _, info = nj.jit_step(jax.random.PRNGKey(4), s, nj.Actions.noop(A, 4), config)
    np.testing.assert_array_equal(info["gold_in"], np.where(info["spawned"], 1, 0))
    np.testing.assert_array_equal(info["npc_gold_in"],
                                  np.where(info["npc_spawned"], s2.npcs.level, 0))
