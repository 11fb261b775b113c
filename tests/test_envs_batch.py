"""envs.batch, envs.autoreset and envs.log: the functional wrappers."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
import nmmo_jax as nj
from envs.autoreset import RESET_STREAM, autoreset_step
from envs.batch import BatchEnv, batch_reset, batch_step
from envs.log import log_init, log_update, reduce_stats
from policies.scripted import random_policy
from tests.conftest import SCENE, act, jit_reset, jit_step, run, scene

SMALL = nj.Config.small()
jit_autoreset = jax.jit(autoreset_step, static_argnames=("config", "max_ticks"))


def assert_trees_equal(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(la, lb):
        assert np.array_equal(np.asarray(x), np.asarray(y))


def world(tree, w):
    return jax.tree.map(lambda x: x[w], tree)


def random_actions(key, obs):
    return jax.vmap(random_policy)(jax.random.split(key, obs.tiles.shape[0]), obs)


def test_batch_equals_separate_worlds():
    key_reset, key_step = jax.random.PRNGKey(5), jax.random.PRNGKey(6)
    obs, state = batch_reset(key_reset, SMALL, 3)
    assert state.tick.shape == (3,) and obs.tiles.shape == (3, 16, 15, 15)
    actions = random_actions(jax.random.PRNGKey(7), obs)
    out = batch_step(key_step, state, actions, SMALL)
    assert out[2].shape == (3, 16) and out[3].dtype == jnp.bool_
    for w in range(3):
        single_obs, single_state = jit_reset(jax.random.split(key_reset, 3)[w], SMALL)
        assert_trees_equal((single_obs, single_state), world((obs, state), w))
        single = jit_step(jax.random.split(key_step, 3)[w], single_state, world(actions, w), SMALL)
        assert_trees_equal(single, world(out, w))
    # Worlds differ from one another (the keys are split, not shared).
    assert not np.array_equal(np.asarray(state.tiles[0]), np.asarray(state.tiles[1]))


def test_max_ticks_resets_only_finished_worlds_and_keeps_terminal_obs():
    obs, state = batch_reset(jax.random.PRNGKey(1), SMALL, 4)
    state = state.replace(tick=jnp.array([1, 0, 1, 0], jnp.int32))  # worlds 0 and 2 end now
    actions = random_actions(jax.random.PRNGKey(2), obs)
    key = jax.random.PRNGKey(3)
    obs2, state2, reward, done, info = batch_step(key, state, actions, SMALL, max_ticks=2, chunk=2)
    assert info["world_reset"].tolist() == [True, False, True, False]
    assert state2.tick.tolist() == [0, 1, 0, 1]
    keys = jax.random.split(key, 4)
    for w in range(4):
        plain = jit_step(keys[w], world(state, w), world(actions, w), SMALL)
        p_obs, p_state, p_reward, p_done, p_info = plain
        assert_trees_equal(world(info["terminal_obs"], w), p_obs)
        assert np.array_equal(reward[w], p_reward)
        if w % 2 == 0:  # reset: the new world's first observation, lives cut short
            assert_trees_equal(world((obs2, state2), w),
                               jit_reset(jax.random.fold_in(keys[w], RESET_STREAM), SMALL))
            assert np.array_equal(info["truncated"][w], p_info["alive"])
            assert int(p_info["alive"].sum()) > 0
            assert np.array_equal(done[w], p_done | p_info["alive"])
        else:  # not reset: exactly the plain step
            assert_trees_equal(world((obs2, state2), w), (p_obs, p_state))
            assert not info["truncated"][w].any()
            assert np.array_equal(done[w], p_done)
        # The one-world wrapper gives the same as world w of the batch.
        single = jit_autoreset(keys[w], world(state, w), world(actions, w), SMALL, max_ticks=2)
        assert_trees_equal(single, world((obs2, state2, reward, done, info), w))


def test_batch_env_class_matches_functions():
    env = BatchEnv(SMALL, num_worlds=2)
    assert hash(env) == hash(BatchEnv(SMALL, num_worlds=2)) and env.num_agents == 16
    obs, state = env.reset(jax.random.PRNGKey(0))
    assert_trees_equal((obs, state), batch_reset(jax.random.PRNGKey(0), SMALL, 2))


@pytest.mark.parametrize("call,field", [
    (lambda: batch_reset(jax.random.PRNGKey(0), SMALL, 0), "num_worlds"),
    (lambda: batch_reset(jax.random.PRNGKey(0), SMALL, 3, chunk=2), "chunk"),
    (lambda: BatchEnv(SMALL, num_worlds=2, max_ticks=0), "max_ticks"),
    (lambda: BatchEnv(SMALL, num_worlds=4, chunk=3), "chunk"),
    (lambda: BatchEnv("small"), "config"),
])
def test_bad_settings_raise_naming_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


def test_batch_step_rejects_mismatched_shapes():
    obs, state = jit_reset(jax.random.PRNGKey(0), SMALL)
    with pytest.raises(ValueError, match="leading world axis"):
        batch_step(jax.random.PRNGKey(0), state, nj.Actions.noop(16), SMALL)
    batched = jax.tree.map(lambda x: jnp.stack([x, x]), state)
    noop3 = jax.tree.map(lambda x: jnp.stack([x] * 3), nj.Actions.noop(16))
    with pytest.raises(ValueError, match="actions.move"):
        batch_step(jax.random.PRNGKey(0), batched, noop3, SMALL)


# ------------------------------------------------------------------- episode log
def test_log_on_hand_built_deaths():
    """Slot 0 walks into lava on tick 3, slot 3 on tick 5: lifetimes 3 and 5."""
    state = scene([dict(slot=0, pos=(10, 10)), dict(slot=3, pos=(20, 20))],
                  tiles={(10, 11): nj.LAVA, (21, 20): nj.LAVA})
    log = log_init(None, SCENE.num_agents)
    moves = [{}, {}, {0: nj.EAST}, {}, {3: nj.SOUTH}]
    per_tick = []
    for tick, move in enumerate(moves, start=1):
        _, state, reward, done, info = run(state, act(move=move), seed=tick)
        log, stats = log_update(log, reward, done, info)
        per_tick.append(stats)
        if tick == 2:
            assert log.episode_length[0] == 2 and log.episode_length[3] == 2
            assert int(log.episode_length.sum()) == 4
        if tick == 3:
            assert int(info["lifetime"][0]) == 3  # the core agrees with the log
            assert log.episode_length[0] == 0 and log.episode_return[0] == 0  # slot restarts
    counts = [int(s["num_finished"]) for s in per_tick]
    assert counts == [0, 0, 1, 0, 1]
    for s in (per_tick[0], per_tick[1], per_tick[3]):  # no life ended: no mean, not 0
        assert not bool(s["valid"]) and np.isnan(s["mean_lifetime"]) and np.isnan(s["mean_return"])
    assert float(per_tick[2]["mean_lifetime"]) == 3.0 and float(per_tick[2]["mean_return"]) == -1.0
    assert float(per_tick[4]["mean_lifetime"]) == 5.0 and bool(per_tick[4]["valid"])
    total = reduce_stats(jax.tree.map(lambda *x: jnp.stack(x), *per_tick))
    assert int(total["num_finished"]) == 2 and int(total["sum_lifetime"]) == 8
    assert float(total["mean_lifetime"]) == 4.0 and float(total["mean_return"]) == -1.0
    assert bool(total["valid"]) and int(total["num_truncated"]) == 0


def test_log_spawn_restart_truncation_and_world_reset():
    """Synthetic step outputs for one world of 3 slots."""
    def out(reward, done, alive, spawned, **extra):
        f = lambda x, t: jnp.asarray([x], t)
        info = {"alive": f(alive, bool), "spawned": f(spawned, bool)}
        info.update({k: jnp.asarray(v) for k, v in extra.items()})
        return f(reward, jnp.float32), f(done, bool), info

    log = log_init(1, 3)  # slot 1 was spawned by reset (tick 0)
    steps = [
        out([0, 0, 0], [0, 0, 0], [1, 1, 0], [1, 0, 0]),          # slot 0 spawns
        out([0, .5, 0], [0, 0, 0], [1, 1, 0], [0, 0, 0]),
        out([0, -1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]),         # slot 1 dies, lived 3
        out([0, 0, -1], [0, 0, 1], [1, 0, 0], [0, 0, 1]),         # slot 2 spawns and dies
        out([0, 0, 0], [1, 0, 0], [1, 0, 0], [0, 0, 0],           # world reset cuts slot 0
            truncated=[[True, False, False]], world_reset=[True]),
    ]
    stats = []
    for reward, done, info in steps:
        log, s = log_update(log, reward, done, info)
        stats.append(s)
        if len(stats) == 2:
            assert log.episode_length.tolist() == [[1, 2, 0]]
            assert log.episode_return.tolist() == [[0.0, 0.5, 0.0]]
    assert [int(s["num_finished"]) for s in stats] == [0, 0, 1, 1, 0]
    assert float(stats[2]["mean_return"]) == -0.5 and float(stats[2]["mean_lifetime"]) == 3.0
    assert float(stats[3]["mean_lifetime"]) == 0.0 and float(stats[3]["mean_return"]) == -1.0
    assert int(stats[4]["num_truncated"]) == 1 and not bool(stats[4]["valid"])
    assert np.isnan(stats[4]["mean_lifetime"])
    assert log.episode_length.tolist() == [[0, 0, 0]]  # the new world starts from zero


def test_log_in_a_jitted_scan_matches_core_lifetimes():
    """Over a random rollout with world resets, the log's lifetimes are the core's."""
    @jax.jit
    def rollout(key):
        obs, state = batch_reset(key, SMALL, 2)

        def tick(carry, k):
            obs, state, log = carry
            k_act, k_env = jax.random.split(k)
            obs, state, reward, done, info = batch_step(
                k_env, state, random_actions(k_act, obs), SMALL, max_ticks=25)
            log, stats = log_update(log, reward, done, info)
            died = done & ~info["truncated"]
            core = (died.sum(), jnp.where(died, info["lifetime"], 0).sum(), info["truncated"].sum())
            return (obs, state, log), (stats, core)

        _, (stats, core) = jax.lax.scan(tick, (obs, state, log_init(2, 16)),
                                        jax.random.split(key, 60))
        return reduce_stats(stats), jax.tree.map(jnp.sum, core)

    total, (deaths, life_sum, truncated) = rollout(jax.random.PRNGKey(9))
    assert int(total["num_finished"]) == int(deaths) > 0
    assert int(total["sum_lifetime"]) == int(life_sum)
    assert int(total["num_truncated"]) == int(truncated) > 0  # two resets per world
    assert float(total["mean_return"]) == -1.0


def test_envs_exports():
    for name in ("batch_reset", "batch_step", "BatchEnv", "autoreset_step", "LogState",
                 "log_init", "log_update", "reduce_stats", "MultiAgentEnv"):
        assert hasattr(envs, name)
    with pytest.raises(AttributeError):
        envs.NoSuchThing
