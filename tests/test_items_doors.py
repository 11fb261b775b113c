"""Doors that do not carry inventories yet refuse a world with items, in one line."""
import jax
import jax.numpy as jnp
import pytest

import nmmo_jax as nj
from envs.multi_agent import MultiAgentEnv
from policies.io import Input
from viz.record import record

ITEMS = nj.Config.small(inventory_slots=4)


def refused(where: str):
    return pytest.raises(ValueError, match=rf"^{where}: Config.inventory_slots=4 \(items, "
                                           r"docs/rules.md §10\) is not supported here yet")


def test_adapters_viewer_and_policy_io_refuse_items():
    with refused("observation_space"):
        MultiAgentEnv(ITEMS)
    with refused("viz.record"):
        record(lambda key, obs: nj.Actions.noop(ITEMS.num_agents), ITEMS, ticks=1)
    with refused("policies.io.Input"):
        Input(ITEMS).init(jax.random.PRNGKey(0), None)


def test_the_step_itself_plays_items():
    obs, state = nj.jit_reset(jax.random.PRNGKey(0), ITEMS)
    assert obs.inventory.shape[:2] == (ITEMS.num_agents, 4)
    assert jnp.all(state.items.gold[state.agents.alive] == 1)
