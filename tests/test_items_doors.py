"""Doors that do not carry inventories yet (the Gymnasium-style spaces) refuse a
world with items, in one line; the step, the batch and matches play them."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from envs.multi_agent import MultiAgentEnv

ITEMS = nj.Config.small(inventory_slots=4)


def refused(where: str):
    return pytest.raises(ValueError, match=rf"^{where}: Config.inventory_slots=4 \(items, "
                                           r"docs/rules.md §10\) is not supported here yet")


def test_the_adapters_refuse_items():
    with refused("observation_space"):
        MultiAgentEnv(ITEMS)


def test_the_step_itself_plays_items():
    obs, state = nj.jit_reset(jax.random.PRNGKey(0), ITEMS)
    assert obs.inventory.shape[:2] == (ITEMS.num_agents, 4)
    assert jnp.all(state.items.gold[state.agents.alive] == 1)


@pytest.mark.slow
def test_chunked_batches_carry_the_empty_npc_gold_of_an_items_world():
    from envs.batch import batch_reset
    obs, state = batch_reset(jax.random.PRNGKey(1), ITEMS, num_worlds=4, chunk=2)
    assert state.items.npc_gold.shape == (4, 0)
    _, whole = batch_reset(jax.random.PRNGKey(1), ITEMS, num_worlds=4)
    assert bool(jnp.all(state.items.gold == whole.items.gold))


@pytest.mark.slow
def test_a_match_mixes_a_policy_that_uses_items_with_one_that_does_not():
    from policies.scripted import SCRIPTED
    from train.evaluation.matches import holders_for_all, play_each
    careful, gear = SCRIPTED["careful_forager"], SCRIPTED["gear_forager"]
    both = play_each([careful, gear], ITEMS, worlds=2, windows=[(0, 20)], seed=0)
    # Each line-up plays alone: beside a policy that uses items, careful_forager's
    # numbers are those of careful_forager played by itself.
    alone = play_each([careful], ITEMS, worlds=2, windows=[(0, 20)], seed=0)
    chex.assert_trees_all_equal(both[0], alone[0])
    assert int(np.sum(both[1].alive)) > 0
