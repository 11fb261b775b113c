"""envs.ParallelEnv: PettingZoo's own API and seed tests, naming of lives, bad actions, render,
params."""
import subprocess
import sys
import warnings

import chex
import jax
import numpy as np
import pytest

pytest.importorskip("pettingzoo")
from gymnasium.utils.env_checker import data_equivalence  # noqa: E402
from pettingzoo.test import parallel_api_test, parallel_seed_test  # noqa: E402

import nmmo_jax as nj  # noqa: E402
from envs import ParallelEnv  # noqa: E402
from viz.draw import render  # noqa: E402

SMALL = nj.Config.small()
# possible_agents is an upper bound on the lives of an episode, so this one warning is expected.
UPPER_BOUND_WARNING = "No agents present but not all possible_agents are terminated or truncated"


@pytest.mark.parametrize("config,max_ticks", [
    pytest.param(SMALL, 300, id="small"),
    pytest.param(nj.Config(), 200, id="default", marks=pytest.mark.slow)])
@pytest.mark.slow
def test_pettingzoo_api_test(config, max_ticks):
    env = ParallelEnv(config, seed=0, max_ticks=max_ticks)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parallel_api_test(env, num_cycles=1000)
    assert {str(w.message) for w in caught} <= {UPPER_BOUND_WARNING}
    assert env.agents == []  # the second episode ran to its truncation at max_ticks
    assert int(env.world.tick) == max_ticks


@pytest.mark.parametrize("config", [
    pytest.param(SMALL, id="small"), pytest.param(nj.Config(), id="default", marks=pytest.mark.slow)])
def test_pettingzoo_seed_test(config):
    parallel_seed_test(lambda: ParallelEnv(config, max_ticks=100), num_cycles=100)


def run_episode(env, seed, steps):
    """Seeded reset and seeded random actions; returns every output of every step."""
    outputs = [env.reset(seed=seed)]
    env.action_space("agent_0").seed(seed)
    for _ in range(steps):
        if not env.agents:
            break
        actions = {a: env.action_space(a).sample() for a in env.agents}
        outputs.append(env.step(actions))
    return outputs


def test_same_seed_same_episode_and_other_seed_differs():
    a = run_episode(ParallelEnv(SMALL, max_ticks=150), 3, 150)
    b = run_episode(ParallelEnv(SMALL, max_ticks=150), 3, 150)
    c = run_episode(ParallelEnv(SMALL, max_ticks=150), 4, 150)
    assert len(a) == 151 and data_equivalence(a, b)
    assert not data_equivalence(a[:20], c[:20])


def test_lives_are_named_in_spawn_order_and_match_the_world():
    env = ParallelEnv(SMALL, seed=1, max_ticks=200)
    obs, infos = env.reset()
    space = env.observation_space(env.agents[0])
    slot_of = {a: infos[a]["slot"] for a in env.agents}
    ended, reused_slots, next_number = set(), 0, len(env.agents)
    env.action_space("agent_0").seed(1)
    while env.agents:
        acted = list(env.agents)
        obs, rewards, terms, truncs, infos = env.step(
            {a: env.action_space(a).sample() for a in acted})
        assert set(obs) == set(rewards) == set(terms) == set(truncs) == set(infos)
        assert set(acted) <= set(obs)
        for name in sorted(set(obs) - set(acted), key=lambda n: int(n.split("_")[1])):
            assert name == f"agent_{next_number}" and name not in ended  # fresh, consecutive
            next_number += 1
            reused_slots += infos[name]["slot"] in slot_of.values() and any(
                slot_of[e] == infos[name]["slot"] for e in ended)
            slot_of[name] = infos[name]["slot"]
        for name in obs:
            assert space.contains(obs[name])
            assert infos[name]["slot"] == slot_of[name]
            if terms[name]:
                assert rewards[name] == -1.0 and infos[name]["lifetime"] > 0
                assert infos[name]["death_cause"] != "none"
                ended.add(name)
            else:
                assert rewards[name] == 0.0 and infos[name]["death_cause"] == "none"
            if truncs[name]:
                ended.add(name)
        if int(env.world.tick) < 200:  # before truncation, env.agents is the world's living
            alive = np.flatnonzero(np.asarray(env.world.agents.alive))
            assert sorted(slot_of[a] for a in env.agents) == alive.tolist()
    assert int(env.world.tick) == 200 and reused_slots > 0 and len(ended) == next_number
    assert all(truncs[a] for a in truncs if not terms[a])


