"""envs.MultiAgentEnv: the JaxMARL-style dict API, its params, and an IPPO loop written against it."""
import functools
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import nmmo_jax as nj
from envs import MultiAgentEnv, MultiAgentState
from envs.autoreset import RESET_STREAM
from envs.per_agent import rows_to_actions
from tests.conftest import jit_reset, jit_step, scene

SMALL = nj.Config.small()
ENV = MultiAgentEnv(SMALL, max_ticks=64)  # same settings as README: shares the compiled code


def sample_actions(env, key):
    keys = jax.random.split(key, env.num_agents)
    return {a: env.action_space(a).sample(k) for a, k in zip(env.agents, keys)}


def traced_state():
    """The state's shapes from a traced, never compiled, reset: enough for calls that are only
    traced, or that fail before the jitted step."""
    return jax.eval_shape(ENV.reset, jax.random.PRNGKey(0))[1]


NOOP = {a: np.zeros(3, np.int32) for a in ENV.agents}


def assert_trees_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert np.array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.slow
def test_reset_and_step_follow_the_core():
    key = jax.random.PRNGKey(4)
    obs, state = ENV.reset(key)
    assert_trees_equal((state.obs, state.world), jit_reset(key, SMALL))
    assert ENV.agents == [f"agent_{i}" for i in range(16)] and set(obs) == set(ENV.agents)
    space = ENV.observation_space("agent_0")
    assert space is ENV.observation_space("agent_15")
    assert all(bool(space.contains(obs[a])) for a in ENV.agents)
    assert obs["agent_3"]["target_mask"].shape == (3, 8) and obs["agent_3"]["tiles"].dtype == jnp.int8

    actions = sample_actions(ENV, jax.random.PRNGKey(5))
    assert all(bool(ENV.action_space(a).contains(actions[a])) for a in ENV.agents)
    obs2, state2, rewards, dones, infos = ENV.step(key, state, actions)
    rows = jnp.stack([actions[a] for a in ENV.agents])
    core = jit_step(key, state.world, rows_to_actions(rows, state.obs.entity_slot), SMALL)
    assert_trees_equal((state2.obs, state2.world), (core[0], core[1]))
    assert [float(rewards[a]) for a in ENV.agents] == np.asarray(core[2]).tolist()
    assert [bool(dones[a]) for a in ENV.agents] == np.asarray(core[3]).tolist()
    assert not bool(dones["__all__"]) and set(dones) == set(ENV.agents) | {"__all__"}
    assert set(infos) == set(core[4]) | {"truncated", "world_reset"}
    assert all(v.shape == (16,) for v in infos.values())
    assert np.array_equal(infos["alive"], core[4]["alive"])
    assert_trees_equal(obs2["agent_7"], {f: getattr(core[0], f)[7] for f in obs2["agent_7"]})


def test_rows_to_actions_maps_rows_to_slots():
    slots = jnp.array([[0, 5, 2], [1, 0, 1]], jnp.int32)  # agent 1 lists itself, then slot 0
    rows = jnp.array([[1, 2, 1], [3, 0, 2]], jnp.int32)
    acts = rows_to_actions(rows, slots)
    assert acts.move.tolist() == [1, 3] and acts.style.tolist() == [2, 0]
    assert acts.target.tolist() == [5, 1]  # row 2 of agent 1 is padding: itself, no attack
    bad = rows_to_actions(jnp.array([[0, 0, 3], [0, 0, -1]], jnp.int32), slots)
    assert bad.target.tolist() == [0, 1]  # rows outside 0..K-1: no attack


@pytest.mark.slow
def test_world_reset_at_max_ticks():
    key = jax.random.PRNGKey(8)
    _, state = ENV.reset(jax.random.PRNGKey(2))
    for t in range(3):  # a few living agents
        _, state, *_ = ENV.step(jax.random.PRNGKey(t), state, sample_actions(ENV, key))
    state = state.replace(world=state.world.replace(tick=jnp.int32(63)))
    actions = sample_actions(ENV, jax.random.PRNGKey(9))
    obs, after, rewards, dones, infos = ENV.step(key, state, actions)
    assert bool(dones["__all__"])
    fresh_obs, fresh = jit_reset(jax.random.fold_in(key, RESET_STREAM), SMALL)
    assert_trees_equal((after.world, after.obs), (fresh, fresh_obs))
    alive_before = np.asarray(infos["alive"])
    assert alive_before.sum() >= 3
    assert np.array_equal(infos["truncated"], alive_before) and infos["world_reset"].all()
    assert all(bool(dones[a]) for a, alive in zip(ENV.agents, alive_before) if alive)
    assert all(float(rewards[a]) == 0.0 for a, alive in zip(ENV.agents, alive_before) if alive)


