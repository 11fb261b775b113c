"""envs.batch, envs.autoreset and envs.log: the functional wrappers."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
import nmmo_jax as nj
from envs.autoreset import RESET_STREAM
from envs.batch import BatchEnv, batch_reset, batch_step, step_worlds
from envs.log import log_init, log_update, reduce_stats
from policies.scripted import random_policy
from tests.conftest import SCENE, act, jit_reset, jit_step, run, scene

SMALL = nj.Config.small()
jit_random_actions = jax.jit(lambda key, obs: random_actions(key, obs))
jit_log_update = jax.jit(log_update)


def assert_trees_equal(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(la, lb):
        assert np.array_equal(np.asarray(x), np.asarray(y))


def world(tree, w):
    return jax.tree.map(lambda x: x[w], tree)


def random_actions(key, obs):
    return jax.vmap(random_policy)(jax.random.split(key, obs.tiles.shape[0]), obs)


@pytest.mark.slow
def test_batch_equals_separate_worlds():
    key_reset, key_step = jax.random.PRNGKey(5), jax.random.PRNGKey(6)
    obs, state = batch_reset(key_reset, SMALL, 4)
    assert state.tick.shape == (4,) and obs.tiles.shape == (4, 16, 15, 15)
    actions = jit_random_actions(jax.random.PRNGKey(7), obs)
    out = batch_step(key_step, state, actions, SMALL)
    assert out[2].shape == (4, 16) and out[3].dtype == jnp.bool_
    for w in range(4):
        single_obs, single_state = jit_reset(jax.random.split(key_reset, 4)[w], SMALL)
        assert_trees_equal((single_obs, single_state), world((obs, state), w))
        single = jit_step(jax.random.split(key_step, 4)[w], single_state, world(actions, w), SMALL)
        *batched, info = world(out, w)
        assert_trees_equal(single[:4], tuple(batched))
        assert_trees_equal(single[4], {k: info[k] for k in single[4]})
        # No max_ticks: the world never ends, but info has the max_ticks keys all the same.
        assert not info["truncated"].any() and not info["world_reset"]
        assert_trees_equal(info["terminal_obs"], single[0])
    # Worlds differ from one another (the keys are split, not shared).
    assert not np.array_equal(np.asarray(state.tiles[0]), np.asarray(state.tiles[1]))


@pytest.mark.slow
def test_info_has_the_same_keys_whatever_max_ticks():
    # Traced, never compiled: shapes and keys are all this needs.
    obs, state = jax.eval_shape(lambda k: batch_reset(k, SMALL, 2), jax.random.PRNGKey(1))
    actions = jax.eval_shape(random_actions, jax.random.PRNGKey(2), obs)
    shapes = [jax.eval_shape(lambda s, a: batch_step(jax.random.PRNGKey(3), s, a, SMALL, t),
                             state, actions)[4] for t in (None, 10)]
    assert jax.tree.structure(shapes[0]) == jax.tree.structure(shapes[1])
    assert {"truncated", "world_reset", "terminal_obs"} <= set(shapes[0])


MAX_TICKS, CHUNK = 25, 2  # one compiled batch_step with a world reset, shared below


@pytest.mark.slow
def test_max_ticks_resets_only_finished_worlds_and_keeps_terminal_obs():
    obs, state = batch_reset(jax.random.PRNGKey(1), SMALL, 4)
    state = state.replace(tick=jnp.array([24, 0, 24, 0], jnp.int32))  # worlds 0 and 2 end now
    actions = jit_random_actions(jax.random.PRNGKey(2), obs)
    key = jax.random.PRNGKey(3)
    obs2, state2, reward, done, info = batch_step(key, state, actions, SMALL,
                                                  max_ticks=MAX_TICKS, chunk=CHUNK)
    assert info["world_reset"].tolist() == [True, False, True, False]
    assert state2.tick.tolist() == [0, 1, 0, 1]
    keys = jax.random.split(key, 4)
    for w in range(4):
        p_obs, p_state, p_reward, p_done, p_info = jit_step(
            keys[w], world(state, w), world(actions, w), SMALL)
        assert_trees_equal(world(info["terminal_obs"], w), p_obs)
        assert np.array_equal(reward[w], p_reward)
        if w % 2 == 0:  # reset: the new world's first observation; lives cut short
            assert_trees_equal(world((obs2, state2), w),
                               jit_reset(jax.random.fold_in(keys[w], RESET_STREAM), SMALL))
            assert np.array_equal(info["truncated"][w], p_info["alive"])
            assert int(p_info["alive"].sum()) > 0
            assert np.array_equal(done[w], p_done | p_info["alive"])
        else:  # not reset: exactly the plain step
            assert_trees_equal(world((obs2, state2), w), (p_obs, p_state))
            assert not info["truncated"][w].any()
            assert np.array_equal(done[w], p_done)
    # A holder of worlds 2..3 (a device's share) passes its rows of the keys: same result.
    share = lambda tree: jax.tree.map(lambda x: x[2:], tree)
    half = step_worlds(keys[2:], share(state), share(actions), SMALL, max_ticks=MAX_TICKS,
                       chunk=CHUNK)
    assert_trees_equal(half, share((obs2, state2, reward, done, info)))
    with pytest.raises(ValueError, match="keys has 4 rows for 2 worlds"):
        step_worlds(keys, share(state), share(actions), SMALL)


@pytest.mark.slow
def test_persistent_worlds_are_replaced_at_the_last_tick_with_unique_uids():
    """max_ticks None: a world persists until config.max_tick, where the next
    spawn's uid would pass int32, and is replaced there."""
    obs, state = batch_reset(jax.random.PRNGKey(1), SMALL, 2)
    state = state.replace(tick=jnp.array([SMALL.max_tick - 1, 7], jnp.int32))
    actions = jit_random_actions(jax.random.PRNGKey(2), obs)
    _, state2, _, _, info = batch_step(jax.random.PRNGKey(3), state, actions, SMALL)
    assert info["world_reset"].tolist() == [True, False]
    assert state2.tick.tolist() == [0, 8]
    assert int(state2.agents.uid.min()) >= -1  # no uid wrapped negative


