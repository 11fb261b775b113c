"""Policies with NPCs on (docs/rules.md §9): the IO modules read the NPC columns and
point at NPC rows; the shipped v1.3 policy is unchanged; the NPC-aware yardsticks
(`wary_forager`, `hunter`) on hand-built scenes and in jitted, vmapped play."""
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from policies import scripted
from policies.baseline import ActorCritic
from policies.io import ActionDist, npc_columns, to_actions
from tests.conftest import SCENE, scene
from tests.test_systems_npc import A, NPC_SCENE, STILL, npc_scene

STAY, N, S, E, W = range(5)
ME = (10, 10)
GOLDEN = Path(__file__).parent / "golden" / "pretrained_scene.json"
PRETRAINED = Path(scripted.__file__).parent / "pretrained" / "default.npz"
SMALL_NPCS = nj.Config.small(num_npcs=16)  # 16 agents and 16 NPCs on the 32x32 map

observe = jax.jit(nj.observe, static_argnames="config")
wary = jax.jit(scripted.wary_forager)
hunter = jax.jit(scripted.hunter)
careful = jax.jit(scripted.careful_forager)


def npc_obs(agents: list[dict], npcs: list[dict], tiles: dict | None = None) -> nj.Obs:
    return observe(npc_scene(agents, npcs, tiles), NPC_SCENE, STILL)


def moves(policy, obs: nj.Obs, slot: int = 0, draws: int = 64) -> set[int]:
    """The moves `policy` makes for `slot` over `draws` keys."""
    keys = jax.random.split(jax.random.PRNGKey(0), draws)
    return set(np.asarray(jax.vmap(policy, (0, None))(keys, obs).move[:, slot]).tolist())


def same_actions(x: nj.Actions, y: nj.Actions) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(x), jax.tree.leaves(y)))


# ----------------------------------------------------------------------------- IO, NPCs off
def _pretrained(config: nj.Config, obs: nj.Obs):
    """(model, params) of the shipped policy, read straight from its file (one set
    shared by all populations, width 32, with navigation: its README)."""
    model = ActorCritic(config, width=32, shared=True, navigation=True)
    with np.load(PRETRAINED, allow_pickle=False) as data:
        header = json.loads(str(data["header"]))
        leaves = [data[f"leaf_{i}"] for i in range(len(header["shapes"]))]
    template = jax.eval_shape(model.init, jax.random.PRNGKey(0), obs)
    want = [(list(x.shape), str(x.dtype)) for x in jax.tree.leaves(template)]
    assert want == [(list(s), d) for s, d in header["shapes"]]  # same tree, same shapes
    return model, jax.tree.unflatten(jax.tree.structure(template), [jnp.asarray(x) for x in leaves])


def golden_scene() -> nj.Obs:
    """The scene the golden outputs were recorded on (with the code before NPCs)."""
    agents = [dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11), health=6),
              dict(slot=2, pos=(11, 12)), dict(slot=3, pos=(12, 10), health=3, food=4),
              dict(slot=5, pos=(9, 9), immune=4), dict(slot=6, pos=(10, 13), water=2),
              dict(slot=7, pos=(13, 13), freeze=3), dict(slot=9, pos=(8, 10)),
              dict(slot=11, pos=(14, 8)), dict(slot=15, pos=(25, 25))]
    tiles = {(10, 9): nj.STONE, (11, 10): nj.WATER, (9, 10): nj.LAVA, (12, 11): nj.FOREST,
             (13, 12): nj.FOREST, (24, 25): nj.WATER}
    return observe(scene(agents, tiles), SCENE)