def test_avail_actions_are_the_observation_masks():
    # Random masks in the observation's shapes (no reset to compile): they pass through as they are.
    rng = np.random.default_rng(0)
    obs = jax.tree.map(lambda x: rng.random(x.shape) < 0.5, traced_state().obs)
    avail = ENV.get_avail_actions(MultiAgentState(world=None, obs=obs))
    for slot in (0, 7):
        mine = avail[f"agent_{slot}"]
        assert np.array_equal(mine["move"], obs.move_mask[slot])
        assert np.array_equal(mine["target"], obs.target_mask[slot])
        assert mine["style"].tolist() == [True, True, True]


def test_bad_calls_raise_naming_the_field():
    state, good = traced_state(), NOOP
    missing = {a: v for a, v in good.items() if a != "agent_5"}
    with pytest.raises(ValueError, match="agent_5"):
        ENV.step(jax.random.PRNGKey(0), state, missing)
    with pytest.raises(ValueError, match="agent_99"):
        ENV.step(jax.random.PRNGKey(0), state, {**good, "agent_99": good["agent_0"]})
    with pytest.raises(ValueError, match="'agent_2'.*shape"):
        ENV.step(jax.random.PRNGKey(0), state, {**good, "agent_2": jnp.zeros(2, jnp.int32)})
    with pytest.raises(ValueError, match="bob"):
        ENV.action_space("bob")
    with pytest.raises(ValueError, match="max_ticks"):
        MultiAgentEnv(SMALL, max_ticks=0)
    with pytest.raises(ValueError, match="config"):
        MultiAgentEnv({"num_agents": 4})
    far = nj.default_params(SMALL).replace(melee_range=np.int32(SMALL.vision + 1))
    with pytest.raises(ValueError, match="Params.melee_range=8: must be <= Config.vision=7"):
        MultiAgentEnv(SMALL, params=far)
    with pytest.raises(ValueError, match="params: expected a nmmo_jax.Params .* got dict"):
        MultiAgentEnv(SMALL, params={"food_decay": 2})
    with pytest.raises(ValueError, match=r"Params.noise_frequency: expected shape \(\), got \(2,\)"):
        ENV.step(jax.random.PRNGKey(0), traced_state(), NOOP,
                 params=nj.params.stack([ENV.default_params] * 2))  # stacked, but not vmapped


@pytest.mark.parametrize("action,message", [
    (None, "'agent_3'.*got NoneType"),
    ("0 0 0", "'agent_3'.*got str"),
    ([0, None, 1], "'agent_3': style=None is not an integer"),
    ([0.0, 1.0, 2.0], "'agent_3'.*dtype float"),
    ({"move": 0}, "'agent_3'.*got dict"),
])
def test_bad_action_values_name_the_agent_and_field(action, message):
    state, actions = traced_state(), {**NOOP, "agent_3": action}
    with pytest.raises(ValueError, match=message):
        ENV.step(jax.random.PRNGKey(0), state, actions)
    with pytest.raises(ValueError, match=message):
        ENV.step_env(jax.random.PRNGKey(0), state, actions)


def test_array_of_actions_instead_of_a_dict():
    state = traced_state()
    with pytest.raises(ValueError, match="actions: expected a dict .* got ndarray"):
        ENV.step(jax.random.PRNGKey(0), state, np.zeros((16, 3), np.int32))


def test_actions_are_checked_inside_jit_too():
    """The check runs while tracing (on tracers), so a jitted caller gets the same error."""
    state, good = traced_state(), NOOP
    step = lambda s, a: ENV.step(jax.random.PRNGKey(0), s, a)
    jax.eval_shape(step, state, good)
    with pytest.raises(ValueError, match="'agent_1'.*shape"):
        jax.eval_shape(step, state, {**good, "agent_1": jnp.zeros(4, jnp.int32)})