@pytest.mark.slow
def test_batch_env_class_matches_functions():
    plain, resetting = BatchEnv(SMALL, num_worlds=4), BatchEnv(SMALL, 4, MAX_TICKS, CHUNK)
    assert hash(resetting) == hash(BatchEnv(SMALL, 4, MAX_TICKS, CHUNK)) != hash(plain)
    assert plain.num_agents == 16
    obs, state = plain.reset(jax.random.PRNGKey(0))
    assert_trees_equal((obs, state), batch_reset(jax.random.PRNGKey(0), SMALL, 4))
    actions = jit_random_actions(jax.random.PRNGKey(1), obs)
    key = jax.random.PRNGKey(2)
    assert_trees_equal(plain.step(key, state, actions), batch_step(key, state, actions, SMALL))
    assert_trees_equal(resetting.step(key, state, actions),
                       batch_step(key, state, actions, SMALL, max_ticks=MAX_TICKS, chunk=CHUNK))


@pytest.mark.parametrize("call,field", [
    (lambda: batch_reset(jax.random.PRNGKey(0), SMALL, 0), "num_worlds"),
    (lambda: batch_reset(jax.random.PRNGKey(0), SMALL, 3, chunk=2), "chunk"),
    (lambda: BatchEnv(SMALL, num_worlds=2, max_ticks=0), "max_ticks"),
    (lambda: BatchEnv(SMALL, num_worlds=4, chunk=3), "chunk"),
    (lambda: BatchEnv("small"), "config"),
    (lambda: BatchEnv(SMALL, num_worlds=1, max_ticks=SMALL.max_tick + 1), "max_ticks"),
    (lambda: envs.MultiAgentEnv(SMALL, max_ticks=SMALL.max_tick + 1), "max_ticks"),
])
def test_bad_settings_raise_naming_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


def test_batch_step_rejects_mismatched_shapes():
    # Shapes are all the checks read: a traced reset, never compiled, is enough.
    _, state = jax.eval_shape(lambda k: nj.reset(k, SMALL), jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="leading world axis"):
        batch_step(jax.random.PRNGKey(0), state, nj.Actions.noop(16), SMALL)
    batched = jax.tree.map(lambda x: jax.ShapeDtypeStruct((2,) + x.shape, x.dtype), state)
    noop3 = jax.tree.map(lambda x: jnp.stack([x] * 3), nj.Actions.noop(16))
    with pytest.raises(ValueError, match="actions.move"):
        batch_step(jax.random.PRNGKey(0), batched, noop3, SMALL)


# ------------------------------------------------------------------- episode log
@pytest.mark.slow
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


@pytest.mark.slow
def test_log_over_random_rollout_agrees_with_core_lifetimes():
    """Through deaths and world resets, the log's lifetimes are the core's."""
    obs, state = batch_reset(jax.random.PRNGKey(9), SMALL, 4)
    log, per_tick, deaths, life_sum, cut = log_init(4, 16), [], 0, 0, 0
    for t in range(60):  # Python loop over the compiled step (no new compile)
        obs, state, reward, done, info = batch_step(
            jax.random.PRNGKey(100 + t), state, jit_random_actions(jax.random.PRNGKey(t), obs),
            SMALL, max_ticks=MAX_TICKS, chunk=CHUNK)
        log, stats = jit_log_update(log, reward, done, info)
        per_tick.append(stats)
        died = np.asarray(done & ~info["truncated"])
        deaths += died.sum()
        life_sum += np.asarray(info["lifetime"])[died].sum()
        cut += np.asarray(info["truncated"]).sum()
    total = reduce_stats(jax.tree.map(lambda *x: jnp.stack(x), *per_tick))
    assert int(total["num_finished"]) == deaths > 0
    assert int(total["sum_lifetime"]) == life_sum
    assert int(total["num_truncated"]) == cut > 0  # two resets per world
    assert float(total["mean_return"]) == -1.0


