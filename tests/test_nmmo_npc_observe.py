"""The observation with NPCs on (docs/rules.md §9.6): NPC rows in the entity list,
their type and level features, the target mask, tile counts, and the grid-built
list equal to all pairs over agents and NPCs."""
import dataclasses
import importlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.observe import _exact_keys, _Index, entity_keys, observe
from tests.conftest import scene
from tests.test_systems_npc import A, NPC_SCENE, STILL, npc_scene, with_npcs

F = {name: i for i, name in enumerate(nj.entity_feature_names(NPC_SCENE.num_npcs))}
jit_observe = jax.jit(observe, static_argnames="config")


def test_feature_names():
    assert nj.entity_feature_names(0) == nj.ENTITY_FEATURES
    assert nj.entity_feature_names(4) == nj.ENTITY_FEATURES + (
        "npc_passive", "npc_neutral", "npc_hostile", "level")


def test_npcs_are_listed_with_their_kind_and_level():
    s = npc_scene([dict(slot=0, pos=(10, 10), levels={nj.RANGE_SKILL: 7}),
                   dict(slot=1, pos=(10, 12))],
                  [dict(slot=0, pos=(11, 10)),                                   # 1 away
                   dict(slot=2, pos=(10, 12), kind=nj.HOSTILE, level=5, style=nj.MAGE,
                        health=4, damage=3, time_alive=50, freeze=3),            # 2 away
                   dict(slot=3, pos=(10, 18), kind=nj.NEUTRAL)])                 # 8: unseen
    o = jit_observe(s, NPC_SCENE, STILL)
    chex.assert_shape(o.entities, (16, 8, 19))
    assert np.asarray(o.entity_slot[0, :4]).tolist() == [0, A + 0, 1, A + 2]
    assert np.asarray(o.entity_mask[0]).tolist() == [True] * 4 + [False] * 4
    ent = np.asarray(o.entities[0])
    kinds = ent[:, [F["npc_passive"], F["npc_neutral"], F["npc_hostile"]]]
    assert kinds[:4].tolist() == [[0, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 1]]
    np.testing.assert_allclose(ent[:4, F["level"]], [7 / 99, 1 / 99, 1 / 99, 5 / 99], rtol=1e-6)
    hostile = ent[3]
    assert hostile[F["is_self"]] == 0 and hostile[F["same_population"]] == 0
    assert (hostile[F["rel_row"]], hostile[F["rel_col"]]) == (0, 2 / 7)
    assert hostile[F["food"]] == 0 and hostile[F["water"]] == 0 and hostile[F["immune"]] == 0
    assert hostile[F["health"]] == 0.4 and hostile[F["freeze"]] == 1.0
    assert hostile[F["damage"]] == 0.3 and hostile[F["time_alive"]] == 0.5
    np.testing.assert_allclose(
        hostile[[F["melee_level"], F["range_level"], F["mage_level"], F["defense_level"]]],
        [1 / 99, 1 / 99, 5 / 99, 5 / 99], rtol=1e-6)
    assert (ent[4:] == 0).all()
    # Each listed NPC is a target in its style's reach: melee 1, range 2, mage 3.
    m = np.asarray(o.target_mask[0])
    assert m[nj.MELEE, :4].tolist() == [True, True, False, False]
    assert m[nj.RANGE, :4].tolist() == [True, True, True, True]
    # Tile counts hold agents and NPCs alike.
    counts = np.asarray(o.tile_agents[0])
    assert counts[7, 9] == 2 and counts[8, 7] == 1 and counts.sum() == 4


def test_an_agent_attacks_the_npc_its_pointer_names():
    s = npc_scene([dict(slot=0, pos=(10, 10))], [dict(slot=1, pos=(10, 11), freeze=2)])
    o = jit_observe(s, NPC_SCENE, STILL)
    row = int(np.argmax(np.asarray(o.entity_slot[0]) == A + 1))
    assert row == 1 and bool(o.target_mask[0, nj.MELEE, row])
    target = int(o.entity_slot[0, row])
    _, s, _, _, info = nj.jit_step(jax.random.PRNGKey(0), s, nj.Actions(
        move=jnp.zeros(A, jnp.int32), style=jnp.zeros(A, jnp.int32),
        target=jnp.arange(A, dtype=jnp.int32).at[0].set(target)), NPC_SCENE, STILL)
    assert int(info["attack_target"][0]) == A + 1 and int(s.npcs.damage[1]) == 5


def _random_crowd(config, seed, cluster):
    """Living agents and NPCs at random places, `cluster` of the agents piled
    into a 3x3 corner patch with half the NPCs (the exact fallback runs)."""
    rng = np.random.default_rng(seed)
    n = config.map_size
    where = lambda piled: ((int(rng.integers(0, 3)), int(rng.integers(n - 3, n))) if piled
                           else tuple(int(p) for p in rng.integers(0, n, 2)))
    agents = [dict(slot=i, pos=where(i < cluster)) for i in range(config.num_agents)
              if i < cluster or rng.random() > 0.2]
    npcs = [dict(slot=j, pos=where(cluster and j % 2 == 0), kind=int(rng.integers(1, 4)))
            for j in range(config.num_npcs) if rng.random() > 0.2]
    params = nj.default_params(config, npc_spawn_attempts=0)
    return with_npcs(scene(agents, config=config, params=params), npcs, params)


@pytest.mark.parametrize("config, cluster", [
    (NPC_SCENE, 0), (NPC_SCENE, 12),
    (nj.Config.small(spawn_per_tick=0, max_entities=4, vision=3, num_npcs=24), 12),
    (nj.Config(spawn_per_tick=0, num_npcs=128), 60)])
@pytest.mark.slow
def test_entity_list_equals_all_pairs_over_agents_and_npcs(config, cluster):
    keys_of = jax.jit(lambda s: entity_keys(s, _Index(s, config), config))
    everyone = jnp.arange(config.num_agents)
    exact_of = jax.jit(lambda s: _exact_keys(s, everyone, config))
    listed_npcs = 0
    for seed in range(3):
        state = _random_crowd(config, seed, cluster)
        alive = np.asarray(state.agents.alive)
        got, want = np.asarray(keys_of(state)), np.asarray(exact_of(state))
        np.testing.assert_array_equal(got[alive], want[alive])
        slots = np.asarray(jit_observe(state, config).entity_slot)
        listed_npcs += int((slots >= config.num_agents).sum())
    assert listed_npcs > 0


def test_observer_blocks_change_nothing_with_npcs(monkeypatch):
    observe_module = importlib.import_module("nmmo_jax.observe")
    config = nj.Config.small(spawn_per_tick=0, max_entities=4, vision=3, num_npcs=24)
    state = _random_crowd(config, 0, 12)
    whole = jax.jit(lambda s: observe(s, config))(state)
    monkeypatch.setattr(observe_module, "OBSERVER_BLOCK", 5)
    blocked = jax.jit(lambda s: observe(s, config))(state)
    for field in dataclasses.fields(whole):
        np.testing.assert_array_equal(np.asarray(getattr(blocked, field.name)),
                                      np.asarray(getattr(whole, field.name)), err_msg=field.name)