def test_infos_have_the_same_keys_whatever_the_options():
    key, state = jax.random.PRNGKey(0), traced_state()
    keys = []
    for env in (ENV, MultiAgentEnv(SMALL, max_ticks=None)):
        # Traced, not compiled: the keys are known from the shapes alone.
        keys.append(sorted(jax.eval_shape(lambda s: env.step(key, s, NOOP), state)[4]))
        keys.append(sorted(jax.eval_shape(lambda s, r: env.step(key, s, NOOP, reset_state=r),
                                          state, state)[4]))
        keys.append(sorted(jax.eval_shape(lambda s: env.step_env(key, s, NOOP), state)[4]))
    assert all(k == keys[0] for k in keys) and {"truncated", "world_reset"} <= set(keys[0])


def test_one_observation_and_action_space_for_both_apis():
    from envs import spaces
    assert repr(ENV.observation_space("agent_0")) == repr(spaces.observation_space(SMALL))
    assert ENV.action_space("agent_0").nvec.tolist() == [5, 3, SMALL.max_entities]


@pytest.mark.slow
def test_independent_ppo_loop():
    """IPPO in the JaxMARL manner, using only agents/reset/step/avail actions/spaces."""
    env, num_envs, num_steps = ENV, 2, 8
    agents = env.agents
    obs_space, act_space = env.observation_space(agents[0]), env.action_space(agents[0])
    fields = sorted(obs_space.spaces)
    feat = sum(math.prod(obs_space[f].shape) for f in fields)
    n_move, n_style, n_target = (int(n) for n in act_space.nvec)
    n_out = n_move + n_style + n_target + 1

    def batchify(tree_by_agent):  # {agent: [E, ...]} -> [E, A, ...]
        return jnp.stack([tree_by_agent[a] for a in agents], axis=1)

    def features(obs):  # {agent: {field: [E, ...]}} -> [E, A, feat]
        flat = {a: jnp.concatenate([obs[a][f].reshape(num_envs, -1).astype(jnp.float32)
                                    for f in fields], -1) for a in agents}
        return batchify(flat)

    def policy(params, x, avail):
        out = x @ params["w"] + params["b"]
        move, style, target, value = jnp.split(out, np.cumsum([n_move, n_style, n_target]), -1)
        move = jnp.where(avail["move"], move, -1e9)
        return move, style, target, value[..., 0]

    def log_prob(params, x, avail, action):
        move, style, target, _ = policy(params, x, avail)
        chosen = jnp.take_along_axis(avail["target"], action[..., 1, None, None], -2)[..., 0, :]
        target = jnp.where(chosen, target, -1e9)
        lp = lambda logits, a: jnp.take_along_axis(jax.nn.log_softmax(logits), a[..., None], -1)[..., 0]
        return lp(move, action[..., 0]) + lp(style, action[..., 1]) + lp(target, action[..., 2])

    def avail_of(state):
        per_agent = jax.vmap(env.get_avail_actions)(state)
        return {k: batchify({a: per_agent[a][k] for a in agents}) for k in ("move", "target")}

    def env_step(carry, key):
        params, obs, state, first = carry
        k_move, k_style, k_target, k_env = jax.random.split(key, 4)
        x, avail = features(obs), avail_of(state)
        move_l, style_l, target_l, value = policy(params, x, avail)
        move = jax.random.categorical(k_move, move_l)
        style = jax.random.categorical(k_style, style_l)
        ok = jnp.take_along_axis(avail["target"], style[..., None, None], -2)[..., 0, :]
        target = jax.random.categorical(k_target, jnp.where(ok, target_l, -1e9))
        action = jnp.stack([move, style, target], -1).astype(jnp.int32)  # [E, A, 3]
        actions = {a: action[:, i] for i, a in enumerate(agents)}
        # JaxMARL's reset_state: a finished world restarts from `first` (no map made per tick).
        obs2, state2, rewards, dones, _ = jax.vmap(env.step)(
            jax.random.split(k_env, num_envs), state, actions, first)
        tr = dict(x=x, avail=avail, action=action, value=value,
                  logp=log_prob(params, x, avail, action),
                  reward=batchify(rewards), done=batchify(dones),
                  all_done=dones["__all__"], tick=state2.world.tick)
        return (params, obs2, state2, first), tr

    def update(carry, key):
        params, opt_state, obs, state, first = carry
        (_, obs, state, _), traj = jax.lax.scan(env_step, (params, obs, state, first),
                                                jax.random.split(key, num_steps))
        last_value = policy(params, features(obs), avail_of(state))[3]

        def gae(next_adv_value, tr):
            next_adv, next_value = next_adv_value
            live = 1.0 - tr["done"].astype(jnp.float32)
            delta = tr["reward"] + 0.99 * next_value * live - tr["value"]
            adv = delta + 0.99 * 0.95 * live * next_adv
            return (adv, tr["value"]), adv

        _, adv = jax.lax.scan(gae, (jnp.zeros_like(last_value), last_value), traj, reverse=True)
        target_v = adv + traj["value"]

        def loss_fn(p):
            logp = log_prob(p, traj["x"], traj["avail"], traj["action"])
            ratio = jnp.exp(logp - traj["logp"])
            norm = (adv - adv.mean()) / (adv.std() + 1e-8)
            pg = -jnp.minimum(ratio * norm, jnp.clip(ratio, 0.8, 1.2) * norm).mean()
            value = policy(p, traj["x"], traj["avail"])[3]
            return pg + 0.5 * ((value - target_v) ** 2).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state)
        params = optax.apply_updates(params, updates)
        return (params, opt_state, obs, state, first), (loss, traj)

    tx = optax.adam(1e-3)

    @jax.jit
    def train(key):
        k_init, k_reset, k_run = jax.random.split(key, 3)
        params = {"w": 0.01 * jax.random.normal(k_init, (feat, n_out)), "b": jnp.zeros(n_out)}
        obs, state = jax.vmap(env.reset)(jax.random.split(k_reset, num_envs))
        # Start near max_ticks (64) so the worlds end and restart inside the rollout.
        state = state.replace(world=state.world.replace(tick=jnp.full((num_envs,), 60, jnp.int32)))
        carry = (params, tx.init(params), obs, state, state)
        (params, *_), (loss, traj) = jax.lax.scan(update, carry, jax.random.split(k_run, 2))
        return params, loss, traj

    params, loss, traj = train(jax.random.PRNGKey(0))
    assert loss.shape == (2,) and np.isfinite(np.asarray(loss)).all()
    assert traj["reward"].shape == (2, num_steps, num_envs, 16)
    assert set(np.unique(np.asarray(traj["reward"]))) <= {0.0, -1.0}
    # Tick 64 ends a world and the reset_state (tick 60) takes its place.
    ticks = np.asarray(traj["tick"]).reshape(-1, num_envs)[:, 0].tolist()
    assert ticks == [61, 62, 63, 60, 61, 62, 63, 60] * 2
    assert np.asarray(traj["all_done"]).reshape(-1, num_envs)[:, 0].tolist() == [
        t == 60 for t in ticks]
    assert float(jnp.abs(params["b"]).sum()) > 0  # the update moved the parameters
    # Sampled moves and targets respected the avail masks.
    move_ok = jnp.take_along_axis(traj["avail"]["move"], traj["action"][..., 0, None], -1)
    assert bool(move_ok.all())
    style = traj["action"][..., 1, None, None]
    rows = jnp.take_along_axis(traj["avail"]["target"], style, -2)[..., 0, :]
    assert bool(jnp.take_along_axis(rows, traj["action"][..., 2, None], -1).all())


