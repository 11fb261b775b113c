"""The learned policy's IO with items on (policies/io.py; docs/rules.md §10): the
inventory goes in (attention over its rows, order-free), the use and destroy heads
come out (masked pointers plus "nothing"), resource tiles count in the window, and
paths cross the resource tiles one can stand on; `python -m train` takes item worlds."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.state import ARROW, HAT, ORE, POTION, RATION, SPEAR, TOP, TREE, FISH
from policies import navigation as nav
from policies.baseline import ActorCritic
from policies.resolve import pretrained_path
from policies.io import ActionDist, Choice, tile_counts, tile_types, to_actions
from tests.conftest import scene
from tests.test_policies_items import ITEMS, ME, holding
from tests.test_train_evaluation_npcs import v13_update_metrics
from train.config import TrainConfig, _conflicts
from train.evaluation.matches import ITEM_SUMS, item_log
from train.run import logger as run_logger
from train.run.loop import chunk_row

PROFESSIONS = ITEMS.replace(professions=True)
OBSERVE = jax.jit(nj.observe, static_argnums=1)
I = ITEMS.inventory_slots


def inventory_scene(held, config=ITEMS):
    """Agent 0 at ME holding `held` ((kind, level, equipped) per slot), agent 1 beside it."""
    state = scene([dict(slot=0, pos=ME), dict(slot=1, pos=(ME[0], ME[1] + 1))], config=config)
    return holding(state, held)


@pytest.fixture(scope="module")
def net():
    model = ActorCritic(ITEMS, shared=True)
    obs = OBSERVE(inventory_scene([(HAT, 1, False), (RATION, 1, False), (ARROW, 1, True)]), ITEMS)
    return model, model.init(jax.random.PRNGKey(0), obs), obs


@pytest.mark.slow
def test_the_item_heads_point_at_the_slots_their_masks_allow(net):
    model, params, obs = net
    dist, _ = jax.jit(model.apply)(params, obs)
    chex.assert_shape([dist.use, dist.destroy], (ITEMS.num_agents, I + 1))
    p_use, p_destroy = (np.asarray(jax.nn.softmax(x[0])) for x in (dist.use, dist.destroy))
    use_ok = np.concatenate([[True], np.asarray(obs.use_mask[0])])
    destroy_ok = np.concatenate([[True], np.asarray(obs.destroy_mask[0])])
    assert use_ok.tolist() == [True, True, True, True, False]  # three held, all usable
    assert destroy_ok.tolist() == [True, True, True, False, False]  # the arrows are worn
    assert np.all(p_use[~use_ok] == 0) and np.all(p_destroy[~destroy_ok] == 0)
    # An untrained policy mostly does nothing with its items (io.NOTHING_BIAS).
    assert p_use[0] > 0.8 and p_destroy[0] > 0.99


@pytest.mark.slow
def test_sampled_item_rows_become_slots_and_nothing_becomes_minus_one(net):
    model, params, obs = net
    dist, _ = model.apply(params, obs)
    # Logits that force "use slot 1" and "destroy nothing".
    forced = dist.replace(use=jnp.where(jnp.arange(I + 1) == 2, 0.0, -1e9) + 0 * dist.use,
                          destroy=jnp.where(jnp.arange(I + 1) == 0, 0.0, -1e9) + 0 * dist.destroy)
    choice = forced.sample(jax.random.PRNGKey(3))
    actions = to_actions(choice, obs)
    assert np.all(np.asarray(actions.use) == 1) and np.all(np.asarray(actions.destroy) == -1)
    mode = to_actions(forced.mode(), obs)
    assert np.all(np.asarray(mode.use) == 1) and np.all(np.asarray(mode.destroy) == -1)


@pytest.mark.slow
def test_log_prob_and_entropy_add_the_item_heads_exactly(net):
    model, params, obs = net
    dist, _ = model.apply(params, obs)
    choice = dist.sample(jax.random.PRNGKey(1))
    core = ActionDist(dist.move, dist.style, dist.target)
    core_choice = Choice(choice.move, choice.style, choice.target)
    logp = lambda logits, row: jnp.take_along_axis(jax.nn.log_softmax(logits), row[:, None], 1)[:, 0]
    want = core.log_prob(core_choice) + logp(dist.use, choice.use) + logp(dist.destroy,
                                                                         choice.destroy)
    np.testing.assert_allclose(dist.log_prob(choice), want, rtol=1e-6, atol=1e-6)
    h = lambda logits: -jnp.sum(jax.nn.softmax(logits) * jax.nn.log_softmax(logits), -1)
    np.testing.assert_allclose(dist.entropy(), core.entropy() + h(dist.use) + h(dist.destroy),
                               rtol=1e-6, atol=1e-6)


def test_the_inventory_is_read_without_regard_to_slot_order(net):
    model, params, _ = net
    held = [(HAT, 1, False), (SPEAR, 1, False), (POTION, 1, False)]
    order = [2, 0, 1]
    one = OBSERVE(inventory_scene(held), ITEMS)
    other = OBSERVE(inventory_scene([held[i] for i in order]), ITEMS)
    (d1, v1), (d2, v2) = model.apply(params, one), model.apply(params, other)
    np.testing.assert_allclose(v1[0], v2[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d1.move[0], d2.move[0], rtol=1e-5, atol=1e-6)
    # The slot logits move with their items: slot j of `other` holds item order[j].
    np.testing.assert_allclose(d2.use[0, 1:4], d1.use[0, 1:4][np.asarray(order)], rtol=1e-5,
                               atol=1e-6)


def test_the_inventory_changes_what_the_network_does(net):
    model, params, _ = net
    empty = model.apply(params, OBSERVE(inventory_scene([]), ITEMS))[1]
    full = model.apply(params, OBSERVE(inventory_scene([(HAT, 3, True), (SPEAR, 2, True)]),
                                       ITEMS))[1]
    assert abs(float(empty[0]) - float(full[0])) > 1e-6


def test_resource_tiles_are_counted_per_block_and_around_the_agent():
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, nj.NUM_PROFESSION_TILE_TYPES, (3, 15, 15)).astype(np.int8)
    agents = rng.integers(0, 3, (3, 15, 15)).astype(np.int8)
    got = np.asarray(tile_counts(jnp.asarray(tiles), jnp.asarray(agents), num_types=16))
    blocks = got[:, :25 * 17].reshape(3, 25, 17)
    for n in range(3):
        for b in range(25):
            r, c = divmod(b, 5)
            cells = tiles[n, 3 * r: 3 * r + 3, 3 * c: 3 * c + 3].ravel()
            counts = np.bincount(cells, minlength=16)
            assert blocks[n, b].tolist() == (counts[:6].tolist()
                                             + [agents[n, 3 * r: 3 * r + 3, 3 * c: 3 * c + 3].sum()]
                                             + counts[6:].tolist())
    near = got[:, 25 * 17: 25 * 17 + 9 * 16].reshape(3, 9, 16)
    assert np.array_equal(near.argmax(-1), tiles[:, 6:9, 6:9].reshape(3, 9))
    assert tile_types(PROFESSIONS) == 16 and tile_types(ITEMS) == 6


@pytest.mark.slow
def test_v13_windows_count_as_before():
    rng = np.random.default_rng(1)
    tiles = jnp.asarray(rng.integers(0, 6, (2, 15, 15)).astype(np.int8))
    agents = jnp.asarray(rng.integers(0, 3, (2, 15, 15)).astype(np.int8))
    six, sixteen = tile_counts(tiles, agents), tile_counts(tiles, agents, num_types=16)
    # The same window read with 16 kinds: v1.3's columns, then zeros for the resource kinds.
    blocks6 = np.asarray(six)[:, :25 * 7].reshape(2, 25, 7)
    blocks16 = np.asarray(sixteen)[:, :25 * 17].reshape(2, 25, 17)
    assert np.array_equal(blocks16[..., :7], blocks6) and not blocks16[..., 7:].any()


def test_paths_cross_ore_and_trees_but_never_fish():
    v = 7
    tiles = np.full((15, 15), nj.STONE, np.int8)
    tiles[v, v:v + 4] = [nj.GRASS, ORE, TREE, nj.GRASS]  # a corridor east to the water
    tiles[v - 1, v + 3] = nj.WATER
    tiles[v, v - 1] = FISH
    agents = np.zeros((15, 15), np.int8)
    agents[v, v] = 1
    dist = np.asarray(nav.move_distances(jnp.asarray(tiles), jnp.asarray(agents), 14, True))
    assert dist[1].tolist() == [3, 255, 255, 2, 255]  # water: 3 steps away, east first
    assert not bool(nav.walkable(jnp.asarray(FISH), True))


@pytest.mark.slow
def test_network_inputs_with_professions_have_the_documented_width():
    model = ActorCritic(PROFESSIONS, shared=True)
    obs = OBSERVE(inventory_scene([(HAT, 1, False)], PROFESSIONS), PROFESSIONS)
    from policies.io import cell_scale
    assert model.prepare(obs).cells.shape == (PROFESSIONS.num_agents,
                                              len(cell_scale(PROFESSIONS, True)))
    dist, value = model.apply(model.init(jax.random.PRNGKey(0), obs), obs)
    assert bool(jnp.all(jnp.isfinite(value)))


# ----------------------------------------------------------------------------- train
def test_train_takes_item_worlds_and_the_preset_systems():
    assert TrainConfig.of(preset="nmmo2").env_config == nj.Config.preset("nmmo2")
    small = TrainConfig.of(preset="small", inventory_slots=4, professions=1, num_npcs=8)
    assert small.env_config == nj.Config.small(inventory_slots=4, professions=True, num_npcs=8)
    no_npcs = TrainConfig.of(preset="nmmo2", num_npcs=0).env_config
    assert (no_npcs.num_npcs, no_npcs.inventory_slots) == (0, 12)


@pytest.mark.parametrize("settings, message", [
    (dict(professions=2), r"^--professions=2: must be 1 \(on\), 0 \(off\) or -1"),
    (dict(inventory_slots=-2), r"^--inventory-slots=-2: must be an integer >= -1"),
    (dict(preset="small", professions=1), r"^--professions=1: the 'small' preset refuses it"),
])
def test_bad_system_flags_are_refused_by_name(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.of(**settings)


def test_a_run_saved_with_no_npcs_as_0_resumes_under_the_presets_default():
    assert _conflicts({"preset": "default", "num_npcs": 0}, TrainConfig.of()) == []
    clash = _conflicts({"preset": "nmmo2", "num_npcs": 0}, TrainConfig.of(preset="nmmo2"))
    assert [name for name, *_ in clash] == ["num_npcs"]


@pytest.mark.slow
def test_the_shipped_nmmo2_policy_plays_its_world_with_items():
    """policies/pretrained/nmmo2.npz loads with the nmmo2 world and picks use and
    destroy within the inventory (-1: nothing) for every agent."""
    from policies.resolve import resolve
    from train.run.policy import load_trained
    path = pretrained_path().with_name("nmmo2.npz")
    named = resolve(str(path), load_trained, scripted=False)
    assert named.config == nj.Config.preset("nmmo2")
    obs, _ = nj.jit_reset(jax.random.PRNGKey(1), named.config)
    actions = jax.jit(named.policy())(jax.random.PRNGKey(2), obs)
    chex.assert_shape([actions.use, actions.destroy], (named.config.num_agents,))
    for head in (actions.use, actions.destroy):
        assert bool(jnp.all((head >= -1) & (head < named.config.inventory_slots)))


# ----------------------------------------------------------------------------- training log
def test_item_log_counts_what_living_agents_hold_and_harvest():
    state = holding(inventory_scene([(HAT, 3, True), (SPEAR, 2, True), (TOP, 4, False)]),
                    [(HAT, 5, True)], slot=1)
    gold = state.items.gold.at[0].set(7).at[1].set(2)
    state = state.replace(items=state.items.replace(gold=gold))
    alive = jnp.zeros(ITEMS.num_agents, bool).at[0].set(True)  # agent 1 died this tick
    harvested = jnp.zeros((ITEMS.num_agents, 5), bool).at[0, 1].set(True).at[0, 4].set(True)
    log = np.asarray(item_log(state.items, alive, harvested))
    chex.assert_shape(log, (ITEMS.num_agents, len(ITEM_SUMS)))
    np.testing.assert_array_equal(log[0], [3 + 2, 7, 2])  # the unequipped top does not count
    np.testing.assert_array_equal(log[1], [0, 0, 0])
    assert np.asarray(item_log(state.items, alive, None))[0, 2] == 0  # no professions


def test_training_log_adds_item_columns_only_with_items():
    cols = run_logger.columns(npcs=True, items=True)
    at = cols.index("deaths_combat")
    assert cols[at + 1: at + 6] == run_logger.NPC_COLUMNS + run_logger.ITEM_COLUMNS
    assert run_logger.columns(items=False) == run_logger.COLUMNS
    m = v13_update_metrics()
    plain = chunk_row(m, 2, 100, 1.0, 1.0)
    assert not set(run_logger.ITEM_COLUMNS) & set(plain)
    items = {"equipment_level": np.array([0.5, 1.5]), "gold": np.array([1.0, 2.0]),
             "harvested": np.array([3, 4])}
    row = chunk_row(m | items, 2, 100, 1.0, 1.0)
    assert (row["equipment_level"], row["gold"], row["harvested"]) == (1.0, 1.5, 7)
    assert row == plain | row


@pytest.mark.slow  # compiles a trainer with items and professions
def test_a_training_chunk_on_an_item_world_logs_its_items():
    from train.ppo import trainer as trainer_mod
    tc = TrainConfig.of(preset="small", inventory_slots=4, professions=1, num_worlds=2,
                        rollout_len=8, num_minibatches=2, epochs=1, updates_per_chunk=2, width=16)
    t = trainer_mod.make_trainer(tc)
    _, m = t.train_chunk(t.init(jax.random.PRNGKey(0)))
    for k in run_logger.ITEM_COLUMNS:
        chex.assert_shape(m[k], (2,))
    assert np.all(np.asarray(m["gold"]) >= 1)  # a newcomer brings gold_start and gold only grows
    assert np.all(np.asarray(m["equipment_level"]) >= 0) and np.all(np.asarray(m["harvested"]) >= 0)


def test_the_run_header_names_the_systems_beyond_v13():
    from train.run.loop import _systems
    assert _systems(nj.Config.preset("nmmo2")) == ", 128 NPC slots, 12 item slots, professions"
    assert _systems(nj.Config()) == ""  # v1.3's header as before
