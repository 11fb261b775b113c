"""Observation and action masks (docs/rules.md §5) on hand-built scenes."""
import dataclasses
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.observe import _exact_keys, _Index, entity_keys, observe
from tests.conftest import SCENE, scene

F = {name: i for i, name in enumerate(nj.ENTITY_FEATURES)}


jit_observe = jax.jit(observe, static_argnames="config")  # eager: op by op, many times slower


def obs_of(state, config=SCENE):
    return jit_observe(state, config)


def test_entities_nearest_first_ties_by_slot():
    s = scene([dict(slot=4, pos=(10, 10)),
               dict(slot=9, pos=(12, 10)),   # distance 2
               dict(slot=2, pos=(11, 11)),   # distance 1
               dict(slot=7, pos=(9, 9)),     # distance 1, higher slot than 2
               dict(slot=1, pos=(10, 10)),   # distance 0, same tile
               dict(slot=3, pos=(10, 18)),   # distance 8: outside the window
               dict(slot=5, pos=(3, 3))])    # distance 7: on the window edge
    o = obs_of(s)
    assert np.asarray(o.entity_slot[4]).tolist() == [4, 1, 2, 7, 9, 5, 4, 4]
    assert np.asarray(o.entity_mask[4]).tolist() == [True] * 6 + [False] * 2
    ent = np.asarray(o.entities[4])
    assert ent[0, F["is_self"]] == 1 and ent[1:, F["is_self"]].sum() == 0
    assert ent[4, F["rel_row"]] == 2 / 7 and ent[4, F["rel_col"]] == 0
    assert ent[3, F["rel_row"]] == -1 / 7 and ent[3, F["rel_col"]] == -1 / 7
    assert (ent[6:] == 0).all()


def test_max_entities_cap_and_empty_slot():
    agents = [dict(slot=i, pos=(10 + i // 4, 10 + i % 4)) for i in range(12)]
    o = obs_of(scene(agents))
    assert np.asarray(o.entity_mask).sum(axis=1).tolist()[:12] == [8] * 12
    # Slot 15 is empty: only padding rows carrying its own slot.
    assert not np.asarray(o.entity_mask[15]).any()
    assert (np.asarray(o.entity_slot[15]) == 15).all()
    assert np.asarray(o.move_mask[15]).tolist() == [True, False, False, False, False]
    assert np.asarray(o.target_mask[15, :, 0]).all() and not np.asarray(o.target_mask[15, :, 1:]).any()


def test_features_normalised():
    s = scene([dict(slot=0, pos=(10, 10)),
               dict(slot=4, pos=(10, 11), health=5, food=2, water=10, freeze=3, immune=5,
                    levels={nj.MELEE_SKILL: 10})])
    row = np.asarray(obs_of(s).entities[0, 1])
    assert row[F["same_population"]] == 1  # slots 0 and 4 are population 0 of 4
    assert row[F["health"]] == 0.5 and row[F["food"]] == 0.2 and row[F["water"]] == 1.0
    assert row[F["freeze"]] == 1.0 and row[F["immune"]] == 0.5
    assert np.isclose(row[F["melee_level"]], 10 / 99)
    assert np.asarray(obs_of(s).entities).max() <= 1.0


def test_tile_window_and_counts():
    s = scene([dict(slot=0, pos=(2, 5)), dict(slot=1, pos=(2, 6)), dict(slot=2, pos=(2, 6))],
              tiles={(3, 5): nj.WATER})
    o = obs_of(s)
    win = np.asarray(o.tiles[0])
    assert win.shape == (15, 15) and win[7, 7] == nj.GRASS and win[8, 7] == nj.WATER
    assert (win[:5] == nj.LAVA).all() and (win[5:, 7] != nj.LAVA).all()  # rows -5..-1 off map
    counts = np.asarray(o.tile_agents[0])
    assert counts[7, 7] == 1 and counts[7, 8] == 2 and counts.sum() == 3


def test_move_mask():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(0, 0)),
               dict(slot=2, pos=(20, 20), freeze=2), dict(slot=3, pos=(25, 25), freeze=1)],
              tiles={(9, 10): nj.WATER, (11, 10): nj.STONE, (10, 11): nj.LAVA})
    m = np.asarray(obs_of(s).move_mask)
    assert m[0].tolist() == [True, False, False, True, True]  # lava allowed
    assert m[1].tolist() == [True, False, True, True, False]
    assert m[2].tolist() == [True, False, False, False, False]  # still frozen next tick
    assert m[3].tolist() == [True] * 5  # thaws before moving