def test_the_shipped_policy_loads_and_plays_as_before():
    obs = golden_scene()
    model, params = _pretrained(SCENE, obs)
    names = {jax.tree_util.keystr(k) for k, _ in jax.tree_util.tree_leaves_with_path(params)}
    assert not any("npc" in n for n in names)
    dist, value = jax.jit(model.apply)(params, obs)
    golden = json.loads(GOLDEN.read_text())
    slots = golden["slots"]
    for name, got in (("move", dist.move), ("style", dist.style), ("target", dist.target),
                      ("value", value)):
        # Recorded on this scene before the NPC inputs existed (bit-identical there);
        # the tolerance only allows another CPU's float rounding.
        np.testing.assert_allclose(np.asarray(got)[slots], np.asarray(golden[name], np.float32),
                                   rtol=1e-6, atol=1e-6, err_msg=name)


# ----------------------------------------------------------------------------- IO, NPCs on
@pytest.fixture(scope="module")
def npc_world():
    """(model, params, apply, obs) of a fresh network on a small world with NPCs."""
    obs, _ = nj.jit_reset(jax.random.PRNGKey(0), SMALL_NPCS)
    model = ActorCritic(SMALL_NPCS)
    params = jax.jit(model.init)(jax.random.PRNGKey(1), obs)
    return model, params, jax.jit(model.apply), obs


@pytest.mark.slow
def test_npc_parameters_are_the_v13_tree_plus_one_kernel(npc_world):
    model, params, _, obs = npc_world
    v13 = jax.eval_shape(ActorCritic(nj.Config.small()).init, jax.random.PRNGKey(1),
                         nj.jit_reset(jax.random.PRNGKey(0), nj.Config.small())[0])
    shapes = lambda tree: {jax.tree_util.keystr(k): x.shape
                           for k, x in jax.tree_util.tree_leaves_with_path(tree)}
    extra = shapes(params).keys() - shapes(v13).keys()
    assert extra == {"['params']['input']['entities']['embed']['npc_kernel']"}
    assert all(shapes(params)[k] == s for k, s in shapes(v13).items())
    assert shapes(params)[extra.pop()] == (SMALL_NPCS.num_populations, 5, 16)


def test_npc_columns_are_kind_level_and_level_above_the_observer():
    names = nj.entity_feature_names(1)
    rows = np.zeros((1, 3, len(names)), np.float32)
    rows[0, :, names.index("level")] = [0.03, 0.05, 0.01]
    rows[0, 1, names.index("npc_neutral")] = 1.0
    got = np.asarray(npc_columns(jnp.asarray(rows)))
    np.testing.assert_allclose(got[0, :, 3:], [[0.03, 0.0], [0.05, 0.02], [0.01, -0.02]], atol=1e-7)
    assert got[0, :, :3].tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]


def test_network_on_an_npc_world_runs_jitted_and_samples_legal_actions(npc_world):
    model, params, apply, obs = npc_world
    a, k = SMALL_NPCS.num_agents, SMALL_NPCS.max_entities
    assert obs.entities.shape == (a, k, 19) and bool((obs.entity_slot >= a).any())
    dist, value = apply(params, obs)
    assert dist.target.shape == (a, 3, k) and value.shape == (a,)
    assert all(bool(jnp.isfinite(x).all()) for x in (dist.move, dist.style, dist.target, value))
    keys = jax.random.split(jax.random.PRNGKey(2), 256)
    choice = jax.jit(jax.vmap(dist.sample))(keys)
    legal_move = np.take_along_axis(np.asarray(obs.move_mask)[None], np.asarray(choice.move)[..., None], -1)
    assert legal_move.all()
    style_rows = np.asarray(obs.target_mask)[np.arange(a)[None], np.asarray(choice.style)]  # [D, A, K]
    assert np.take_along_axis(style_rows, np.asarray(choice.target)[..., None], -1).all()
    actions = jax.vmap(to_actions, (0, None))(choice, obs)
    assert np.asarray(actions.target).max() < SMALL_NPCS.num_slots


