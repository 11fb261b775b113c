"""The learned policy: IO modules, exact masked distributions, symmetry, per-population params."""
import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from policies import navigation as nav
from policies.baseline import ActorCritic
from policies.io import ActionDist, Choice, cell_scale, to_actions
from tests.conftest import SCENE, jit_reset, scene

observe = jax.jit(nj.observe, static_argnames="config")


SMALL = nj.Config.small()  # the model only depends on shapes: SCENE states use it too


@functools.lru_cache(maxsize=None)
def model_of(config: nj.Config, shared: bool = False):
    """(model, params, jitted apply) built once per config for the whole module."""
    model = ActorCritic(config, shared=shared)
    obs, _ = jit_reset(jax.random.PRNGKey(0), config)
    return model, jax.jit(model.init)(jax.random.PRNGKey(1), obs), jax.jit(model.apply)


@jax.jit
def draw(dist: ActionDist, keys: jax.Array) -> Choice:
    """One sample per key: Choice [len(keys), A]."""
    return jax.vmap(dist.sample)(keys)


def crowd() -> nj.Obs:
    """A crowded small-preset scene: full entity lists, immune and far agents,
    walls and lava around the observers, a frozen agent, empty slots."""
    agents = [dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11)), dict(slot=2, pos=(11, 12)),
              dict(slot=3, pos=(12, 10), health=3), dict(slot=5, pos=(9, 9), immune=4),
              dict(slot=6, pos=(10, 13)), dict(slot=7, pos=(13, 13), freeze=3),
              dict(slot=9, pos=(8, 10)), dict(slot=10, pos=(10, 10)), dict(slot=11, pos=(14, 8)),
              dict(slot=13, pos=(16, 16)), dict(slot=15, pos=(25, 25))]
    tiles = {(10, 9): nj.STONE, (11, 10): nj.WATER, (9, 10): nj.LAVA, (12, 11): nj.STONE}
    return observe(scene(agents, tiles), SCENE)


@pytest.fixture(scope="module")
def crowd_obs():
    obs = crowd()
    assert obs.entity_mask[0].sum() == SCENE.max_entities  # the list is full
    assert not obs.move_mask.all() and not obs.target_mask[:, :, 1:].all()  # masks bite
    return obs


def two_worlds(config: nj.Config) -> nj.Obs:
    worlds = [jit_reset(k, config)[0] for k in jax.random.split(jax.random.PRNGKey(7), 2)]
    return jax.tree.map(lambda *x: jnp.stack(x), *worlds)


# ------------------------------------------------------------------ shapes, jit, vmap
@pytest.mark.slow
@pytest.mark.parametrize("preset", ["small", "default"])
def test_shapes_dtypes_jit_and_vmap(preset):
    config = SMALL if preset == "small" else nj.Config()
    model, params, apply = model_of(config)
    a, k, p = config.num_agents, config.max_entities, config.num_populations
    assert all(x.shape[0] == p for x in jax.tree.leaves(params))
    obs = two_worlds(config)

    dist, value = apply(params, obs)  # [W, A, ...] in one call
    assert dist.move.shape == (2, a, 5) and dist.style.shape == (2, a, 3)
    assert dist.target.shape == (2, a, 3, k) and value.shape == (2, a)
    for x in (dist.move, dist.style, dist.target, value):
        assert x.dtype == jnp.float32 and bool(jnp.isfinite(x).all())
    if preset == "small":  # vmap over worlds == one batched call (compiles once more)
        one = jax.jit(jax.vmap(model.apply, in_axes=(None, 0)))(params, obs)
        for got, want in zip(jax.tree.leaves(one), jax.tree.leaves((dist, value))):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)

    keys = jax.random.split(jax.random.PRNGKey(2), 2)
    actions = jax.jit(jax.vmap(model.policy_fn(params)))(keys, obs)
    for x in (actions.move, actions.style, actions.target):
        assert x.shape == (2, a) and x.dtype == jnp.int32
    print(f"\n{preset}: {model.num_params(params):,} parameters")
    print(model.describe(params))


