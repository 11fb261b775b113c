"""The item-aware yardstick `gear_forager` (policies/scripted.py; docs/rules.md §10):
potions when hurt, rations when hungry or thirsty, the best gear it can wear, the
tool of the resource it harvests, spare duplicates destroyed when full, steps onto
resource tiles; wary_forager exactly with items off; jit, vmap and a short play."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.state import (ARROW, AXE, BOTTOM, HAT, PICKAXE, POTION, RATION, ROD, SPEAR,
                            TOP, WHETSTONE)
from policies import scripted
from tests.conftest import jit_reset, jit_step, scene

ITEMS = nj.Config.small(spawn_per_tick=0, inventory_slots=4)
PROFESSIONS = ITEMS.replace(professions=True)
PLAY = nj.Config.small(inventory_slots=4, professions=True, spawn_per_tick=4)
ME = (10, 10)
STAY, N, S, E, W = range(5)
OBSERVE = jax.jit(nj.observe, static_argnums=1)
gear = jax.jit(scripted.gear_forager)
choice = jax.jit(scripted.item_choice)


def holding(state, held, slot=0):
    """state with agent `slot` holding `held`: (kind, level, equipped) per inventory
    slot 0, 1, ... (quantity 1; an arrow stack of 5)."""
    items = jax.tree.map(np.array, state.items)
    for i, (kind, level, on) in enumerate(held):
        items.kind[slot, i], items.level[slot, i], items.equipped[slot, i] = kind, level, on
        items.quantity[slot, i] = 5 if kind == ARROW else 1
    return state.replace(items=jax.tree.map(jnp.asarray, items))


def me(held=(), config=ITEMS, tiles=None, **fields):
    """One agent at ME (full bars unless `fields` say) holding `held`."""
    return holding(scene([dict(slot=0, pos=ME, **fields)], tiles, config=config), held)


def chosen(state, config=ITEMS):
    """(use, destroy) of agent 0 in `state`."""
    use, destroy = choice(OBSERVE(state, config))
    return int(use[0]), int(destroy[0])


def played(state, config=ITEMS, seed=0):
    """The state after one tick of gear_forager for everyone."""
    actions = gear(jax.random.PRNGKey(seed), OBSERVE(state, config))
    return jit_step(jax.random.PRNGKey(seed), state, actions, config)[1]


# --------------------------------------------------------------------- equipment
@pytest.mark.slow
def test_equips_the_best_hat_it_can_wear_and_not_one_above_its_level():
    # Level 11 is above the agent's level (10 at spawn): the mask refuses it.
    state = me([(HAT, 11, False), (HAT, 2, False), (HAT, 3, False)])
    assert chosen(state) == (2, -1)
    after = played(state)
    assert np.asarray(after.items.equipped[0]).tolist() == [False, False, True, False]
    assert chosen(after) == (-1, -1)  # on already: never used again (it would come off)


def test_a_weapon_waits_for_its_combat_level():
    # A spear needs the melee level (1 at spawn); the level-2 one is refused.
    assert chosen(me([(SPEAR, 2, False), (SPEAR, 1, False)])) == (1, -1)
    assert chosen(me([(SPEAR, 2, False)])) == (-1, -1)


def test_upgrades_but_never_takes_off_or_reuses_what_it_wears():
    assert chosen(me([(HAT, 2, True), (HAT, 4, False)])) == (1, -1)  # the better one goes on
    assert chosen(me([(HAT, 4, True), (HAT, 2, False)])) == (-1, -1)
    assert chosen(me([(HAT, 3, True), (HAT, 3, False)])) == (-1, -1)  # a tie keeps it on
    worn = [(HAT, 1, True), (TOP, 1, True), (BOTTOM, 1, True), (ARROW, 1, True)]
    assert chosen(me(worn)) == (-1, -1)


def test_armour_first_then_the_held_slot_then_ammunition():
    state = me([(ARROW, 1, False), (SPEAR, 1, False), (TOP, 1, False), (HAT, 1, False)])
    order = []
    for _ in range(5):
        order.append(chosen(state)[0])
        state = played(state)
    assert order == [3, 2, 1, 0, -1]
    assert bool(state.items.equipped[0].all())


def test_a_tool_beats_a_weapon_and_the_resource_names_the_tool():
    assert chosen(me([(SPEAR, 1, False), (ROD, 1, False)], PROFESSIONS)) == (1, -1)
    tools = [(AXE, 1, True), (PICKAXE, 1, False), (ROD, 1, False)]
    # Not on or by a resource: the axe it holds stays (ties keep the one on).
    assert chosen(me(tools, PROFESSIONS)) == (-1, -1)
    # On ore: the pickaxe, so this tick's harvest drops level 2.
    on_ore = me(tools, PROFESSIONS, {ME: nj.ORE})
    assert chosen(on_ore, PROFESSIONS) == (1, -1)
    after = played(on_ore, PROFESSIONS)
    assert np.asarray(after.items.kind[0]).tolist()[3] == WHETSTONE
    assert int(after.items.level[0, 3]) == 2  # 1 + the pickaxe's level
    # Next to a fish: the rod.
    assert chosen(me(tools, PROFESSIONS, {(9, 10): nj.FISH}), PROFESSIONS) == (2, -1)


def test_the_wanted_tool_beats_a_higher_level_tool():
    state = me([(AXE, 1, False), (PICKAXE, 1, False)], PROFESSIONS, {ME: nj.TREE})
    assert chosen(state, PROFESSIONS) == (0, -1)


# ------------------------------------------------------------------- consumables
@pytest.mark.parametrize("fields, eats", [
    (dict(food=4), True), (dict(water=3), True), (dict(food=1, water=1), True),
    (dict(food=5), False), (dict(food=10, water=10), False), (dict(water=6), False),
])
def test_eats_a_ration_when_hungry_or_thirsty_and_not_when_fed(fields, eats):
    # RATION_AT = 0.4: food or water at most 4 of 10.
    state = me([(HAT, 1, True), (RATION, 2, False), (RATION, 1, False)], **fields)
    assert chosen(state) == ((2 if eats else -1), -1)  # the lowest-level ration first
    if eats:
        after = played(state)
        assert np.asarray(after.items.kind[0]).tolist() == [HAT, RATION, 0, 0]
        # The level-1 ration: floor(10 x 0.55) = 5 each, up to 10, then the tick's decay.
        for bar in ("food", "water"):
            assert int(getattr(after.agents, bar)[0]) == min(fields.get(bar, 10) + 5, 10) - 1


def test_drinks_a_potion_when_hurt_before_eating_or_dressing():
    held = [(HAT, 1, False), (RATION, 1, False), (POTION, 1, False)]
    assert chosen(me(held, health=5, food=2)) == (2, -1)  # POTION_AT = 0.5
    assert chosen(me(held, health=6, food=2)) == (1, -1)  # not hurt: the ration
    assert chosen(me(held, health=6)) == (0, -1)  # neither: the hat
    after = played(me(held, health=3))
    assert int(after.agents.health[0]) >= 3 + 5 - 1 and int(after.items.kind[0, 2]) == 0


def test_a_consumable_above_its_level_is_not_chosen():
    assert chosen(me([(POTION, 11, False)], health=2)) == (-1, -1)


# ----------------------------------------------------------------------- destroy
def test_destroys_the_lowest_spare_only_when_full():
    full = [(HAT, 3, True), (HAT, 2, False), (HAT, 1, False), (RATION, 1, False)]
    assert chosen(me(full)) == (-1, 2)
    assert chosen(me(full[:3])) == (-1, -1)  # a slot is empty: keep everything
    # Consumables and unbeaten items are never spare; a usable equal is (lower slot kept).
    assert chosen(me([(RATION, 1, False)] * 4)) == (-1, -1)
    assert chosen(me([(HAT, 1, True), (TOP, 1, True), (BOTTOM, 1, True), (POTION, 1, False)])
                  ) == (-1, -1)
    assert chosen(me([(TOP, 2, False), (TOP, 2, False), (RATION, 1, False),
                      (RATION, 1, False)])) == (0, 1)
    # An item it cannot use yet beats nothing: the spear L1 stays beside a spear L3.
    assert chosen(me([(SPEAR, 3, False), (SPEAR, 1, True), (RATION, 1, False),
                      (RATION, 1, False)])) == (-1, -1)


# ---------------------------------------------------------------------- movement
def moves(state, config, draws=32):
    obs = OBSERVE(state, config)
    keys = jax.random.split(jax.random.PRNGKey(0), draws)
    return set(np.asarray(jax.vmap(gear, (0, None))(keys, obs).move[:, 0]).tolist())


def test_steps_onto_a_resource_next_to_it_when_fed_and_watered():
    lake = {(7, c): nj.WATER for c in range(3, 18)}  # fed: it walks north to drink
    walk = lambda tiles, **fields: moves(me(config=PROFESSIONS, tiles=lake | tiles, **fields),
                                         PROFESSIONS)
    assert walk({}) == {N}
    assert walk({(10, 11): nj.ORE}) == {E}
    assert walk({(11, 10): nj.HERB}) == {S}
    assert walk({(10, 11): nj.TREE, (10, 9): nj.CRYSTAL}) == {E}  # the first of N, S, E, W
    # Harvested already (slag), thirsty, or hungry with a forest to the west: no detour.
    assert walk({(10, 11): nj.SLAG}) == {N}
    assert walk({(10, 11): nj.ORE}, water=5) == {N}
    assert walk({(10, 11): nj.ORE, (10, 8): nj.FOREST}, food=3) == {W}


def test_a_hostile_npc_outranks_the_resource():
    # Reach max(ranges) + 1 = 4: the ore (col 11) is 3 from the hostile at col 14,
    # the agent's cell 4, west 5 (out of reach): only west is least inside it.
    config = PROFESSIONS.replace(num_npcs=2)
    state = me(config=config, tiles={(10, 11): nj.ORE})
    assert moves(state, config) == {E}
    npcs = jax.tree.map(np.array, state.npcs)
    npcs.alive[0], npcs.pos[0], npcs.kind[0], npcs.level[0] = True, (10, 14), nj.HOSTILE, 1
    npcs.health[0], npcs.target[0], npcs.attacker[0], npcs.ring[0] = 10, -1, -1, -1
    assert moves(state.replace(npcs=jax.tree.map(jnp.asarray, npcs)), config) == {W}


@pytest.mark.parametrize("config, on", [(ITEMS, False), (ITEMS.replace(num_npcs=2), True),
                                        (nj.Config.small(num_npcs=2), True),
                                        (nj.Config.small(), False)])
def test_the_npc_aware_yardsticks_see_npcs_in_worlds_with_items(config, on):
    # The item_level column follows the NPC columns: the kind columns keep their places.
    assert scripted.npcs_on(OBSERVE(scene([dict(slot=0, pos=ME)], config=config), config)) == on


def test_its_paths_cross_resource_tiles():
    # Water to the east behind a wall of stone with a gap of ore: through the ore.
    wall = {(r, 12): nj.STONE for r in range(3, 18)} | {(10, 12): nj.SLAG}
    tiles = wall | {(r, 14): nj.WATER for r in range(3, 18)}
    assert moves(me(config=PROFESSIONS, tiles=tiles), PROFESSIONS) == {E}


# --------------------------------------------------------------- items off, vmap
def _reset_obs(config, seeds=(3, 4)):
    keys = jnp.stack([jax.random.PRNGKey(s) for s in seeds])
    worlds = [jit_reset(k, config)[0] for k in keys]
    return keys, jax.tree.map(lambda *x: jnp.stack(x), *worlds), worlds


@pytest.mark.slow
@pytest.mark.parametrize("config", [nj.Config.small(), nj.Config.small(num_npcs=4)])
def test_with_items_off_it_is_wary_forager_exactly(config):
    keys, obs, _ = _reset_obs(config)
    got = jax.jit(jax.vmap(scripted.gear_forager))(keys, obs)
    want = jax.jit(jax.vmap(scripted.wary_forager))(keys, obs)
    assert got.use is None and got.destroy is None
    for field in ("move", "style", "target"):
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field))


@pytest.mark.slow
def test_with_items_but_no_resources_it_moves_as_wary_forager():
    config = nj.Config.small(inventory_slots=4)
    keys, obs, _ = _reset_obs(config)
    got = jax.jit(jax.vmap(scripted.gear_forager))(keys, obs)
    want = jax.jit(jax.vmap(scripted.wary_forager))(keys, obs)
    np.testing.assert_array_equal(got.move, want.move)


@pytest.mark.slow
@pytest.mark.parametrize("config", [PLAY, PLAY.replace(num_npcs=4)])
def test_jit_vmap_over_worlds_and_determinism(config):
    keys, obs, worlds = _reset_obs(config)
    batched = jax.jit(jax.vmap(scripted.gear_forager))(keys, obs)
    a = config.num_agents
    for field in ("move", "style", "target", "use", "destroy"):
        got = getattr(batched, field)
        assert got.shape == (2, a) and got.dtype == jnp.int32
        np.testing.assert_array_equal(got[1], getattr(gear(keys[1], worlds[1]), field))
    nj.check_actions(jax.tree.map(lambda x: x[0], batched), config)


# ------------------------------------------------------------------- evaluation
def test_item_aware_yardsticks_play_only_where_items_exist():
    from train.evaluation import cache
    v13 = cache.scripted_policies(nj.Config.small())
    npcs = cache.scripted_policies(nj.Config.small(num_npcs=8))
    assert list(v13) == ["random", "forager", "yielding_forager", "careful_forager", "combat"]
    assert list(npcs) == list(v13) + ["wary_forager", "hunter"]
    assert list(cache.scripted_policies(nj.Config.small(inventory_slots=4))) == list(v13) + [
        "gear_forager"]
    assert list(cache.scripted_policies(nj.Config.small(num_npcs=8, inventory_slots=4))) == (
        list(npcs) + ["gear_forager"])
    assert "gear_forager" in cache.scripted_policies()


# ------------------------------------------------------------------------ a play
@jax.jit
def _eaten(obs, use):
    """Consumables that the uses [A] eat: slots holding a ration or a potion the
    agent may use (an agent in the observation acts in the next tick)."""
    kind, _, _ = scripted.inventory_items(obs)
    slot = jnp.clip(use, 0, PLAY.inventory_slots - 1)[:, None]
    picked = (use >= 0) & jnp.take_along_axis(obs.use_mask, slot, 1)[:, 0]
    food = jnp.take_along_axis(kind, slot, 1)[:, 0]
    return jnp.sum(picked & ((food == RATION) | (food == POTION)))


def _play(policy, ticks=200, seed=0):
    """(equipped item-ticks, consumables used, items out) of one PLAY world."""
    policy = jax.jit(policy)
    obs, state = jit_reset(jax.random.PRNGKey(seed), PLAY)
    worn = eaten = out = 0  # summed on the device: one read at the end
    none = jnp.full(PLAY.num_agents, -1, jnp.int32)
    for key in jax.random.split(jax.random.PRNGKey(seed + 1), ticks):
        k_act, k_env = jax.random.split(key)
        actions = policy(k_act, obs)
        if actions.use is None:  # a policy that never uses items
            actions = actions.replace(use=none, destroy=none)
        eaten += _eaten(obs, actions.use)
        obs, state, _, _, info = jit_step(k_env, state, actions, PLAY)
        worn += state.items.equipped.sum()
        out += info["items_out"].sum()
    return int(worn), int(eaten), int(out)


@pytest.mark.slow  # compiles a step with items and professions: about 17-25 s on 2 cores
def test_a_short_play_wears_and_eats_more_than_a_policy_without_items():
    # Seed 0 gives (519, 42, 81) against careful_forager's (0, 0, 10).
    worn, eaten, out = _play(scripted.gear_forager)
    never_worn, never_eaten, never_out = _play(scripted.careful_forager)
    assert never_worn == never_eaten == 0
    assert worn > 0 and eaten > 0 and out > never_out