@pytest.mark.slow
def test_the_pointer_attacks_an_npc_row():
    """With one NPC in melee reach, the pointer head gives its row probability and a
    sampled choice names slot A + j, which the game takes as an attack on NPC j."""
    state = npc_scene([dict(slot=0, pos=ME)], [dict(slot=2, pos=(10, 11), health=10)])
    obs = observe(state, NPC_SCENE, STILL)
    model = ActorCritic(NPC_SCENE, shared=True)
    params = model.init(jax.random.PRNGKey(0), obs)
    dist, _ = jax.jit(model.apply)(params, obs)
    row = int(np.flatnonzero(np.asarray(obs.entity_slot[0]) == A + 2)[0])
    p_target = np.asarray(dist.probs()[2])[0, nj.MELEE]
    assert row == 1 and p_target[row] > 0.1 and p_target[2:].sum() == 0  # padding: never
    # Force the pointer to the NPC's row (the masked logits still decide what is legal).
    pointed = ActionDist(move=dist.move, style=dist.style.at[0].set(jnp.asarray([9.0, -9, -9])),
                         target=dist.target.at[0, :, row].add(50.0))
    actions = to_actions(pointed.mode(), obs)
    assert int(actions.target[0]) == A + 2 and int(actions.style[0]) == nj.MELEE
    _, after, _, _, info = nj.jit_step(jax.random.PRNGKey(0), state, actions, NPC_SCENE, STILL)
    assert int(info["attack_target"][0]) == A + 2 and int(after.npcs.damage[2]) == 5


@pytest.mark.slow
def test_the_network_reads_the_npc_columns_and_zero_npc_weights_give_v13s_outputs():
    state = npc_scene([dict(slot=0, pos=ME)], [dict(slot=1, pos=(10, 12)),
                                               dict(slot=3, pos=(12, 10), kind=nj.HOSTILE,
                                                    level=4)])
    obs = observe(state, NPC_SCENE, STILL)
    model = ActorCritic(NPC_SCENE, shared=True)
    params = model.init(jax.random.PRNGKey(3), obs)
    apply = jax.jit(model.apply)
    dist, value = apply(params, obs)
    hostile = obs.entities.at[..., nj.entity_feature_names(1).index("npc_hostile")].set(0.0)
    changed, _ = apply(params, obs.replace(entities=hostile))
    assert not np.allclose(dist.target[0], changed.target[0])  # the kind is read
    # npc_kernel = 0: the v1.3 network's outputs on the v1.3 columns.
    zeroed = jax.tree_util.tree_map_with_path(
        lambda k, x: jnp.zeros_like(x) if "npc_kernel" in jax.tree_util.keystr(k) else x, params)
    v13_config = NPC_SCENE.replace(num_npcs=0)
    v13_params = jax.tree.map(lambda x: x, zeroed)
    del v13_params["params"]["input"]["entities"]["embed"]["npc_kernel"]
    v13_obs = obs.replace(entities=obs.entities[..., :nj.NUM_ENTITY_FEATURES])
    want, want_value = ActorCritic(v13_config, shared=True).apply(v13_params, v13_obs)
    got, got_value = apply(zeroed, obs)
    for x, y in zip(jax.tree.leaves((got, got_value)), jax.tree.leaves((want, want_value))):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- wary_forager
def hungry(**kw):
    return dict(slot=0, pos=ME, food=2, water=10, **kw)


def test_wary_forager_steps_away_from_a_hostile_two_tiles_north():
    forest_north = {(7, 10): nj.FOREST}
    hostile = dict(slot=1, pos=(8, 10), kind=nj.HOSTILE, level=8)
    obs = npc_obs([hungry()], [hostile], forest_north)
    assert moves(careful, obs) == {N}  # the careful forager walks into it
    # N ends 1 from it, stay/E/W 2, S 3: S is the only move least inside its reach
    assert moves(wary, obs) == {S}
    threat = np.asarray(scripted.hostile_threat(obs)[0])
    assert threat.tolist() == [3, 4, 2, 3, 3]  # reach 3 (mage) + 1 step: 5 - distance
    # Nothing in sight but the hostile: it still leaves, never north.
    assert moves(wary, npc_obs([hungry()], [hostile])) == {S}


