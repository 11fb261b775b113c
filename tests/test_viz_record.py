"""viz.record: the recording matches the game tick by tick; attacks, deaths and tile changes."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.systems.skills import level
from policies.scripted import random_policy
from tests.conftest import SCENE, scene
from viz.draw import TILE_COLORS
from viz.record import DIED, SPAWNED, Recording, _attacks, record

SMALL = nj.Config.small()
TICKS, SEED = 40, 3


@functools.lru_cache(maxsize=1)
def small_recording() -> Recording:
    """random_policy on Config.small() for 40 ticks (also used by the browser test)."""
    return record(random_policy, SMALL, TICKS, SEED, name="random")


def synthetic_recording(config: nj.Config, ticks: int) -> Recording:
    """Random, well-formed rows with every slot alive every tick (a worst case for size); no JAX."""
    rng = np.random.default_rng(0)
    frames, a, m = ticks + 1, config.num_agents, config.map_size
    n = frames * a
    frame_of = np.repeat(np.arange(frames), a)
    agents = {"slot": np.tile(np.arange(a), frames), "row": rng.integers(0, m, n),
              "col": rng.integers(0, m, n), "population": np.tile(np.arange(a) % config.num_populations, frames),
              "health": rng.integers(0, 11, n), "food": rng.integers(0, 11, n),
              "water": rng.integers(0, 11, n), "time_alive": np.minimum(frame_of, rng.integers(0, 1000, n)),
              "damage": rng.integers(0, 10, n), "immune": rng.integers(0, 11, n),
              "freeze": rng.integers(0, 3, n), "uid": frame_of * a + np.tile(np.arange(a), frames),
              "flags": rng.integers(0, 4, n), "cause": rng.integers(0, 4, n)}
    changes, attacks = 40, 20  # per tick: forests eaten or regrown; attacks
    return Recording(
        config=config, meta={"policy": "synthetic", "seed": 0, "ticks": ticks, "start_tick": 0},
        tiles0=rng.integers(0, nj.NUM_TILE_TYPES, (m, m)).astype(np.uint8),
        tile_off=np.arange(frames + 1) * changes, tile_idx=rng.integers(0, m * m, frames * changes),
        tile_val=rng.integers(nj.SCRUB, nj.FOREST + 1, frames * changes).astype(np.uint8),
        agent_off=np.arange(frames + 1) * a, agents=agents,
        levels=rng.integers(1, 30, (n, nj.NUM_SKILLS)), attack_off=np.arange(frames + 1) * attacks,
        attacks={"src": rng.integers(0, a, frames * attacks), "dst": rng.integers(0, a, frames * attacks),
                 "style": rng.integers(0, nj.NUM_STYLES, frames * attacks),
                 "hit": rng.integers(0, 2, frames * attacks)},
        alive=np.full(frames, a), lives_ended=np.arange(frames) * 2, lifetime_sum=np.arange(frames) * 60)


@pytest.mark.slow
def test_recording_matches_the_game_tick_by_tick():
    """Replaying the documented key scheme by hand gives the recorded frames exactly."""
    from tests.conftest import jit_reset, jit_step
    rec = small_recording()
    assert rec.num_frames == TICKS + 1 and rec.meta == {"policy": "random", "seed": SEED,
                                                       "ticks": TICKS, "start_tick": 0,
                                                       "params": {}}
    key = jax.random.PRNGKey(SEED)
    obs, state = jit_reset(key, SMALL)
    policy = jax.jit(random_policy)
    done = np.zeros(SMALL.num_agents, bool)
    info = {"spawned": np.asarray(state.agents.alive), "death_cause": np.zeros(16, int)}
    ended = life = 0
    for f in range(rec.num_frames):
        if f:
            k_act, k_step = jax.random.split(jax.random.fold_in(key, f))
            obs, state, _, done, info = jit_step(k_step, state, policy(k_act, obs), SMALL)
            done = np.asarray(done)
            ended += int(done.sum())
            life += int(np.asarray(info["lifetime"]).sum())
        ag = jax.tree.map(np.asarray, state.agents)
        assert (rec.tiles_at(f) == np.asarray(state.tiles)).all(), f
        rows = rec.agents_at(f)
        present = np.flatnonzero(ag.alive | done)
        assert rows["slot"].tolist() == present.tolist(), f
        for name in ("population", "health", "food", "water", "time_alive", "damage", "immune",
                     "freeze", "uid"):
            assert (rows[name] == getattr(ag, name)[present]).all(), (f, name)
        assert (rows["row"] == ag.pos[present, 0]).all() and (rows["col"] == ag.pos[present, 1]).all()
        assert (rows["levels"] == np.asarray(level(jnp.asarray(ag.xp), SMALL))[present]).all()
        flags = np.where(np.asarray(info["spawned"]), SPAWNED, 0) | np.where(done, DIED, 0)
        assert (rows["flags"] == flags[present]).all(), f
        assert (rows["cause"] == np.asarray(info["death_cause"])[present]).all()
        if f:  # the attacks are the step's own report
            target = np.asarray(info["attack_target"])
            src = np.flatnonzero(target != np.arange(SMALL.num_agents))
            att = rec.attacks_at(f)
            assert att["src"].tolist() == src.tolist() and att["dst"].tolist() == target[src].tolist()
            assert att["hit"].tolist() == np.asarray(info["attack_hit"])[src].tolist()
        assert rec.alive[f] == ag.alive.sum()
        assert (rec.lives_ended[f], rec.lifetime_sum[f]) == (ended, life)
    assert ended > 0  # random play on the small map kills agents within 40 ticks
    assert np.isclose(rec.mean_lifetime[-1], life / ended)


SURE = nj.default_params(SCENE, hit_base=1.0)  # on a hand-built scene, every attack hits


@pytest.mark.slow
def test_scene_records_attacks_deaths_and_tile_changes():
    lava_cell, forest_cell = (0, 5), (12, 12)
    start = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11)),   # 0 melees 1
                   dict(slot=2, pos=lava_cell),                             # dies in lava, tick 1
                   dict(slot=3, pos=forest_cell),                           # eats the forest
                   dict(slot=4, pos=(16, 16)), dict(slot=5, pos=(16, 20)),  # mage out of range (4)
                   dict(slot=6, pos=(20, 10)), dict(slot=7, pos=(20, 13), immune=5)],  # immune target
                  tiles={forest_cell: nj.FOREST, lava_cell: nj.LAVA}, config=SCENE)
    target = np.arange(16, dtype=np.int32)
    style = np.zeros(16, np.int32)
    target[[0, 4, 6]] = [1, 5, 7]
    style[[4, 6]] = nj.MAGE
    fixed = nj.Actions(move=jnp.zeros(16, jnp.int32), style=jnp.asarray(style), target=jnp.asarray(target))
    rec = record(lambda key, obs: fixed, SCENE, 4, state=start, name="scene", params=SURE)
    assert rec.meta["params"] == {"hit_base": 1.0}

    first = rec.agents_at(0)
    assert first["slot"].tolist() == list(range(8)) and (first["flags"] == SPAWNED).all()
    attacks = [{k: v.tolist() for k, v in rec.attacks_at(f).items()} for f in range(rec.num_frames)]
    hit_1 = {"src": [0], "dst": [1], "style": [nj.MELEE], "hit": [1]}
    assert attacks == [{"src": [], "dst": [], "style": [], "hit": []}, hit_1, hit_1,
                       {"src": [], "dst": [], "style": [], "hit": []}, {"src": [], "dst": [], "style": [], "hit": []}]

    def row(f, slot):
        rows = rec.agents_at(f)
        i = rows["slot"].tolist().index(slot)
        return {k: v[i].tolist() for k, v in rows.items()}

    assert row(1, 2)["flags"] == DIED and row(1, 2)["cause"] == nj.CAUSE_LAVA
    assert (row(1, 2)["row"], row(1, 2)["col"]) == lava_cell
    assert 2 not in rec.agents_at(2)["slot"].tolist()
    assert row(1, 1)["damage"] == 5 and row(1, 1)["health"] == 5  # 10 - 5 melee, no heal
    assert row(2, 1)["flags"] == DIED and row(2, 1)["cause"] == nj.CAUSE_COMBAT
    assert rec.alive.tolist() == [8, 7, 6, 6, 6]
    assert rec.lives_ended.tolist() == [0, 1, 2, 2, 2] and rec.lifetime_sum.tolist() == [0, 1, 3, 3, 3]
    # The forest under slot 3 turned to scrub in tick 1.
    lo, hi = rec.tile_off[1], rec.tile_off[2]
    changes = dict(zip(rec.tile_idx[lo:hi].tolist(), rec.tile_val[lo:hi].tolist()))
    assert changes[forest_cell[0] * SCENE.map_size + forest_cell[1]] == nj.SCRUB
    assert rec.tiles_at(1)[forest_cell] == nj.SCRUB and rec.tiles_at(0)[forest_cell] == nj.FOREST
    # frame_image draws it with viz.draw: the attack line and the cross are there.
    img = rec.frame_image(1, scale=8)
    assert img.shape == (256, 256, 3)
    assert img[lava_cell[0] * 8, lava_cell[1] * 8].tolist() != TILE_COLORS[nj.LAVA].tolist()  # cross


def test_record_refuses_bad_arguments():
    with pytest.raises(ValueError, match="ticks"):
        record(random_policy, SMALL, 0)
    with pytest.raises(ValueError, match="ticks"):
        record(random_policy, SMALL, "5")
    with pytest.raises(ValueError, match="policy"):
        record("random", SMALL, 5)
    with pytest.raises(ValueError, match="config"):
        record(random_policy, {"map_size": 32}, 5)
    with pytest.raises(ValueError, match="frame 41"):
        synthetic_recording(SMALL, 40).agents_at(41)
    with pytest.raises(ValueError, match="Params.combat_start_level=120: must be"):
        record(random_policy, SMALL, 5, params=nj.default_params(SMALL).replace(
            combat_start_level=np.int32(120)))
    with pytest.raises(ValueError, match="params: expected a nmmo_jax.Params"):
        record(random_policy, SMALL, 5, params={"food_decay": 2})


@pytest.mark.slow
def test_params_play_every_tick_and_are_kept_in_meta():
    """food_decay=3 and water_decay=2 on a hand-built scene: each tick takes exactly that much."""
    start = scene([dict(slot=0, pos=(10, 10)), dict(slot=9, pos=(20, 20))])
    thirsty = nj.default_params(SCENE, food_decay=3, water_decay=2)
    stay = nj.Actions(move=jnp.zeros(16, jnp.int32), style=jnp.zeros(16, jnp.int32),
                      target=jnp.arange(16, dtype=jnp.int32))
    rec = record(lambda key, obs: stay, SCENE, 3, state=start, name="thirsty", params=thirsty)
    assert rec.meta["params"] == {"food_decay": 3, "water_decay": 2}
    for f in range(4):
        rows = rec.agents_at(f)
        assert rows["slot"].tolist() == [0, 9]
        assert rows["food"].tolist() == [10 - 3 * f] * 2 and rows["water"].tolist() == [10 - 2 * f] * 2


@pytest.mark.slow
def test_attacks_are_the_steps_own_report():
    """The recorder takes info's attack_target / attack_hit as they are, with the style fed."""
    a = SMALL.num_agents
    target = np.arange(a)[None].repeat(2, 0)
    target[0, [3, 7]] = [9, 2]
    target[1, 5] = 0
    hit = np.zeros((2, a), bool)
    hit[0, 7] = True
    style = np.full((2, a), nj.RANGE)
    style[1, 5] = nj.MAGE
    tick_i, rows = _attacks(style, {"attack_target": target, "attack_hit": hit})
    assert tick_i.tolist() == [0, 0, 1]
    assert rows.tolist() == [[3, 9, nj.RANGE, 0], [7, 2, nj.RANGE, 1], [5, 0, nj.MAGE, 0]]
