"""Scripted baselines: forager paths, lava safety, combat target choice, and lifetimes."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from policies import scripted
from tests.conftest import SCENE, jit_reset, jit_step, scene

STAY, N, S, E, W = range(5)
ME = (10, 10)
forager = jax.jit(scripted.forager)
combat = jax.jit(scripted.combat)
careful = jax.jit(scripted.careful_forager)
yielding = jax.jit(scripted.yielding_forager)
observe = jax.jit(nj.observe, static_argnames="config")


def moves(policy, state, slot=0, draws=64):
    """The set of moves `policy` makes for `slot` over `draws` keys."""
    obs = observe(state, SCENE)
    keys = jax.random.split(jax.random.PRNGKey(0), draws)
    return set(np.asarray(jax.vmap(policy, (0, None))(keys, obs).move[:, slot]).tolist())


def hungry(**kw):
    return dict(slot=0, pos=ME, food=2, water=10, **kw)


def thirsty(**kw):
    return dict(slot=0, pos=ME, food=10, water=2, **kw)


def test_forager_walks_to_the_forest_when_hungry():
    assert moves(forager, scene([hungry()], {(10, 13): nj.FOREST})) == {E}
    assert moves(forager, scene([hungry()], {(13, 10): nj.FOREST})) == {S}


def test_forager_walks_around_a_wall_not_into_it():
    wall = {(r, 11): nj.STONE for r in range(8, 13)}  # a wall between it and the forest
    got = moves(forager, scene([hungry()], {**wall, (10, 13): nj.FOREST}))
    assert got <= {N, S} and got  # around the wall; greedy-by-distance would try E


def test_forager_goes_to_the_water_edge_when_thirsty():
    # Water at (10, 14): (10, 13) is next to it, 3 steps east.
    assert moves(forager, scene([thirsty()], {(10, 14): nj.WATER})) == {E}


def test_forager_takes_the_lower_of_food_and_water():
    tiles = {(10, 13): nj.FOREST, (10, 6): nj.WATER}  # forest east, water edge (10, 7) west
    assert moves(forager, scene([hungry()], tiles)) == {E}
    assert moves(forager, scene([thirsty()], tiles)) == {W}


def test_forager_stays_on_its_goal():
    assert moves(forager, scene([hungry()], {ME: nj.FOREST})) == {STAY}
    assert moves(forager, scene([thirsty()], {(10, 11): nj.WATER})) == {STAY}


def test_forager_never_steps_onto_lava_even_toward_food():
    # The only forest is behind lava: it must not take the short way.
    tiles = {(10, 11): nj.LAVA, (10, 12): nj.FOREST}
    got = moves(forager, scene([hungry()], tiles), draws=256)
    assert E not in got and got


def test_forager_wanders_safely_when_nothing_is_in_sight():
    lava = {(9, 10): nj.LAVA, (10, 9): nj.LAVA}  # N and W are lava, S and E grass
    got = moves(forager, scene([hungry()], lava), draws=256)
    assert got <= {STAY, S, E} and len(got) >= 2


def test_careful_forager_walks_around_a_forest_to_the_water():
    # Stepping E onto the forest is the short way to the water; with food above half
    # the careful forager keeps the forest for later, the forager walks over it.
    tiles = {(10, 11): nj.FOREST, (10, 13): nj.WATER}
    assert moves(careful, scene([dict(slot=0, pos=ME, food=8, water=2)], tiles)) == {N, S}
    assert moves(forager, scene([dict(slot=0, pos=ME, food=8, water=2)], tiles)) == {E}


def test_careful_forager_seeks_food_only_at_half_or_less():
    tiles = {(10, 13): nj.FOREST, (10, 7): nj.WATER}  # forest E, water edge W
    assert moves(careful, scene([dict(slot=0, pos=ME, food=5, water=10)], tiles)) == {E}
    assert moves(careful, scene([dict(slot=0, pos=ME, food=6, water=10)], tiles)) == {W}
    # no water in sight: food it is, even above half
    assert moves(careful, scene([dict(slot=0, pos=ME, food=6)], {(10, 13): nj.FOREST})) == {E}


def test_careful_forager_walks_away_from_lava_when_nothing_is_in_sight():
    lava = {(3, c): nj.LAVA for c in range(SCENE.map_size)}  # a lava row at the window's top
    assert moves(careful, scene([hungry()], lava), draws=256) == {S}


def test_yielding_forager_leaves_an_occupied_forest_to_its_occupant():
    tiles = {(10, 12): nj.FOREST, (10, 6): nj.FOREST}  # 2 steps east, 4 steps west
    alone = scene([hungry()], tiles)
    crowded = scene([hungry(), dict(slot=1, pos=(10, 12))], tiles)
    assert moves(forager, crowded) == {E}      # the forager walks to the nearest forest anyway
    assert moves(yielding, alone) == {E}
    assert moves(yielding, crowded) == {W}     # the yielding one takes the free forest
    # Alone on a forest it stays to eat; a forest it shares counts as occupied too.
    shared = scene([hungry(), dict(slot=1, pos=ME)], {ME: nj.FOREST, (10, 6): nj.FOREST})
    assert moves(yielding, scene([hungry()], {ME: nj.FOREST})) == {STAY}
    assert moves(yielding, shared, slot=1) == {W}


def test_combat_attacks_the_weakest_valid_target_with_a_reaching_style():
    state = scene([dict(slot=0, pos=ME),
                   dict(slot=5, pos=(10, 11), health=8),            # distance 1
                   dict(slot=6, pos=(12, 10), health=3),            # distance 2, weakest valid
                   dict(slot=7, pos=(10, 13), health=5),            # distance 3
                   dict(slot=9, pos=(11, 11), health=1, immune=5)])  # weakest but immune
    obs = observe(state, SCENE)
    actions = combat(jax.random.PRNGKey(0), obs)
    assert int(actions.target[0]) == 6
    assert int(actions.style[0]) == nj.MAGE  # range 2 only just reaches distance 2; mage has slack


def test_combat_prefers_the_stronger_style_that_reaches_with_slack():
    state = scene([dict(slot=0, pos=ME), dict(slot=4, pos=(11, 11))])  # distance 1
    actions = combat(jax.random.PRNGKey(0), observe(state, SCENE))
    # melee reaches only if neither moves away; range (2 > 1) has slack and beats mage on damage
    assert int(actions.target[0]) == 4 and int(actions.style[0]) == nj.RANGE


def test_combat_does_not_attack_when_nothing_is_valid():
    state = scene([dict(slot=0, pos=ME), dict(slot=3, pos=(10, 16))])  # distance 6: out of reach
    actions = combat(jax.random.PRNGKey(0), observe(state, SCENE))
    np.testing.assert_array_equal(actions.target, np.arange(SCENE.num_agents))


def test_forager_never_attacks():
    state = scene([dict(slot=0, pos=ME), dict(slot=3, pos=(10, 11), health=1)])
    actions = forager(jax.random.PRNGKey(0), observe(state, SCENE))
    np.testing.assert_array_equal(actions.target, np.arange(SCENE.num_agents))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(scripted.SCRIPTED))
def test_scripted_policies_jit_vmap_and_determinism(name, small):
    policy = scripted.SCRIPTED[name]
    keys = jax.random.split(jax.random.PRNGKey(3), 2)
    worlds = [jit_reset(k, small)[0] for k in keys]
    obs = jax.tree.map(lambda *x: jnp.stack(x), *worlds)
    batched = jax.jit(jax.vmap(policy))(keys, obs)
    a = small.num_agents
    for field in ("move", "style", "target"):
        got = getattr(batched, field)
        assert got.shape == (2, a) and got.dtype == jnp.int32
        one = getattr(jax.jit(policy)(keys[1], worlds[1]), field)
        np.testing.assert_array_equal(got[1], one)  # vmap == separate calls, same key same result


def _lifetimes(policy, config, ticks, seed=0):
    """(mean lifetime of ended lives, lava deaths, combat deaths) over `ticks` of one world."""
    policy = jax.jit(policy)
    obs, state = jit_reset(jax.random.PRNGKey(seed), config)
    done_ticks, lifetimes, causes = [], [], []
    for key in jax.random.split(jax.random.PRNGKey(seed + 1), ticks):  # dispatch only: no sync
        k_act, k_env = jax.random.split(key)
        obs, state, _, done, info = jit_step(k_env, state, policy(k_act, obs), config)
        done_ticks.append(done)
        lifetimes.append(info["lifetime"])
        causes.append(info["death_cause"])
    done, life, cause = (np.asarray(jnp.stack(x)) for x in (done_ticks, lifetimes, causes))
    return (life[done].sum() / max(done.sum(), 1), int((done & (cause == nj.CAUSE_LAVA)).sum()),
            int((done & (cause == nj.CAUSE_COMBAT)).sum()))


@pytest.mark.slow  # statistics over 500 ticks of three default-preset worlds
def test_forager_outlives_random_3x_on_the_default_preset():
    config = nj.Config()
    rand, rand_lava, _ = _lifetimes(scripted.random_policy, config, 500)
    forage, forage_lava, _ = _lifetimes(scripted.forager, config, 500)
    fight, fight_lava, fight_kills = _lifetimes(scripted.combat, config, 500)
    print(f"\nmean lifetime over 500 ticks (default preset, same maps and keys): random {rand:.1f} "
          f"(lava deaths {rand_lava}), forager {forage:.1f} (lava {forage_lava}), "
          f"combat {fight:.1f} (lava {fight_lava}, combat deaths {fight_kills})")
    assert forage >= 3 * rand
    assert forage_lava == 0 and fight_lava == 0  # neither ever steps onto lava
    assert fight_kills > 0
