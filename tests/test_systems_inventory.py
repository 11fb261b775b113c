"""The inventory's receive rule (docs/rules.md §10.1) on hand-built rows."""
import chex
import jax
import jax.numpy as jnp
import numpy as np

import nmmo_jax as nj
from nmmo_jax.state import ARROW, HAT, POTION, RUNES
from nmmo_jax.systems.inventory import clear, empty_items, receive

CONFIG = nj.Config.small(inventory_slots=3)


def rows(kind, level, quantity):
    items = empty_items(CONFIG)
    a = CONFIG.num_agents
    pad = lambda x: jnp.asarray(np.pad(np.asarray(x, np.int32), ((0, a - len(x)), (0, 0))))
    return items.replace(kind=pad(kind), level=pad(level), quantity=pad(quantity))


def one_each(kind, level, quantity, take):
    a = CONFIG.num_agents
    pad = lambda x, dtype=np.int32: jnp.asarray(np.pad(np.asarray(x, dtype), (0, a - len(x))))
    return pad(kind), pad(level), pad(quantity), pad(take, bool)


def test_receive_stacks_fills_the_lowest_empty_slot_and_destroys_without_room():
    items = rows(kind=[[ARROW, 0, 0], [HAT, POTION, RUNES], [ARROW, HAT, POTION], [0, HAT, 0]],
                 level=[[2, 0, 0], [1, 1, 1], [3, 1, 1], [0, 4, 0]],
                 quantity=[[5, 0, 0], [1, 1, 1], [2, 1, 1], [0, 1, 0]])
    # agent 0: an arrow of its stack's level joins the stack; agent 1: full, a hat is
    # destroyed; agent 2: full but holds a level-3 arrow stack, 4 arrows join it;
    # agent 3: a potion takes slot 0, the lowest empty one; agent 4 takes nothing.
    kind, level, qty, take = one_each([ARROW, HAT, ARROW, POTION, POTION], [2, 1, 3, 2, 1],
                                      [1, 1, 4, 1, 1], [True, True, True, True, False])
    out, kept = jax.jit(receive)(items, kind, level, qty, take)
    np.testing.assert_array_equal(kept[:5], [True, False, True, True, False])
    np.testing.assert_array_equal(out.quantity[:4], [[6, 0, 0], [1, 1, 1], [6, 1, 1], [1, 1, 0]])
    np.testing.assert_array_equal(out.kind[3], [POTION, HAT, 0])
    np.testing.assert_array_equal(out.level[3], [2, 4, 0])
    chex.assert_trees_all_equal(jax.tree.map(lambda x: x[4:], out), jax.tree.map(lambda x: x[4:], items))


def test_an_arrow_of_another_level_needs_its_own_slot():
    items = rows(kind=[[ARROW, 0, 0]], level=[[2, 0, 0]], quantity=[[5, 0, 0]])
    kind, level, qty, take = one_each([ARROW], [3], [1], [True])
    out, kept = receive(items, kind, level, qty, take)
    assert bool(kept[0])
    np.testing.assert_array_equal(out.kind[0], [ARROW, ARROW, 0])
    np.testing.assert_array_equal(out.level[0], [2, 3, 0])


def test_clear_empties_and_unequips():
    items = rows(kind=[[HAT, POTION, 0]], level=[[1, 1, 0]], quantity=[[1, 1, 0]])
    items = items.replace(equipped=items.equipped.at[0, 0].set(True))
    gone = jnp.zeros_like(items.equipped).at[0, 0].set(True)
    out = clear(items, gone)
    np.testing.assert_array_equal(out.kind[0], [0, POTION, 0])
    assert not bool(out.equipped.any())
