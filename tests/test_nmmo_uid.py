"""uids: tick * num_agents + slot is unique up to Config.max_tick, and no world steps past it."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from tests.conftest import SCENE, act, jit_step, scene


@pytest.mark.parametrize("config,last", [(nj.Config(), 16_777_215), (nj.Config.large(), 2_097_151),
                                         (SCENE, 134_217_727)])
def test_max_tick_is_the_last_tick_whose_uids_fit_int32(config, last):
    a = config.num_agents
    assert config.max_tick == last
    assert last * a + a - 1 <= 2 ** 31 - 1 < (last + 1) * a + a - 1


@pytest.mark.slow
def test_uids_at_the_bound_are_exact_and_stepping_past_it_is_refused(small):
    # One step before the bound: the new agents get the last uids that fit int32.
    start = scene([], config=small).replace(tick=jnp.int32(small.max_tick - 1))
    nj.check_state(start, small)
    _, state, _, _, info = jit_step(jax.random.PRNGKey(0), start, act(small), small)
    assert int(state.tick) == small.max_tick == 134_217_727
    (slot,) = np.flatnonzero(np.asarray(info["spawned"]))
    assert int(state.agents.uid[slot]) == small.max_tick * 16 + slot
    assert 0 < small.max_tick * 16 + 15 == 2 ** 31 - 1
    with pytest.raises(ValueError, match=r"state.tick=134217727: a world cannot step past "
                                         r"Config.max_tick=134217727"):
        nj.check_state(state, small)
    batch = jax.tree.map(lambda x: jnp.stack([x, x]), start).replace(
        tick=jnp.array([0, small.max_tick], jnp.int32))
    with pytest.raises(ValueError, match="state.tick=134217727"):
        nj.check_state(batch, small, batch=(2,))