@pytest.mark.slow
def test_any_leading_dims_and_shared_parameters(small):
    model, params, apply = model_of(small)
    obs = two_worlds(small)
    seq = jax.tree.map(lambda x: jnp.stack([x, x, x]), obs)  # [T, W, A, ...]
    dist, value = apply(params, seq)
    assert dist.target.shape == (3, 2, small.num_agents, 3, small.max_entities)
    np.testing.assert_array_equal(value[2], value[0])
    first, _ = apply(params, jax.tree.map(lambda x: x[0], obs))  # one world [A, ...]
    np.testing.assert_allclose(first.move, dist.move[0, 0], rtol=1e-5, atol=1e-6)

    choice = dist.sample(jax.random.PRNGKey(0))
    assert choice.move.shape == (3, 2, small.num_agents) and choice.target.dtype == jnp.int32
    assert to_actions(choice, seq).target.shape == (3, 2, small.num_agents)

    s_model, s_params, s_apply = model_of(small, shared=True)
    assert model.num_params(params) == small.num_populations * s_model.num_params(s_params)
    s_dist, s_value = s_apply(s_params, jax.tree.map(lambda x: x[0], seq))
    assert s_dist.target.shape == dist.target.shape[1:] and s_value.shape == value.shape[1:]


@pytest.mark.slow
def test_inputs_hold_each_agents_paths_to_food_and_water():
    """Agent 0: the forest east is taken (agent 1 stands on it), the free one
    south sits behind stone (4 steps, round east or west); the water edge is
    2 steps west. Agent 1 stands alone on its forest: it eats there."""
    agents = [dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 12))]
    tiles = {(10, 12): nj.FOREST, (12, 10): nj.FOREST, (11, 10): nj.STONE, (10, 7): nj.WATER}
    obs = observe(scene(agents, tiles), SCENE)
    model, params, apply = model_of(SMALL)
    inputs = jax.jit(model.prepare)(obs)
    assert inputs.cells.dtype == jnp.uint8
    assert inputs.cells.shape == (SCENE.num_agents, len(cell_scale(SCENE, navigation=True)))
    size = len(nav.GOALS) * nav.FEATURES_PER_GOAL
    paths = np.asarray(inputs.cells[:2, -size:]).reshape(2, 2, nav.FEATURES_PER_GOAL)
    # reachable, distance, then the moves N, S, E, W that start a shortest path
    np.testing.assert_array_equal(paths[0], [[1, 4, 0, 0, 1, 1], [1, 2, 0, 0, 0, 1]])
    np.testing.assert_array_equal(paths[1], [[1, 0, 0, 0, 0, 0], [1, 4, 0, 0, 0, 1]])

    # apply = apply_inputs after prepare; without navigation the cells lose those columns
    dist, value = apply(params, obs)
    dist2, value2 = jax.jit(model.apply_inputs)(params, inputs)
    np.testing.assert_array_equal(value, value2)
    np.testing.assert_array_equal(dist.move, dist2.move)
    plain = ActorCritic(SMALL, navigation=False)
    assert plain.prepare(obs).cells.shape[-1] == inputs.cells.shape[-1] - size
    plain_params = plain.init(jax.random.PRNGKey(1), obs)
    assert model.num_params(params) - plain.num_params(plain_params) == (
        SMALL.num_populations * size * model.width)


def test_bad_arguments_raise_clear_errors(small):
    with pytest.raises(ValueError, match="width"):
        ActorCritic(small, width=0)
    model, params, _ = model_of(small)
    with pytest.raises(ValueError, match="ONE world"):
        model.init(jax.random.PRNGKey(0), two_worlds(small))
    wrong = jax.tree.map(lambda x: x[:, :8], two_worlds(small))  # 8 agents, not 16
    with pytest.raises(ValueError, match="num_agents"):
        model.apply(params, wrong)