def test_wary_forager_ignores_far_hostiles_and_other_npcs():
    forest_north = {(7, 10): nj.FOREST}
    far = dict(slot=1, pos=(4, 10), kind=nj.HOSTILE, level=8)     # 6 away: N ends 5 away
    passive = dict(slot=2, pos=(8, 10), kind=nj.PASSIVE)
    neutral = dict(slot=3, pos=(9, 11), kind=nj.NEUTRAL, level=6)
    obs = npc_obs([hungry()], [far, passive, neutral], forest_north)
    assert moves(wary, obs) == {N}
    keys = jax.random.split(jax.random.PRNGKey(5), 8)
    for key in keys:  # no hostile within reach: exactly the careful forager, same draws
        assert same_actions(wary(key, obs), careful(key, obs))


def test_wary_forager_never_attacks():
    obs = npc_obs([hungry()], [dict(slot=0, pos=(10, 11), health=1)])
    np.testing.assert_array_equal(wary(jax.random.PRNGKey(0), obs).target, np.arange(A))


# ----------------------------------------------------------------------------- hunter
def test_hunter_attacks_an_adjacent_passive_npc_of_its_level():
    state = npc_scene([dict(slot=0, pos=ME)], [dict(slot=2, pos=(10, 11))])  # level 1, like it
    obs = observe(state, NPC_SCENE, STILL)
    actions = hunter(jax.random.PRNGKey(0), obs)
    # Its row, with the style that still reaches if the NPC wanders a step (range 2 > 1).
    assert int(actions.target[0]) == A + 2 and int(actions.style[0]) == nj.RANGE
    assert (np.asarray(actions.target)[1:] == np.arange(1, A)).all()  # the empty slots attack nobody
    _, after, _, _, info = nj.jit_step(jax.random.PRNGKey(0), state, actions, NPC_SCENE, STILL)
    assert int(info["attack_target"][0]) == A + 2 and bool(info["attack_hit"][0])
    assert int(after.npcs.health[2]) < int(STILL.npc_health)


def test_hunter_takes_the_style_whose_range_reaches():
    obs = npc_obs([dict(slot=0, pos=ME)], [dict(slot=2, pos=(10, 13), kind=nj.NEUTRAL)])  # 3 away
    actions = hunter(jax.random.PRNGKey(0), obs)
    assert int(actions.target[0]) == A + 2 and int(actions.style[0]) == nj.MAGE


def test_hunter_spares_npcs_above_its_level_hostiles_and_agents():
    above = npc_obs([dict(slot=0, pos=ME)], [dict(slot=2, pos=(10, 11), level=2)])
    assert int(hunter(jax.random.PRNGKey(0), above).target[0]) == 0
    hostile = npc_obs([dict(slot=0, pos=ME)], [dict(slot=2, pos=(10, 11), kind=nj.HOSTILE)])
    assert int(hunter(jax.random.PRNGKey(0), hostile).target[0]) == 0
    agent = npc_obs([dict(slot=0, pos=ME), dict(slot=4, pos=(10, 11), health=1)], [])
    assert int(hunter(jax.random.PRNGKey(0), agent).target[0]) == 0
    # At or below its own level: its highest combat level counts (range 3 here).
    strong = dict(slot=0, pos=ME, levels={nj.RANGE_SKILL: 3})
    for level, attacked in ((3, True), (4, False)):
        obs = npc_obs([strong], [dict(slot=2, pos=(10, 11), kind=nj.NEUTRAL, level=level)])
        assert (int(hunter(jax.random.PRNGKey(0), obs).target[0]) == A + 2) == attacked, level