def snapshot(env):
    """Every leaf of the world and the env's random key, and the living names."""
    leaves = [np.asarray(x) for x in jax.tree.leaves((env.world, env._key))]
    return leaves, list(env.agents)


def test_bad_actions_raise_and_leave_the_world_unchanged():
    env, twin = ParallelEnv(SMALL, seed=7), ParallelEnv(SMALL, seed=7)
    env.reset(), twin.reset()
    dead = None
    for _ in range(40):  # until someone has died and others live
        actions = {a: np.array([nj.WEST, 0, 0]) for a in env.agents}
        out = env.step(actions)
        twin.step(actions)
        dead = dead or next((a for a, t in out[2].items() if t), None)
        if dead and len(env.agents) >= 2:
            break
    assert dead is not None and len(env.agents) >= 2
    live, other = env.agents[0], env.agents[1]
    k = SMALL.max_entities
    bad = [
        ({live: [5, 0, 0]}, live, "move=5"),
        ({live: [-1, 0, 0]}, live, "move=-1"),
        ({live: [0, 3, 0]}, live, "style=3"),
        ({live: [0, 0, k]}, live, f"target={k}"),
        ({other: [1, 0, 0], live: [0, 0, -2]}, live, "target=-2"),  # one good action changes nothing
        ({live: [0, 0]}, live, "shape"),
        ({live: [0.0, 1.0, 0.0]}, live, "dtype"),
        ({live: None}, live, "got NoneType"),
        ({live: "0 0 0"}, live, "got str"),
        ({live: [0, None, 0]}, live, "style=None is not an integer"),
        ({dead: [0, 0, 0]}, dead, "not alive"),
        ({"bob": [0, 0, 0]}, "bob", "not an agent"),
    ]
    before = snapshot(env)
    for actions, agent, field in bad:
        with pytest.raises(ValueError, match=rf"'{agent}'.*{field}"):
            env.step(actions)
        after = snapshot(env)
        assert data_equivalence(before, after)
    with pytest.raises(ValueError, match="actions"):
        env.step([[0, 0, 0]])
    # The random stream did not move either: the next good step equals the twin's.
    actions = {a: np.array([nj.EAST, 1, 0]) for a in env.agents}
    assert data_equivalence(env.step(actions), twin.step(actions))


def test_truncation_ends_the_episode():
    env = ParallelEnv(SMALL, seed=0, max_ticks=5)
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    env.reset()
    for tick in range(1, 6):
        obs, rewards, terms, truncs, infos = env.step({})  # no action: stay, no attack
    assert all(truncs.values()) and not any(terms.values()) and env.agents == []
    assert int(env.world.tick) == 5
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    obs, infos = env.reset()
    assert env.agents == ["agent_0"] and set(obs) == {"agent_0"}


def test_render_rgb_array():
    env = ParallelEnv(SMALL, seed=0, render_mode="rgb_array", render_scale=4)
    env.reset()
    frame = env.render()
    assert frame.shape == (128, 128, 3) and frame.dtype == np.uint8
    assert (frame == render(env.world, SMALL, scale=4)).all()  # the one palette, viz.draw's
    quiet = ParallelEnv(SMALL, seed=0)
    quiet.reset()
    with pytest.warns(UserWarning, match="render_mode"):
        assert quiet.render() is None


@pytest.mark.parametrize("kwargs,field", [
    (dict(render_mode="human"), "render_mode"), (dict(max_ticks=0), "max_ticks"),
    (dict(seed=-1), "seed"), (dict(seed=2 ** 64), "seed"), (dict(config="small"), "config"),
    (dict(render_scale=0), "render_scale"),
    (dict(params={"bogus": 1}), r"^params: bogus: not a Params field \(fields: noise_frequency, "),
    (dict(params={"map_size": 64}), r"^params: map_size: a Config field"),
    (dict(params={"food_decay": -1}), r"^params: Params.food_decay=-1: must be >= 0"),
    (dict(params={"melee_damage": 5}), r"^params: Params.melee_damage=5: must be a pair"),
    (dict(params=nj.default_params(SMALL).replace(hit_base=np.float32(2))),
     r"^params: Params.hit_base=2.0: must be >= 0.0 and <= 1.0"),
    (dict(params=[("food_decay", 2)]), r"^params: expected a nmmo_jax.Params or a dict"),
])
def test_constructor_errors(kwargs, field):
    with pytest.raises(ValueError, match=field) as error:
        ParallelEnv(**{"config": SMALL, **kwargs})
    assert "\n" not in str(error.value)