def test_envs_exports():
    for name in ("batch_reset", "batch_step", "step_worlds", "BatchEnv", "autoreset_step", "LogState",
                 "log_init", "log_update", "reduce_stats", "MultiAgentEnv"):
        assert hasattr(envs, name)
    with pytest.raises(AttributeError):
        envs.NoSuchThing


def _two_sets():
    """Two clearly different sets of numbers for the small preset."""
    return (nj.default_params(SMALL, food_decay=3, hit_base=1.0),
            nj.default_params(SMALL, water_decay=2, regrow_prob=0.5, melee_range=2))


@pytest.mark.slow
def test_per_world_params_equal_single_worlds_with_their_own_numbers():
    sets = _two_sets()
    stacked = nj.params.stack(list(sets))
    obs, state = batch_reset(jax.random.PRNGKey(1), SMALL, 2, params=stacked)
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    for w in range(2):
        o, s = jit_reset(keys[w], SMALL, sets[w])
        assert_trees_equal(world((obs, state), w), (o, s))
    for t in range(5):
        k = jax.random.PRNGKey(100 + t)
        actions = jit_random_actions(jax.random.fold_in(k, 1), obs)
        out = batch_step(k, state, actions, SMALL, params=stacked)
        for w in range(2):
            single = jit_step(jax.random.split(k, 2)[w], world(state, w), world(actions, w),
                              SMALL, sets[w])
            assert_trees_equal(world(out[:4], w), single[:4])
        obs, state = out[0], out[1]
    # The two worlds really play different games: food drains 3 a tick in world 0.
    assert not np.array_equal(np.asarray(state.agents.food[0]), np.asarray(state.agents.food[1]))


def test_one_params_for_all_worlds_equals_that_set_stacked():
    p = _two_sets()[0]
    a = batch_reset(jax.random.PRNGKey(2), SMALL, 2, params=p)
    b = batch_reset(jax.random.PRNGKey(2), SMALL, 2, params=nj.params.stack([p, p]))
    assert_trees_equal(a, b)


@pytest.mark.slow
def test_replaced_worlds_draw_new_numbers_from_the_ranges():
    base = nj.default_params(SMALL)
    ranges = nj.param_ranges(base, {"regrow_prob": (0.0, 1.0), "food_decay": (1, 5)}, SMALL)
    params = envs.world_params(jax.random.PRNGKey(3), ranges, 4)
    obs, state = batch_reset(jax.random.PRNGKey(3), SMALL, 4, params=params)
    state = state.replace(tick=jnp.asarray([0, 3, 0, 3], jnp.int32))  # worlds 1 and 3 end now
    actions = jit_random_actions(jax.random.PRNGKey(4), obs)
    key = jax.random.PRNGKey(5)
    obs, state, _, _, info = batch_step(key, state, actions, SMALL, max_ticks=4, params=params,
                                        ranges=ranges)
    new = info["params"]
    np.testing.assert_array_equal(np.asarray(info["world_reset"]), [False, True, False, True])
    for w in range(4):
        same = np.asarray(new.regrow_prob[w]) == np.asarray(params.regrow_prob[w])
        assert same == (w in (0, 2)), w  # kept unless replaced
    assert np.all((np.asarray(new.regrow_prob) >= 0) & (np.asarray(new.regrow_prob) <= 1))
    assert set(np.asarray(new.food_decay).tolist()) <= {1, 2, 3, 4, 5}
    np.testing.assert_array_equal(np.asarray(new.hit_base), 0.5)  # not randomised: the base
    # A replaced world is the reset of its key under its new numbers.
    from envs.autoreset import RESET_STREAM
    k1 = jax.random.fold_in(jax.random.split(key, 4)[1], RESET_STREAM)
    assert_trees_equal(world((obs, state), 1), jit_reset(k1, SMALL, world(new, 1)))


def test_ranges_need_params_and_params_are_checked():
    obs, state = batch_reset(jax.random.PRNGKey(0), SMALL, 2)
    actions = jax.vmap(lambda _: nj.Actions.noop(SMALL.num_agents))(jnp.arange(2))
    ranges = nj.param_ranges(nj.default_params(SMALL), {"food_decay": (1, 2)}, SMALL)
    with pytest.raises(ValueError, match="ranges: needs params"):
        batch_step(jax.random.PRNGKey(0), state, actions, SMALL, ranges=ranges)
    bad = nj.params.stack([nj.default_params(SMALL)] * 3)  # 3 sets for 2 worlds
    with pytest.raises(ValueError, match=r"Params\.noise_frequency: expected shape \(2,\)"):
        batch_step(jax.random.PRNGKey(0), state, actions, SMALL, params=bad)