def test_hunter_walks_to_prey_when_its_vitals_are_fine_else_forages():
    prey = dict(slot=2, pos=(10, 15))  # 5 east, out of every reach
    forest_west = {(10, 7): nj.FOREST}
    assert moves(hunter, npc_obs([dict(slot=0, pos=ME)], [prey], forest_west)) == {E}
    assert moves(hunter, npc_obs([hungry()], [prey], forest_west)) == {W}
    too_strong = dict(prey, level=5)  # not prey: it forages (food 10 > half: to water, none; food)
    assert moves(hunter, npc_obs([dict(slot=0, pos=ME)], [too_strong], forest_west)) == {W}
    # The hunt keeps out of a hostile's reach: prey behind a hostile is not approached.
    guard = dict(slot=3, pos=(10, 13), kind=nj.HOSTILE, level=8)
    assert E not in moves(hunter, npc_obs([dict(slot=0, pos=ME)], [prey, guard], forest_west))


# ----------------------------------------------------------------------------- NPCs off / none near
@pytest.mark.parametrize("name", scripted.NPC_AWARE)
def test_npc_aware_yardsticks_are_the_careful_forager_without_npcs(name, small):
    policy = jax.jit(scripted.SCRIPTED[name])
    obs, _ = nj.jit_reset(jax.random.PRNGKey(4), small)
    for key in jax.random.split(jax.random.PRNGKey(6), 4):
        assert same_actions(policy(key, obs), careful(key, obs))
    # NPCs on but none in view: the same again.
    far = npc_obs([hungry()], [dict(slot=1, pos=(25, 25), kind=nj.HOSTILE)], {(7, 10): nj.FOREST})
    for key in jax.random.split(jax.random.PRNGKey(7), 4):
        assert same_actions(policy(key, far), careful(key, far))


# ----------------------------------------------------------------------------- play
def _rollout(policy, config: nj.Config, worlds: int, ticks: int):
    """`ticks` of `worlds` worlds under jit(vmap): per tick the obs the policy saw,
    its actions and the step's info (leaves [T, W, ...])."""
    vstep = jax.vmap(nj.step, in_axes=(0, 0, 0, None))

    @jax.jit
    def run(key):
        obs, state = jax.vmap(nj.reset, in_axes=(0, None))(jax.random.split(key, worlds), config)

        def tick(carry, k):
            obs, state = carry
            k_act, k_env = jax.random.split(k)
            actions = jax.vmap(policy)(jax.random.split(k_act, worlds), obs)
            obs2, state, _, _, info = vstep(jax.random.split(k_env, worlds), state, actions, config)
            return (obs2, state), (obs, actions, info)

        return jax.lax.scan(tick, (obs, state), jax.random.split(key, ticks))[1]

    return jax.tree.map(np.asarray, run(jax.random.PRNGKey(11)))


@pytest.mark.slow
@pytest.mark.parametrize("name", scripted.NPC_AWARE)
def test_npc_aware_yardsticks_play_npc_worlds_within_the_masks(name):
    config = SMALL_NPCS
    obs, actions, info = _rollout(scripted.SCRIPTED[name], config, worlds=2, ticks=48)
    assert np.take_along_axis(obs.move_mask, actions.move[..., None], -1).all()
    rows = obs.entity_slot == actions.target[..., None]  # [T, W, A, K]
    assert rows.any(-1).all()  # every target is a listed row (own slot: row 0)
    row = rows.argmax(-1)
    style_mask = np.take_along_axis(obs.target_mask, actions.style[..., None, None], -2)[..., 0, :]
    assert np.take_along_axis(style_mask, row[..., None], -1).all()
    attacked_npc = info["attack_target"] >= config.num_agents
    if name == "wary_forager":
        assert (actions.target == np.arange(config.num_agents)).all()
    else:  # it finds prey on a small map full of NPCs, and only ever attacks NPCs
        assert attacked_npc.sum() > 0 and info["npc_kill"].sum() > 0
        assert ((actions.target >= config.num_agents)
                | (actions.target == np.arange(config.num_agents))).all()
