"""Purity, jit, vmap, determinism and invariants of the whole step."""
import jax
import jax.numpy as jnp
import numpy as np

import nmmo_jax as nj
from policies.scripted import random_policy
from tests.conftest import jit_reset, jit_step


def rollout(config, key, ticks):
    """Scan `ticks` ticks of random masked actions from a reset; returns per-tick records."""
    def tick(carry, k):
        obs, state = carry
        k_act, k_step = jax.random.split(k)
        obs, state, reward, done, info = nj.step(k_step, state, random_policy(k_act, obs), config)
        ag = state.agents
        return (obs, state), dict(
            reward=reward, done=done, alive=info["alive"], tile=state.tiles[ag.pos[:, 0], ag.pos[:, 1]],
            health=ag.health, food=ag.food, water=ag.water, xp=ag.xp,
            nan=jnp.isnan(obs.entities).any())

    k_reset, k_run = jax.random.split(key)
    obs, state = nj.reset(k_reset, config)
    return jax.lax.scan(tick, (obs, state), jax.random.split(k_run, ticks))


def test_no_retrace_across_steps(small):
    traces = []

    def counted(key, state, actions):
        traces.append(1)
        return nj.step(key, state, actions, small)

    f = jax.jit(counted)
    obs, s = jit_reset(jax.random.PRNGKey(0), small)
    for t in range(5):
        obs, s, *_ = f(jax.random.PRNGKey(t), s, random_policy(jax.random.PRNGKey(t), obs))
    assert len(traces) == 1


def test_vmap_equals_separate_calls(small):
    keys = jax.random.split(jax.random.PRNGKey(3), 4)
    obs, states = jax.jit(jax.vmap(lambda k: nj.reset(k, small)))(keys)  # eager vmap: op by op, slow
    acts = jax.jit(jax.vmap(random_policy))(keys, obs)
    batched = jax.jit(jax.vmap(lambda k, s, a: nj.step(k, s, a, small)))(keys, states, acts)
    for w in range(4):
        pick = lambda x: x[w]
        single = jit_step(keys[w], jax.tree.map(pick, states), jax.tree.map(pick, acts), small)
        for a, b in zip(jax.tree.leaves(single), jax.tree.leaves(jax.tree.map(pick, batched))):
            assert np.array_equal(np.asarray(a), np.asarray(b))


def test_same_key_same_result(small):
    run = jax.jit(lambda k: rollout(small, k, 50), )
    a, b = run(jax.random.PRNGKey(11)), run(jax.random.PRNGKey(11))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert np.array_equal(np.asarray(x), np.asarray(y))
    c = run(jax.random.PRNGKey(12))
    assert not np.array_equal(np.asarray(a[0][1].agents.pos), np.asarray(c[0][1].agents.pos))


def test_invariants_over_2000_random_ticks(small):
    (_, state), rec = jax.jit(lambda k: rollout(small, k, 2000))(jax.random.PRNGKey(5))
    rec = jax.tree.map(np.asarray, rec)
    alive = rec["alive"]
    assert not rec["nan"].any()
    assert set(np.unique(rec["reward"])) <= {0.0, -1.0}
    assert np.array_equal(rec["reward"] == -1.0, rec["done"])
    assert rec["done"].sum() > 50  # random play dies a lot
    from nmmo_jax.systems.skills import level
    levels = np.asarray(level(jnp.asarray(rec["xp"]), small))
    for stat, skill in (("health", nj.CONSTITUTION), ("food", nj.HUNTING), ("water", nj.FISHING)):
        v = rec[stat][alive]
        assert (v >= 0).all() and (v <= levels[..., skill][alive]).all(), stat
    assert not np.isin(rec["tile"][alive], (nj.WATER, nj.STONE, nj.LAVA)).any()
    assert (rec["xp"] >= 0).all()
    assert 1 <= alive[-1].sum() <= small.num_agents