# ------------------------------------------------------------------ masked distributions
def extreme(params, scale=30.0):
    """Parameters scaled up so logits are far from uniform (masks must still hold)."""
    return jax.tree.map(lambda x: x * scale, params)


@pytest.mark.slow
def test_sampling_never_picks_a_masked_action_and_probs_sum_to_one(crowd_obs):
    model, params, apply = model_of(SMALL)
    dist, _ = apply(extreme(params), crowd_obs)
    choice = draw(dist, jax.random.split(jax.random.PRNGKey(0), 1000))  # [1000, A]: 16,000
    obs = jax.tree.map(np.asarray, crowd_obs)
    move, style, target = (np.asarray(x) for x in (choice.move, choice.style, choice.target))
    agent = np.arange(SCENE.num_agents)[None, :]
    assert move.size >= 10_000
    assert obs.move_mask[agent, move].all()
    assert obs.target_mask[agent, style, target].all()  # valid for the style it was drawn with
    assert (obs.entity_mask[agent, target] | (target == 0)).all()  # no padded row, ever
    assert len(np.unique(target)) > 2 and len(np.unique(move)) > 1  # it did explore

    p_move, p_style, p_target = (np.asarray(x, np.float64) for x in dist.probs())
    np.testing.assert_allclose(p_move.sum(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(p_style.sum(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(p_target.sum(-1), 1.0, atol=1e-6)
    assert (p_move[~obs.move_mask] == 0).all() and (p_target[~obs.target_mask] == 0).all()
    mode = dist.mode()
    assert obs.move_mask[agent[0], np.asarray(mode.move)].all()
    assert obs.target_mask[agent[0], np.asarray(mode.style), np.asarray(mode.target)].all()


def test_sample_frequencies_follow_the_probabilities(crowd_obs):
    model, params, apply = model_of(SMALL)
    dist, _ = apply(extreme(params, 3.0), crowd_obs)
    draws = 1000
    choice = draw(dist, jax.random.split(jax.random.PRNGKey(1), draws))
    p_move, p_style, p_target = (np.asarray(x, np.float64) for x in dist.probs())
    freq = (np.asarray(choice.move)[..., None] == np.arange(5)).mean(0)
    sigma = np.sqrt(p_move * (1 - p_move) / draws)
    assert (np.abs(freq - p_move) <= 5 * sigma + 1e-3).all()
    freq = (np.asarray(choice.style)[..., None] == np.arange(3)).mean(0)
    sigma = np.sqrt(p_style * (1 - p_style) / draws)
    assert (np.abs(freq - p_style) <= 5 * sigma + 1e-3).all()


def joint(dist: ActionDist, a: int) -> dict:
    """Agent a's exact joint distribution {(move, style, target row): p} in float64."""
    p_move, p_style, p_target = (np.asarray(x[a], np.float64) for x in dist.probs())
    sizes = (p_move.size, p_style.size, p_target.shape[1])
    return {(m, s, t): p_move[m] * p_style[s] * p_target[s, t]
            for m, s, t in itertools.product(*map(range, sizes))}


@pytest.mark.slow
def test_log_prob_and_entropy_are_exact_under_the_masks(crowd_obs):
    model, params, apply = model_of(SMALL)
    dist, _ = apply(extreme(params, 3.0), crowd_obs)
    choice = dist.sample(jax.random.PRNGKey(5))
    logp, entropy = np.asarray(dist.log_prob(choice)), np.asarray(dist.entropy())
    assert np.isfinite(entropy).all()
    for a in range(SCENE.num_agents):
        table = joint(dist, a)
        pick = (int(choice.move[a]), int(choice.style[a]), int(choice.target[a]))
        np.testing.assert_allclose(logp[a], np.log(table[pick]), rtol=1e-4, atol=1e-5)
        h = -sum(p * np.log(p) for p in table.values() if p > 0)
        np.testing.assert_allclose(entropy[a], h, rtol=1e-4, atol=1e-5)
        assert abs(sum(table.values()) - 1) < 1e-6


def test_entropy_and_log_prob_gradients_are_finite(crowd_obs):
    model, params, _ = model_of(SMALL)
    choice = Choice(move=jnp.zeros(SCENE.num_agents, jnp.int32),
                    style=jnp.zeros(SCENE.num_agents, jnp.int32),
                    target=jnp.zeros(SCENE.num_agents, jnp.int32))

    def loss(p):
        dist, value = model.apply(p, crowd_obs)
        return dist.entropy().sum() + dist.log_prob(choice).sum() + value.sum()

    grads = jax.jit(jax.grad(loss))(params)
    assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads))
    assert any(float(jnp.abs(g).max()) > 0 for g in jax.tree.leaves(grads))


def test_to_actions_maps_rows_to_slots(crowd_obs):
    rows = jnp.asarray([0, 1, 2, 3] * 4, jnp.int32)
    choice = Choice(move=jnp.zeros(16, jnp.int32), style=jnp.ones(16, jnp.int32), target=rows)
    actions = to_actions(choice, crowd_obs)
    want = np.asarray(crowd_obs.entity_slot)[np.arange(16), np.asarray(rows)]
    np.testing.assert_array_equal(actions.target, want)
    assert int(actions.target[0]) == 0  # row 0 is always the observer itself: no attack


# ------------------------------------------------------------------ symmetry and populations
def test_permuting_other_entities_permutes_target_logits_and_keeps_the_value(crowd_obs):
    model, params, apply = model_of(SMALL)
    k = SCENE.max_entities
    perm = np.concatenate([[0], 1 + np.random.default_rng(0).permutation(k - 1)])
    assert (perm != np.arange(k)).sum() >= k - 2
    swapped = crowd_obs.replace(
        entities=crowd_obs.entities[:, perm], entity_mask=crowd_obs.entity_mask[:, perm],
        entity_slot=crowd_obs.entity_slot[:, perm], target_mask=crowd_obs.target_mask[:, :, perm])
    dist, value = apply(params, crowd_obs)
    dist2, value2 = apply(params, swapped)
    np.testing.assert_allclose(value2, value, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dist2.move, dist.move, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dist2.style, dist.style, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dist2.target, dist.target[:, :, perm], rtol=1e-5, atol=1e-6)
    # and the change was not a no-op: real target logits differ between rows
    assert np.ptp(np.asarray(dist.target[0, 2])[np.asarray(crowd_obs.target_mask[0, 2])]) > 0


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["small", "default"])
def test_population_3_parameters_move_only_population_3_agents(preset, crowd_obs):
    config = SMALL if preset == "small" else nj.Config()
    model, params, apply = model_of(config)
    obs = two_worlds(config) if preset == "default" else jax.tree.map(
        lambda x: jnp.stack([x, x]), crowd_obs)
    noise = lambda x, key: x.at[3].add(0.3 * jax.random.normal(key, x.shape[1:]))
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(9), len(leaves))
    changed = jax.tree.unflatten(tree, [noise(x, k) for x, k in zip(leaves, keys)])
    before, after = apply(params, obs), apply(changed, obs)
    pop3 = np.arange(config.num_agents) % config.num_populations == 3
    for old, new in zip(jax.tree.leaves(before), jax.tree.leaves(after)):
        old, new = np.asarray(old), np.asarray(new)
        np.testing.assert_array_equal(new[:, ~pop3], old[:, ~pop3])  # bit-identical elsewhere
    value_moved = np.abs(np.asarray(after[1]) - np.asarray(before[1]))[:, pop3]
    assert (value_moved > 0).all()
    move_moved = np.abs(np.asarray(after[0].move) - np.asarray(before[0].move))[:, pop3]
    assert (move_moved.max(-1) > 0).all()
