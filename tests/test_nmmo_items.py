"""Items in the whole step (docs/rules.md §10): conservation of item units and gold
over long random play, the observation, the checks, determinism and vmap."""
import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.state import (ARROW, EQUIP_SLOT_OF, HAT, ITEM_FEATURES, NUM_EQUIP_SLOTS, POTION,
                            SPEAR)
from nmmo_jax.systems.inventory import receive
from policies.scripted import random_policy
from tests.conftest import scene
from tests.test_systems_items import EMPTY, give, with_npc

# Weak NPCs (npc_health 3) and likely hits (hit_base 0.9 in `played`), so that kills,
# loot and drops happen often.
WORLD = nj.Config.small(inventory_slots=4, num_npcs=8, spawn_per_tick=2)


def totals(state):
    """(item units, gold including the NPCs') of a world."""
    return jnp.sum(state.items.quantity), jnp.sum(state.items.gold) + jnp.sum(state.items.npc_gold)


def inject(key, state):
    """Each living agent receives a random item with probability 0.3 (any kind,
    level 1..3, 1..4 units of ammunition). Returns (state, units kept)."""
    a = state.agents.alive.shape[0]
    k_take, k_kind, k_level, k_qty = jax.random.split(key, 4)
    kind = jax.random.randint(k_kind, (a,), 2, nj.NUM_ITEM_KINDS)
    level = jax.random.randint(k_level, (a,), 1, 4)
    ammunition = (kind >= nj.WHETSTONE) & (kind <= nj.RUNES)
    quantity = jnp.where(ammunition, jax.random.randint(k_qty, (a,), 1, 5), 1)
    take = state.agents.alive & (jax.random.uniform(k_take, (a,)) < 0.3)
    items, kept = receive(state.items, kind, level, quantity, take)
    return state.replace(items=items), jnp.sum(jnp.where(kept, quantity, 0))


def invariants(state):
    """bool: the rules `check_state` checks, inside jit."""
    it, alive = state.items, state.agents.alive[:, None]
    empty = it.kind == 0
    slot_of = jnp.asarray(EQUIP_SLOT_OF)[it.kind]
    worn = jnp.stack([jnp.sum(it.equipped & (slot_of == e), axis=1)
                      for e in range(NUM_EQUIP_SLOTS)])
    return (jnp.all(it.quantity >= 0) & jnp.all(empty == (it.quantity == 0))
            & jnp.all(~it.equipped | (slot_of >= 0)) & jnp.all(worn <= 1)
            & jnp.all(alive | empty) & jnp.all(state.agents.alive | (it.gold == 0))
            & jnp.all(it.gold >= 0) & jnp.all(it.npc_gold >= 0))


def play(config, params, worlds, ticks, seed=0):
    """Random play with items injected every tick, vmapped over worlds. Returns
    (final states, per tick [T, W]: units and gold changes minus the step's
    recorded flows (all 0 when conserved), invariants, units used/destroyed/fired
    or lost, drops and harvests received, agents giving to someone on their tile)."""
    n_slots = config.inventory_slots

    def one_tick(carry, key):
        state, obs = carry
        k_act, k_items, k_inject, k_step = jax.random.split(key, 4)
        state, injected = inject(k_inject, state)
        items_before, gold_before = totals(state)
        actions = random_policy(k_act, obs)
        k_use, k_destroy, k_often = jax.random.split(k_items, 3)
        a = config.num_agents
        use = jax.random.randint(k_use, (a,), -1, n_slots + 1)
        destroy = jnp.where(jax.random.uniform(k_often, (a,)) < 0.1,
                            jax.random.randint(k_destroy, (a,), -1, n_slots + 1), -1)
        # Gifts: a random slot and some gold to the first agent on the tile, if any.
        k_give, k_gold = jax.random.split(k_often)
        row = jnp.argmax(obs.give_mask, axis=1)
        to = jnp.where(obs.give_mask.any(axis=1),
                       jnp.take_along_axis(obs.entity_slot, row[:, None], axis=1)[:, 0], -1)
        actions = actions.replace(use=use, destroy=destroy, give_to=to,
                                  give=jax.random.randint(k_give, (a,), -1, n_slots + 1),
                                  give_gold=jax.random.randint(k_gold, (a,), -1, 4))
        obs, state, _, _, info = nj.step(k_step, state, actions, config, params)
        items_after, gold_after = totals(state)
        total = lambda *names: sum(jnp.sum(info[name]) for name in names)
        item_gap = items_after - items_before - total("items_in") + total("items_out")
        gold_gap = (gold_after - gold_before - total("gold_in", "npc_gold_in")
                    + total("gold_out", "npc_gold_out"))
        return (state, obs), (item_gap, gold_gap, invariants(state), jnp.sum(info["items_out"]),
                              jnp.sum(info["items_in"]), injected, jnp.sum(to >= 0))

    def world(key):
        k_reset, k_ticks = jax.random.split(key)
        obs, state = nj.reset(k_reset, config, params)
        (state, _), per_tick = jax.lax.scan(one_tick, (state, obs),
                                            jax.random.split(k_ticks, ticks))
        return state, per_tick

    keys = jax.random.split(jax.random.PRNGKey(seed), worlds)
    return jax.jit(jax.vmap(world))(keys)


