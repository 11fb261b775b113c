"""Give and GiveGold (docs/rules.md §10.5a) on hand-built scenes."""
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.state import ARROW, HAT, RATION, SPEAR, TOP, WHETSTONE
from tests.conftest import scene
from tests.test_systems_items import EMPTY, ITEMS, OBSERVE, acts, row, step
from tests.test_systems_items import give as holding

A = ITEMS.num_agents
SPEAR1 = (SPEAR, 1, 1, False)


def gifts(give=None, to=None, gold=None, **kw):
    """`acts` with {slot: value} gives (inventory slot), give_to and give_gold (-1 elsewhere)."""
    arrays = [np.full(A, -1, np.int32) for _ in range(3)]
    for array, spec in zip(arrays, (give, to, gold)):
        for i, v in (spec or {}).items():
            array[i] = v
    give, to, gold = map(jnp.asarray, arrays)
    return acts(**kw).replace(give=give, give_to=to, give_gold=gold)


def pair(pos1=(10, 10), held0=(SPEAR1,), held1=(), gold0=5, gold1=1):
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=pos1)], config=ITEMS)
    return holding(holding(s, 0, held0, gold=gold0), 1, held1, gold=gold1)


@pytest.mark.slow
def test_item_and_gold_go_to_an_agent_on_the_same_tile():
    s, _, info = step(pair(), gifts(give={0: 0}, to={0: 1}, gold={0: 3}))
    assert row(s, 0) == [EMPTY] * 4 and row(s, 1) == [SPEAR1] + [EMPTY] * 3
    assert (int(s.items.gold[0]), int(s.items.gold[1])) == (2, 4)
    assert int(info["items_in"].sum()) == int(info["items_out"].sum()) == 0  # a move, not a flow


def test_gold_given_is_capped_by_the_gold_held():
    s, _, _ = step(pair(gold0=5, gold1=1), gifts(to={0: 1}, gold={0: 100}))
    assert (int(s.items.gold[0]), int(s.items.gold[1])) == (0, 6)


@pytest.mark.parametrize("case", ["adjacent", "self", "nobody", "past the slots", "equipped",
                                  "empty slot", "dead"])
def test_refused_gifts_change_nothing(case):
    s = pair(pos1=(10, 11) if case == "adjacent" else (10, 10),
             held0=((SPEAR, 1, 1, True),) if case == "equipped" else (SPEAR1,))
    to = {"self": 0, "nobody": -1, "past the slots": A, "dead": 2}.get(case, 1)
    slot = 1 if case == "empty slot" else 0
    after, _, _ = step(s, gifts(give={0: slot}, to={0: to}, gold={0: 0}))
    assert row(after, 0) == row(s, 0) and row(after, 1) == row(s, 1)
    np.testing.assert_array_equal(after.items.gold, s.items.gold)


def test_a_full_recipient_takes_only_ammunition_it_stacks():
    full = [(HAT, 1, 1, False), (TOP, 1, 1, False), (ARROW, 2, 4, False), (RATION, 1, 1, False)]
    s = pair(held0=[SPEAR1, (ARROW, 2, 3, False), (ARROW, 1, 3, False)], held1=full)
    refused, _, _ = step(s, gifts(give={0: 0}, to={0: 1}))  # the spear: no room
    assert row(refused, 0) == row(s, 0) and row(refused, 1) == full
    stacked, _, _ = step(s, gifts(give={0: 1}, to={0: 1}))  # arrows of the same level: stack
    assert row(stacked, 1)[2] == (ARROW, 2, 7, False) and row(stacked, 0)[1] == EMPTY
    other, _, _ = step(s, gifts(give={0: 2}, to={0: 1}))  # arrows of another level: no room
    assert row(other, 0) == row(s, 0)


def test_one_item_per_recipient_per_tick_the_lowest_giver_wins():
    s = scene([dict(slot=i, pos=(10, 10)) for i in range(3)], config=ITEMS)
    s = holding(holding(s, 0, [SPEAR1], gold=1), 2, [(WHETSTONE, 1, 2, False)], gold=1)
    after, _, _ = step(s, gifts(give={0: 0, 2: 0}, to={0: 1, 2: 1}, gold={0: 1, 2: 1}))
    assert row(after, 1)[0] == SPEAR1 and row(after, 1)[1] == EMPTY
    assert row(after, 2)[0] == (WHETSTONE, 1, 2, False)  # kept by its giver
    assert [int(g) for g in after.items.gold[:3]] == [0, 2, 0]  # gold from both: no limit


def test_two_agents_swap_items_in_one_tick():
    s = pair(held0=[SPEAR1], held1=[(HAT, 1, 1, False)])
    after, _, _ = step(s, gifts(give={0: 0, 1: 0}, to={0: 1, 1: 0}))
    assert row(after, 0)[0] == (HAT, 1, 1, False) and row(after, 1)[0] == SPEAR1


def test_order_is_use_then_give_then_destroy():
    s = pair(held0=[SPEAR1, (HAT, 1, 1, False)])
    # Giving and destroying one slot: it is given first, so nothing is destroyed.
    given, _, info = step(s, gifts(give={0: 0}, to={0: 1}, destroy={0: 0}))
    assert row(given, 1)[0] == SPEAR1 and int(info["items_out"][0]) == 0
    # Using (equipping) and giving one slot: it is equipped first, so it stays.
    worn, _, _ = step(s, gifts(give={0: 1}, to={0: 1}, use={0: 1}))
    assert row(worn, 0)[1] == (HAT, 1, 1, True) and row(worn, 1)[0] == EMPTY


def test_give_mask_marks_other_agents_on_the_tile():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 10)),
               dict(slot=2, pos=(10, 11))], config=ITEMS)
    obs = OBSERVE(s, ITEMS)
    listed = lambda i: {int(k): bool(m) for k, m, on in
                        zip(obs.entity_slot[i], obs.give_mask[i], obs.entity_mask[i]) if on}
    assert listed(0) == {0: False, 1: True, 2: False}
    assert listed(2) == {2: False, 0: False, 1: False}


def test_check_actions_refuses_gifts_with_items_off():
    nj.check_actions(gifts(), ITEMS)
    off = nj.Config.small()
    with pytest.raises(ValueError, match=r"actions.give_to: expected None"):
        nj.check_actions(nj.Actions.noop(off.num_agents).replace(
            give_to=jnp.zeros(off.num_agents, jnp.int32)), off)
    with pytest.raises(ValueError, match=r"actions.give_gold: expected an integer array"):
        nj.check_actions(gifts().replace(give_gold=jnp.zeros(A - 1, jnp.int32)), ITEMS)