def test_spaces_and_names():
    env = ParallelEnv(SMALL, max_ticks=10)
    assert len(env.possible_agents) == 11 and env.possible_agents[-1] == "agent_10"
    assert env.action_space("agent_3").nvec.tolist() == [5, 3, 8]
    assert env.observation_space("agent_3")["target_mask"].shape == (3, 8)
    with pytest.raises(ValueError, match="agent_11"):
        env.action_space("agent_11")
    with pytest.raises(ValueError, match="seed"):
        env.reset(seed="zero")


@pytest.mark.parametrize("seed,message", [
    (2 ** 64, r"seed=18446744073709551616: must be in 0..2\*\*32-1"),
    (2 ** 32, r"seed=4294967296: must be in 0..2\*\*32-1"),
    (-1, r"seed=-1: must be in 0..2\*\*32-1"),
    (1.5, r"seed=1.5: must be an integer"),
])
def test_reset_refuses_seeds_a_key_cannot_hold(seed, message):
    env = ParallelEnv(SMALL)
    with pytest.raises(ValueError, match=message):
        env.reset(seed=seed)
    assert env.reset(seed=2 ** 32 - 1)[0]  # the largest seed a key holds whole


def test_params_change_the_game():
    """food_decay=3, as a dict of changes or as the Params itself: the first agent (standing
    on no forest, so it never eats) loses 3 food a tick where v1.3's loses 1."""
    food = {}
    for name, params in [("v13", None), ("dict", {"food_decay": 3}),
                         ("params", nj.default_params(SMALL, food_decay=3))]:
        env = ParallelEnv(SMALL, seed=5, params=params)
        _, infos = env.reset()
        slot = infos["agent_0"]["slot"]
        food[name] = []
        for _ in range(3):
            env.step({})  # everyone stays
            world = jax.device_get(env.world)
            assert world.tiles[tuple(world.agents.pos[slot])] != nj.FOREST
            food[name].append(int(world.agents.food[slot]))
    assert food == {"v13": [9, 8, 7], "dict": [7, 4, 1], "params": [7, 4, 1]}
    chex.assert_trees_all_equal(ParallelEnv(SMALL, params={"food_decay": 3}).params,
                                nj.default_params(SMALL, food_decay=3))


def test_infos_have_the_same_keys_at_reset_and_step():
    env = ParallelEnv(SMALL, seed=0)
    _, infos = env.reset()
    _, _, _, _, step_infos = env.step({})
    assert {tuple(i) for i in infos.values()} == {tuple(i) for i in step_infos.values()} == {
        ("slot", "lifetime", "death_cause")}


def test_spaces_are_the_dict_apis_spaces():
    from envs import spaces
    env = ParallelEnv(SMALL)
    gym, jaxs = env.observation_space("agent_0"), spaces.observation_space(SMALL)
    assert set(gym.spaces) == set(jaxs.spaces)
    assert all(gym[f].shape == jaxs[f].shape for f in jaxs.spaces)
    assert gym["entity_mask"].dtype == np.int8 and gym["tiles"].dtype == np.int8
    assert env.action_space("agent_0").nvec.tolist() == spaces.action_space(SMALL).nvec.tolist()


@pytest.mark.slow
def test_envs_import_without_the_optional_extras():
    code = (
        "import sys\n"
        "sys.modules['gymnasium'] = sys.modules['pettingzoo'] = None\n"
        "import nmmo_jax, envs\n"
        "envs.MultiAgentEnv(nmmo_jax.Config.small())\n"
        "try:\n"
        "    envs.ParallelEnv\n"
        "except ImportError:\n"
        "    print('optional ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "optional ok"