@functools.lru_cache(maxsize=None)
def played(professions, worlds, ticks):
    """`play` on WORLD (with professions or not), once per session for each shape."""
    config = WORLD.replace(professions=professions)
    params = nj.default_params(config, npc_health=3, hit_base=0.9)
    return config, play(config, params, worlds, ticks)


def check_conserved(professions, worlds, ticks):
    config, (states, per_tick) = played(professions, worlds, ticks)
    item_gap, gold_gap, ok, out, came, injected, gifts = per_tick
    np.testing.assert_array_equal(item_gap, 0)
    np.testing.assert_array_equal(gold_gap, 0)
    assert bool(np.all(ok))
    assert int(np.sum(out)) > 0 and int(np.sum(injected)) > 0 and int(np.sum(gifts)) > 0
    nj.check_state(states, config, batch=(worlds,))
    return states, came


@pytest.mark.slow
@pytest.mark.parametrize("professions", [False, True])
def test_items_and_gold_are_conserved_in_short_random_play(professions):
    check_conserved(professions, 2, 150)


@pytest.mark.slow
@pytest.mark.parametrize("professions", [False, True])
def test_items_and_gold_are_conserved_over_long_random_play(professions):
    _, came = check_conserved(professions, 4, 2000)
    assert int(np.sum(came)) > 0  # drops (and harvests) entered the game


# ------------------------------------------------------------------- determinism
def random_actions(key, config, worlds):
    """Uniform actions [W, A], out-of-range values (-1 and the top) included."""
    a, slots = config.num_agents, config.inventory_slots
    k = jax.random.split(key, 8)
    draw = lambda key, high: jax.random.randint(key, (worlds, a), -1, high)
    return nj.Actions(move=draw(k[0], 5), style=draw(k[1], 3), target=draw(k[2], config.num_slots),
                      use=draw(k[3], slots + 1), destroy=draw(k[4], slots + 1),
                      give=draw(k[5], slots + 1), give_to=draw(k[6], a + 1),
                      give_gold=draw(k[7], 3))


@pytest.mark.slow
def test_vmap_equals_loop_and_is_deterministic():
    config, (states, _) = played(True, 2, 150)  # inventories hold things after random play
    params = nj.default_params(config, npc_health=3, hit_base=0.9)
    actions = random_actions(jax.random.PRNGKey(1), config, 2)
    keys = jax.random.split(jax.random.PRNGKey(2), 2)
    assert int(states.items.kind.astype(bool).sum()) > 0
    batched = jax.vmap(nj.jit_step, in_axes=(0, 0, 0, None, None))(keys, states, actions, config,
                                                                   params)
    for w in range(2):
        pick = lambda x: x[w]
        one = nj.jit_step(keys[w], jax.tree.map(pick, states), jax.tree.map(pick, actions),
                          config, params)
        again = nj.jit_step(keys[w], jax.tree.map(pick, states), jax.tree.map(pick, actions),
                            config, params)
        chex.assert_trees_all_equal(one, again)
        chex.assert_trees_all_equal(one, jax.tree.map(pick, batched))


# ------------------------------------------------------------------- observation
OBS_SCENE = nj.Config.small(spawn_per_tick=0, inventory_slots=4, num_npcs=2)


