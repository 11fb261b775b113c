"""policies/world.py and `--sees-params`: a policy that reads each world's randomized
numbers, scaled to [-1, 1] over their training ranges, per world; its refusals; and a
run whose checkpoint and export bring the same inputs back."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from policies.baseline import ActorCritic
from policies.resolve import resolve
from policies.world import WorldInputs
from tests.conftest import jit_reset
from tests.test_train_params import RANDOM
from tests.test_train_run_cli import refused
from train.run.loop import run
from train.run.policy import export_policy, load_model, load_trained

SMALL = nj.Config.small()
RANGES = nj.param_ranges(nj.default_params(SMALL),
                         {"hit_base": (0.2, 0.8), "food_decay": (0, 4),
                          "melee_damage": ((5.0, 10.0), (5.0, 40.0))}, SMALL)


def test_the_inputs_are_the_varying_elements_in_field_order():
    seen = WorldInputs.of(RANGES)
    # food_decay comes before hit_base and melee_damage in Params; of the damage pair
    # only the per-level element (index 1) varies.
    assert seen.fields == ("food_decay", "hit_base", "melee_damage")
    assert seen.index == (-1, -1, 1)
    assert seen.low == pytest.approx((0.0, 0.2, 10.0)) and seen.high == pytest.approx((4.0, 0.8, 40.0))
    with pytest.raises(ValueError, match="no field varies"):
        WorldInputs.of(nj.param_ranges(nj.default_params(SMALL), {}, SMALL))


def test_each_input_reads_minus_one_at_low_plus_one_at_high_and_beyond_outside():
    seen = WorldInputs.of(RANGES)
    at = lambda **kw: np.asarray(seen.features(nj.default_params(SMALL, **kw)))
    np.testing.assert_allclose(at(food_decay=0, hit_base=0.2, melee_damage=(5.0, 10.0)), [-1, -1, -1])
    np.testing.assert_allclose(at(food_decay=4, hit_base=0.8, melee_damage=(5.0, 40.0)), [1, 1, 1],
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(at(food_decay=2, hit_base=0.5, melee_damage=(9.0, 25.0)), [0, 0, 0],
                               atol=1e-6)
    # Outside the training range: food_decay 6 reads 2, hit_base 1.0 reads 5/3.
    np.testing.assert_allclose(at(food_decay=6, hit_base=1.0, melee_damage=(5.0, 70.0)),
                               [2.0, 5 / 3, 3.0], rtol=1e-5)
    # Stacked params [2] give one row per world.
    both = nj.params.stack([nj.default_params(SMALL, food_decay=0), nj.default_params(SMALL, food_decay=4)])
    chex.assert_shape(seen.features(both), (2, 3))
    np.testing.assert_allclose(np.asarray(seen.features(both))[:, 0], [-1, 1])


@pytest.fixture(scope="module")
def seeing():
    model = ActorCritic(SMALL, width=8, shared=True, navigation=False,
                         world_inputs=WorldInputs.of(RANGES))
    obs, _ = jit_reset(jax.random.PRNGKey(0), SMALL)
    return model, model.init(jax.random.PRNGKey(1), obs), obs


def test_every_agent_of_a_world_reads_that_worlds_numbers(seeing):
    model, _, obs = seeing
    hungry = nj.default_params(SMALL, food_decay=4)  # hit_base 0.5; melee per level 45,
    inputs = model.prepare(obs, hungry)                # above the range: 2 * 35 / 30 - 1
    chex.assert_shape(inputs.world, (SMALL.num_agents, 3))
    np.testing.assert_allclose(np.asarray(inputs.world), np.tile([1.0, 0.0, 4 / 3], (SMALL.num_agents, 1)),
                               rtol=1e-6, atol=1e-6)
    # None means v1.3's numbers (food_decay 1).
    plain = np.asarray(model.prepare(obs).world[0])
    np.testing.assert_allclose(plain, np.asarray(WorldInputs.of(RANGES).features(nj.default_params(SMALL))))
    # Two worlds [2, A] with their own numbers [2].
    two = jax.tree.map(lambda x: jnp.stack([x, x]), obs)
    game = nj.params.stack([nj.default_params(SMALL), hungry])
    world = np.asarray(model.prepare(two, game).world)
    chex.assert_shape(world, (2, SMALL.num_agents, 3))
    np.testing.assert_allclose(world[0, 0], plain, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(world[1], np.asarray(inputs.world), rtol=1e-6, atol=1e-6)


def test_the_network_reads_the_numbers_and_a_blind_one_ignores_them(seeing):
    model, params, obs = seeing
    calm, hungry = nj.default_params(SMALL, food_decay=0), nj.default_params(SMALL, food_decay=4)
    _, v_calm = model.apply(params, obs, calm)
    _, v_hungry = model.apply(params, obs, hungry)
    assert not np.allclose(np.asarray(v_calm), np.asarray(v_hungry))
    blind = ActorCritic(SMALL, width=8, shared=True, navigation=False)
    blind_params = blind.init(jax.random.PRNGKey(1), obs)
    assert blind.prepare(obs, hungry).world is None
    np.testing.assert_array_equal(np.asarray(blind.apply(blind_params, obs, calm)[1]),
                                  np.asarray(blind.apply(blind_params, obs, hungry)[1]))
    # The world inputs are 3 more rows of the embedding matrix than the blind model's.
    kernel = lambda p: p["params"]["input"]["embed"]["kernel"].shape[0]
    assert kernel(params) == kernel(blind.init(jax.random.PRNGKey(1), obs)) + 3


def test_sees_params_without_randomize_is_refused(capsys):
    err = refused(capsys, ["--preset", "small", "--sees-params"])
    assert ("--sees-params: the policy sees the numbers that --randomize draws for each world; "
            "without --randomize there is nothing to see") in err


@pytest.mark.slow
def test_a_seeing_run_loads_and_exports_with_its_inputs(tmp_path):
    tc = RANDOM.replace(ppo=RANDOM.ppo.replace(sees_params=True))
    out = tmp_path / "run"
    run(tc, out, evaluate=False)
    model, params, loaded_tc = load_model(out)
    assert loaded_tc == tc
    assert model.world_inputs == WorldInputs.of(tc.param_ranges)
    assert model.world_inputs.fields == ("food_decay", "hit_base", "melee_damage", "melee_damage")
    named = resolve(str(export_policy(out, tmp_path / "policy.npz")), load_trained)
    assert named.model_for(tc.env_config).world_inputs == model.world_inputs
    obs, _ = jit_reset(jax.random.PRNGKey(0), tc.env_config)
    game = nj.default_params(tc.env_config, food_decay=3)
    want = model.apply(params, obs, game)[1]
    np.testing.assert_array_equal(np.asarray(named.model.apply(named.params, obs, game)[1]),
                                  np.asarray(want))
    actions = named.policy(game=game)(jax.random.PRNGKey(2), obs)
    chex.assert_shape(actions.move, (tc.env_config.num_agents,))