def test_target_mask_by_style_range():
    s = scene([dict(slot=0, pos=(10, 10)),
               dict(slot=1, pos=(10, 11)),            # distance 1
               dict(slot=2, pos=(12, 10)),            # distance 2
               dict(slot=3, pos=(13, 13)),            # distance 3
               dict(slot=5, pos=(10, 14)),            # distance 4: visible, out of reach
               dict(slot=6, pos=(9, 10), immune=4)])  # distance 1 but immune next tick
    o = obs_of(s)
    slots = np.asarray(o.entity_slot[0]).tolist()
    assert slots[:6] == [0, 1, 6, 2, 3, 5]
    m = np.asarray(o.target_mask[0])
    assert m[nj.MELEE, :6].tolist() == [True, True, False, False, False, False]
    assert m[nj.RANGE, :6].tolist() == [True, True, False, True, False, False]
    assert m[nj.MAGE, :6].tolist() == [True, True, False, True, True, False]


def _random_crowd(config, seed, cluster):
    """A state whose living agents stand at random places, `cluster` of them piled
    into a 3x3 corner patch (more than M per square: the exact fallback runs)."""
    rng = np.random.default_rng(seed)
    a, n = config.num_agents, config.map_size
    agents = []
    for i in range(a):
        if i >= cluster and rng.random() < 0.2:
            continue  # an empty slot
        pos = (rng.integers(0, 3), rng.integers(n - 3, n)) if i < cluster else rng.integers(0, n, 2)
        agents.append(dict(slot=i, pos=tuple(int(p) for p in pos)))
    return scene(agents, config=config)


@pytest.mark.parametrize("config, cluster", [
    (SCENE, 0), (SCENE, 12),
    (nj.Config.small(spawn_per_tick=0, max_entities=4, vision=3), 12),
    (nj.Config(spawn_per_tick=0), 60)])
@pytest.mark.slow
def test_entity_list_equals_all_pairs(config, cluster):
    """The grid-built list equals the K smallest (distance, slot) keys over all agents
    (the last two cases put more than M agents in some squares: the fallback runs)."""
    keys_of = jax.jit(lambda s: entity_keys(s, _Index(s, config), config))
    everyone = jnp.arange(config.num_agents)
    exact_of = jax.jit(lambda s: _exact_keys(s, everyone, config))
    for seed in range(3):
        state = _random_crowd(config, seed, cluster)
        alive = np.asarray(state.agents.alive)
        got, want = np.asarray(keys_of(state)), np.asarray(exact_of(state))
        np.testing.assert_array_equal(got[alive], want[alive])


@pytest.mark.slow
@pytest.mark.parametrize("cluster, block", [(0, 4), (12, 4), (12, 5)])
def test_observer_blocks_change_nothing(monkeypatch, cluster, block):
    """Observers taken a block at a time (as in worlds above OBSERVER_BLOCK agents)
    see exactly what they see all at once, crowded squares (the fallback) included."""
    observe_module = importlib.import_module("nmmo_jax.observe")  # the package exports the function
    config = nj.Config.small(spawn_per_tick=0, max_entities=4, vision=3)
    state = _random_crowd(config, 0, cluster)
    whole = jax.jit(lambda s: observe(s, config))(state)
    # 16 agents: 4 blocks of 4, or 4 blocks of 5 with the last one padded
    monkeypatch.setattr(observe_module, "OBSERVER_BLOCK", block)
    blocked = jax.jit(lambda s: observe(s, config))(state)  # a new function: traced anew
    for field in dataclasses.fields(whole):
        np.testing.assert_array_equal(np.asarray(getattr(blocked, field.name)),
                                      np.asarray(getattr(whole, field.name)), err_msg=field.name)