@pytest.mark.slow
def test_inventory_observation_masks_gold_and_item_level():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11))], config=OBS_SCENE)
    s = give(s, 0, [(HAT, 2, 1, True), (ARROW, 1, 3, False), EMPTY, (POTION, 11, 1, False)],
             gold=5)
    s = give(s, 1, [(SPEAR, 3, 1, True), (HAT, 4, 1, True)])
    s = with_npc(s, 0, (10, 12))
    params = nj.default_params(OBS_SCENE)
    obs = jax.jit(nj.observe, static_argnums=1)(s, OBS_SCENE, params)
    names = list(ITEM_FEATURES)
    assert obs.inventory.shape == (16, 4, len(ITEM_FEATURES))
    hat, arrow = np.zeros(len(names), np.float32), np.zeros(len(names), np.float32)
    hat[names.index("hat")], hat[names.index("level")] = 1, 0.2
    hat[names.index("quantity")], hat[names.index("equipped")] = 0.1, 1  # log2(2) / 10
    arrow[names.index("arrow")], arrow[names.index("level")] = 1, 0.1
    arrow[names.index("quantity")] = 0.2  # log2(4) / 10
    np.testing.assert_allclose(obs.inventory[0, 0], hat, rtol=1e-6)
    np.testing.assert_allclose(obs.inventory[0, 1], arrow, rtol=1e-6)
    np.testing.assert_array_equal(obs.inventory[0, 2], 0)
    # The level-1 arrow needs range level 1; the level-11 potion the agent's level 11.
    np.testing.assert_array_equal(obs.use_mask[0], [True, True, False, False])
    np.testing.assert_array_equal(obs.destroy_mask[0], [False, True, False, True])
    assert int(obs.gold[0]) == 5 and not obs.use_mask[2:].any() and not obs.destroy_mask[2:].any()
    # Entity rows: the last column is the equipped levels / (5 x 10).
    names = nj.entity_feature_names(OBS_SCENE.num_npcs, OBS_SCENE.inventory_slots)
    assert obs.entities.shape[-1] == len(names) == 20 and names[-1] == "item_level"
    slots = list(np.asarray(obs.entity_slot[0, :3]))
    assert slots == [0, 1, 16]
    np.testing.assert_allclose(obs.entities[0, :3, -1], [2 / 50, 7 / 50, 0.0], rtol=1e-6)


def test_items_off_keeps_v13_pytrees():
    config = nj.Config.small()
    obs, state = nj.jit_reset(jax.random.PRNGKey(0), config)
    assert state.items is None and obs.inventory is None and obs.gold is None
    assert obs.entities.shape[-1] == len(nj.entity_feature_names(0)) == 15
    noop = nj.Actions.noop(16)
    assert noop.use is None and noop.destroy is None
    assert len(jax.tree.leaves(noop)) == 3 and len(jax.tree.leaves(obs)) == 7


# ------------------------------------------------------------------------ checks
ITEMS = nj.Config.small(spawn_per_tick=0, inventory_slots=4)


def test_check_actions_use_and_destroy():
    nj.check_actions(nj.Actions.noop(16, 4), ITEMS)
    nj.check_actions(nj.Actions.noop(16), ITEMS)  # None: nobody uses or destroys
    with pytest.raises(ValueError, match=r"actions.use: expected None"):
        nj.check_actions(nj.Actions.noop(16, 4), nj.Config.small())
    bad = nj.Actions.noop(16, 4).replace(destroy=jnp.zeros(15, jnp.int32))
    with pytest.raises(ValueError, match=r"actions.destroy: expected an integer array"):
        nj.check_actions(bad, ITEMS)


def _broken(change):
    s = give(scene([dict(slot=0, pos=(10, 10))], config=ITEMS), 0,
             [(HAT, 1, 1, True), (ARROW, 1, 3, False)], gold=2)
    nj.check_state(s, ITEMS)
    return change(s)


@pytest.mark.parametrize("change,message", [
    (lambda s: give(s, 0, [(HAT, 1, 0, True)]), r"quantity\[0, 0\]"),
    (lambda s: give(s, 0, [(HAT, 1, 1, True), (HAT, 1, 1, True)]), r"equipment slot 0"),
    (lambda s: give(s, 0, [(POTION, 1, 1, True)]), r"equipped\[0, 0\]"),
    (lambda s: give(s, 1, [(HAT, 1, 1, False)]), r"dead agent's rows"),
    (lambda s: give(s, 0, [], gold=-1), r"gold\[0\]"),
    (lambda s: give(s, 1, [], gold=3), r"gold: expected 0 in a dead"),
    (lambda s: s.replace(items=None), r"state.items: expected a nmmo_jax.Items"),
])
def test_check_state_names_broken_item_rules(change, message):
    with pytest.raises(ValueError, match=message):
        nj.check_state(_broken(change), ITEMS)