@pytest.mark.slow
def test_jax_spaces_sample_and_contain():
    from envs import spaces
    obs_space, act_space = ENV.observation_space("agent_0"), ENV.action_space("agent_0")
    assert bool(obs_space.contains(obs_space.sample(jax.random.PRNGKey(0))))
    assert act_space.nvec.tolist() == [5, 3, 8]
    assert bool(act_space.contains(jnp.array([4, 2, 7])))
    assert not bool(act_space.contains(jnp.array([5, 0, 0])))
    assert not bool(act_space.contains(jnp.array([0, 0])))
    assert not bool(obs_space.contains({"tiles": obs_space["tiles"].sample(jax.random.PRNGKey(1))}))
    d = spaces.Discrete(4)
    assert bool(d.contains(3)) and not bool(d.contains(4)) and 0 <= int(d.sample(jax.random.PRNGKey(2))) < 4
    with pytest.raises(ValueError, match="nvec"):
        spaces.MultiDiscrete([3, 0])


# ------------------------------------------------------------------ params
HUNGRY = nj.default_params(SMALL, food_decay=3)


@functools.lru_cache(maxsize=1)
def scene_state() -> MultiAgentState:
    """Slots 0 and 5 on an all-grass map (no forest: their food only decays; newcomers
    spawn into the other slots)."""
    world = scene([dict(slot=0, pos=(10, 10)), dict(slot=5, pos=(20, 20))], config=SMALL)
    return MultiAgentState(world=world, obs=jax.jit(nj.observe, static_argnums=1)(world, SMALL))


