"""nmmo_jax.checks: wrong actions and states named before they reach the jitted step."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from tests.conftest import SCENE, act, jit_reset, scene

A = SCENE.num_agents  # 16


def noop_with(**fields) -> nj.Actions:
    return act().replace(**fields)


def test_good_actions_pass():
    nj.check_actions(act(), SCENE)
    nj.check_actions(nj.Actions(*(np.zeros(A, np.int64) for _ in range(3))), SCENE)  # numpy ints
    stacked = jax.tree.map(lambda x: jnp.stack([x, x, x]), act())
    nj.check_actions(stacked, SCENE, batch=(3,))


@pytest.mark.parametrize("actions,message", [
    (None, r"actions: expected nmmo_jax.Actions\(move, style, target\) of integer arrays of "
           r"shape \(16,\), got None"),
    ({"move": np.zeros(A, np.int32)}, "actions: expected nmmo_jax.Actions.*got dict"),
    (noop_with(move=jnp.zeros(A, jnp.float32)),
     r"actions.move: expected an integer array of shape \(16,\), got float32 \(16,\)"),
    (noop_with(style=jnp.zeros(A + 1, jnp.int32)),
     r"actions.style: expected an integer array of shape \(16,\), got int32 \(17,\)"),
    (noop_with(target=None), r"actions.target: expected an integer array of shape \(16,\), got None"),
    (noop_with(target=list(range(A))), "actions.target: .* got list"),
    (noop_with(move=jnp.zeros(A, bool)), r"actions.move: .* got bool \(16,\)"),
    (noop_with(move=jnp.zeros((1, A), jnp.int32)), r"actions.move: .* got int32 \(1, 16\)"),
])
def test_bad_actions_name_the_field(actions, message):
    with pytest.raises(ValueError, match=message):
        nj.check_actions(actions, SCENE)


def test_batch_shape_is_checked():
    with pytest.raises(ValueError, match=r"actions.move: expected an integer array of shape \(4, 16\)"):
        nj.check_actions(act(), SCENE, batch=(4,))


@pytest.mark.slow
def test_good_states_pass():
    state = scene([dict(slot=0, pos=(3, 3))])
    nj.check_state(state, SCENE)
    _, reset_state = jit_reset(jax.random.PRNGKey(0), nj.Config.small())
    nj.check_state(reset_state, SCENE)
    nj.check_state(jax.tree.map(lambda x: jnp.stack([x, x]), state), SCENE, batch=(2,))


def test_state_of_another_config_is_named():
    state = scene([], config=nj.Config.small(spawn_per_tick=0, map_size=40))
    with pytest.raises(ValueError, match=r"state.tiles: expected an int8 array of shape \(32, 32\), "
                                         r"got int8 \(40, 40\)"):
        nj.check_state(state, SCENE)
    other = nj.initial_state(jnp.zeros((32, 32), jnp.int8), nj.Config.small(num_agents=8, max_entities=8,
                                                                            num_populations=4))
    with pytest.raises(ValueError, match=r"state.agents.alive: expected a bool array of shape \(16,\), "
                                         r"got bool \(8,\)"):
        nj.check_state(other, SCENE)


@pytest.mark.parametrize("change,message", [
    (lambda s: s.replace(tick=jnp.zeros((), jnp.float32)), r"state.tick: .* shape \(\), got float32"),
    (lambda s: s.replace(agents=s.agents.replace(xp=s.agents.xp[:, :6])),
     r"state.agents.xp: expected an int32 array of shape \(16, 7\), got int32 \(16, 6\)"),
    (lambda s: s.replace(agents=s.agents.replace(health=None)), "state.agents.health: .* got None"),
    (lambda s: None, "state: expected a nmmo_jax.State .* got None"),
])
def test_bad_states_name_the_field(change, message):
    with pytest.raises(ValueError, match=message):
        nj.check_state(change(scene([])), SCENE)


def test_config_must_be_a_config():
    with pytest.raises(ValueError, match="config: expected a nmmo_jax.Config, got str"):
        nj.check_actions(act(), "small")