def test_default_params_are_the_constructors_or_v13s():
    chex.assert_trees_all_equal(ENV.default_params, nj.default_params(SMALL))
    hungry = MultiAgentEnv(SMALL, max_ticks=64, params=HUNGRY)
    assert hungry.default_params is HUNGRY
    assert hungry == ENV and hash(hungry) == hash(ENV)  # params are data: one compiled step


@pytest.mark.slow
def test_food_decay_drains_food_by_its_value_each_tick():
    """food_decay=3 takes exactly 3 food a tick where v1.3 takes 1, whichever door it enters by."""
    key = jax.random.PRNGKey(0)
    runs = {"default": (ENV, None), "constructor": (MultiAgentEnv(SMALL, 64, HUNGRY), None),
            "argument": (ENV, HUNGRY)}
    food = {}
    for name, (env, params) in runs.items():
        state, eaten = scene_state(), []
        for _ in range(3):
            _, state, *_ = env.step(key, state, NOOP, params=params)
            eaten.append(np.asarray(state.world.agents.food)[[0, 5]].tolist())
        food[name] = eaten
    assert food["default"] == [[9, 9], [8, 8], [7, 7]]
    assert food["constructor"] == food["argument"] == [[7, 7], [4, 4], [1, 1]]


@pytest.mark.slow
def test_vmap_over_stacked_params_gives_each_world_its_own_numbers():
    """Two worlds, two sets of numbers, one vmapped step: each equals its own single-world run."""
    sets = [HUNGRY, nj.default_params(SMALL, water_decay=2)]
    stacked = nj.params.stack(sets)
    state = scene_state()
    states = jax.tree.map(lambda x: jnp.stack([x, x]), state)
    keys = jax.random.split(jax.random.PRNGKey(3), 2)
    actions = {a: jnp.zeros((2, 3), jnp.int32) for a in ENV.agents}
    _, batch, rewards, dones, infos = jax.vmap(ENV.step)(keys, states, actions, params=stacked)
    chex.assert_shape(batch.world.agents.food, (2, SMALL.num_agents))
    for w, params in enumerate(sets):
        single = ENV.step(keys[w], state, NOOP, params=params)
        chex.assert_trees_all_equal(jax.tree.map(lambda x: x[w], (batch, rewards, dones, infos)),
                                    single[1:])
    assert np.asarray(batch.world.agents.food)[:, 0].tolist() == [7, 9]
    assert np.asarray(batch.world.agents.water)[:, 0].tolist() == [9, 8]


@pytest.mark.slow
def test_reset_and_the_auto_reset_use_the_params():
    """The map comes from the params (thresholds), in reset and in the fresh world at max_ticks."""
    wet = nj.default_params(SMALL, water_threshold=0.5, grass_threshold=0.6)
    key = jax.random.PRNGKey(2)
    _, state = ENV.reset(key, wet)
    chex.assert_trees_all_equal((state.obs, state.world), jit_reset(key, SMALL, wet))
    plain = ENV.reset(key)[1]
    assert not np.array_equal(state.world.tiles, plain.world.tiles)
    _, both = jax.vmap(ENV.reset)(jnp.stack([key, key]), nj.params.stack([wet, ENV.default_params]))
    chex.assert_trees_all_equal(jax.tree.map(lambda x: x[0], both), state)
    chex.assert_trees_all_equal(jax.tree.map(lambda x: x[1], both), plain)
    state = state.replace(world=state.world.replace(tick=jnp.int32(63)))
    _, after, _, dones, _ = ENV.step(key, state, NOOP, params=wet)
    assert bool(dones["__all__"])
    chex.assert_trees_all_equal((after.obs, after.world),
                                jit_reset(jax.random.fold_in(key, RESET_STREAM), SMALL, wet))
