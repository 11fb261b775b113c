"""Professions (docs/rules.md §10.6): resource placement, harvest, tool levels,
profession XP and levels, on hand-built scenes with exact numbers."""
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax import rng, terrain
from nmmo_jax.resources import STREAM_PLACE, neighbour_any, place_resources
from nmmo_jax.state import (ALCHEMY, ARROW, AXE, BOW, CARVING, CHISEL, CRYSTAL, FISH, FISHING_PROF,
                            FRAGMENT, GLOVES, HAT, HERB, HERBALISM, OCEAN, ORE, PICKAXE, POTION,
                            PROSPECTING, RATION, ROD, RUNES, SLAG, SPEAR, STUMP, TREE, WAND, WEEDS,
                            WHETSTONE)
from nmmo_jax.systems.harvest import harvest
from nmmo_jax.systems.inventory import empty_items
from nmmo_jax.systems.skills import profession_level
from tests.conftest import scene

CONFIG = nj.Config.small(spawn_per_tick=0, inventory_slots=4, professions=True)
PARAMS = nj.default_params(CONFIG)
jit_harvest = jax.jit(harvest, static_argnames="config")
jit_place = jax.jit(place_resources, static_argnames="config")


def items_scene(agents, tiles=None, held=None, inventory=None):
    """A scene of CONFIG with items: held {slot: (tool kind, level)} equipped in
    inventory slot 0; inventory {slot: [(kind, level, quantity), ...]} from slot 0."""
    state = scene(agents, tiles, config=CONFIG)
    items = jax.tree.map(np.array, empty_items(CONFIG))
    for slot, (kind, level) in (held or {}).items():
        items.kind[slot, 0], items.level[slot, 0], items.quantity[slot, 0] = kind, level, 1
        items.equipped[slot, 0] = True
    for slot, rows in (inventory or {}).items():
        for i, (kind, level, quantity) in enumerate(rows):
            items.kind[slot, i], items.level[slot, i], items.quantity[slot, i] = kind, level, quantity
    return state.replace(items=jax.tree.map(jnp.asarray, items))


def run_harvest(state, params=PARAMS, active=None, seed=0):
    active = state.agents.alive if active is None else active
    return jit_harvest(jax.random.PRNGKey(seed), state, active, CONFIG, params)


# (tile, profession, matching tool, drop, XP of one harvest at the defaults)
STANDING = [(ORE, PROSPECTING, PICKAXE, WHETSTONE, 15), (TREE, CARVING, AXE, ARROW, 15),
            (CRYSTAL, ALCHEMY, CHISEL, RUNES, 15), (HERB, HERBALISM, GLOVES, POTION, 30)]
NO_WEAPONS = nj.default_params(CONFIG, weapon_drop_prob=0.0)


@pytest.mark.parametrize("tile,profession,tool,drop,xp", STANDING)
@pytest.mark.parametrize("held,level", [(None, 1), (3, 4), (10, 10), ("other", 1)])
def test_standing_harvest_gives_the_drop_at_the_tool_level(tile, profession, tool, drop, xp,
                                                           held, level):
    other = ROD  # a tool of another profession leaves the level at 1
    hold = {} if held is None else {0: (other, 5) if held == "other" else (tool, held)}
    s = items_scene([dict(slot=0, pos=(10, 10))], tiles={(10, 10): tile}, held=hold)
    out, info = run_harvest(s, NO_WEAPONS)
    assert int(out.tiles[10, 10]) == tile + 1  # its depleted kind
    first_free = 1 if hold else 0
    assert int(out.items.kind[0, first_free]) == drop
    assert int(out.items.level[0, first_free]) == level
    assert int(out.items.quantity[0, first_free]) == 1
    expected_xp = np.zeros(5, np.int32)
    expected_xp[profession] = xp
    np.testing.assert_array_equal(out.items.prof_xp[0], expected_xp)
    assert int(info["items_in"][0]) == 1 and int(info["harvest_lost"][0]) == 0
    np.testing.assert_array_equal(info["harvested"][0], expected_xp > 0)


@pytest.mark.parametrize("held,level", [(None, 1), (2, 3)])
def test_fishing_harvests_a_neighbouring_fish_tile(held, level):
    hold = {} if held is None else {0: (ROD, held)}
    s = items_scene([dict(slot=0, pos=(10, 10))], tiles={(10, 11): FISH}, held=hold)
    out, info = run_harvest(s)
    assert int(out.tiles[10, 11]) == OCEAN
    slot = 1 if hold else 0
    assert (int(out.items.kind[0, slot]), int(out.items.level[0, slot])) == (RATION, level)
    np.testing.assert_array_equal(out.items.prof_xp[0], [30, 0, 0, 0, 0])
    np.testing.assert_array_equal(info["harvested"][0], [True, False, False, False, False])


def test_fish_next_to_two_agents_goes_to_the_lower_slot_and_every_neighbouring_fish_depletes():
    # Slots 5 and 2 share the fish at (10, 11); slot 2 also has the one at (9, 10)
    # (nmmo's harvest_adjacent depletes each neighbouring fish for one ration).
    s = items_scene([dict(slot=5, pos=(10, 12)), dict(slot=2, pos=(10, 10))],
                    tiles={(10, 11): FISH, (9, 10): FISH, (5, 5): FISH})
    out, info = run_harvest(s)
    assert (int(out.tiles[10, 11]), int(out.tiles[9, 10]), int(out.tiles[5, 5])) == (OCEAN, OCEAN, FISH)
    np.testing.assert_array_equal(out.items.quantity[2], [1, 0, 0, 0])
    np.testing.assert_array_equal(out.items.kind[5], [0, 0, 0, 0])
    assert int(out.items.prof_xp[2, FISHING_PROF]) == 30 and int(out.items.prof_xp[5, FISHING_PROF]) == 0
    np.testing.assert_array_equal(np.asarray(info["items_in"])[[2, 5]], [1, 0])


def test_two_agents_on_one_tile_the_lowest_slot_harvests():
    s = items_scene([dict(slot=3, pos=(10, 10)), dict(slot=1, pos=(10, 10))],
                    tiles={(10, 10): TREE})
    out, info = run_harvest(s, NO_WEAPONS)
    assert int(out.tiles[10, 10]) == STUMP
    assert int(out.items.kind[1, 0]) == ARROW and int(out.items.kind[3, 0]) == 0
    np.testing.assert_array_equal(np.asarray(out.items.prof_xp)[[1, 3], CARVING], [15, 0])
    np.testing.assert_array_equal(np.asarray(info["items_in"])[[1, 3]], [1, 0])


def test_a_full_inventory_destroys_the_drop_but_the_xp_is_gained():
    # Agent 0 is full of hats; agent 1 is full but holds a level-1 whetstone stack,
    # which nmmo does not let a harvest join (no empty slot: destroyed).
    full = [(HAT, 1, 1)] * 4
    s = items_scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(12, 12))],
                    tiles={(10, 10): HERB, (12, 12): ORE},
                    inventory={0: full, 1: [(WHETSTONE, 1, 3)] + full[:3]})
    out, info = run_harvest(s, NO_WEAPONS)
    chex.assert_trees_all_equal(
        (out.items.kind, out.items.level, out.items.quantity),
        (s.items.kind, s.items.level, s.items.quantity))
    assert (int(out.tiles[10, 10]), int(out.tiles[12, 12])) == (WEEDS, SLAG)
    assert int(out.items.prof_xp[0, HERBALISM]) == 30 and int(out.items.prof_xp[1, PROSPECTING]) == 15
    np.testing.assert_array_equal(info["items_in"][:2], [0, 0])
    np.testing.assert_array_equal(info["harvest_lost"][:2], [1, 1])


def test_ammunition_joins_its_stack_when_there_is_room():
    s = items_scene([dict(slot=0, pos=(10, 10))], tiles={(10, 10): CRYSTAL},
                    inventory={0: [(RUNES, 1, 4)]})
    out, _ = run_harvest(s, NO_WEAPONS)
    np.testing.assert_array_equal(out.items.quantity[0], [5, 0, 0, 0])


@pytest.mark.parametrize("tile,ammunition,weapon", [(ORE, WHETSTONE, WAND), (TREE, ARROW, SPEAR),
                                                    (CRYSTAL, RUNES, BOW)])
def test_weapon_drop(tile, ammunition, weapon):
    tool = {ORE: PICKAXE, TREE: AXE, CRYSTAL: CHISEL}[tile]
    s = items_scene([dict(slot=0, pos=(10, 10))], tiles={(10, 10): tile}, held={0: (tool, 2)})
    out, info = run_harvest(s, nj.default_params(CONFIG, weapon_drop_prob=1.0))
    np.testing.assert_array_equal(out.items.kind[0], [tool, ammunition, weapon, 0])
    np.testing.assert_array_equal(out.items.level[0], [2, 3, 3, 0])
    assert int(info["items_in"][0]) == 2
    assert int(out.items.prof_xp[0].sum()) == 15  # one harvest, one XP award
    # The weapon needs a second empty slot: with one, it is destroyed.
    s = items_scene([dict(slot=0, pos=(10, 10))], tiles={(10, 10): tile},
                    inventory={0: [(HAT, 1, 1)] * 3})
    out, info = run_harvest(s, nj.default_params(CONFIG, weapon_drop_prob=1.0))
    np.testing.assert_array_equal(out.items.kind[0], [HAT, HAT, HAT, ammunition])
    np.testing.assert_array_equal([info["items_in"][0], info["harvest_lost"][0]], [1, 1])


def test_herb_and_fish_drop_no_weapon():
    s = items_scene([dict(slot=0, pos=(10, 10))], tiles={(10, 10): HERB, (11, 10): FISH})
    out, info = run_harvest(s, nj.default_params(CONFIG, weapon_drop_prob=1.0))
    # Fishing comes first (nmmo's skill order): the ration, then the potion.
    np.testing.assert_array_equal(out.items.kind[0], [RATION, POTION, 0, 0])
    np.testing.assert_array_equal(out.items.prof_xp[0], [30, 30, 0, 0, 0])
    assert int(info["items_in"][0]) == 2


def test_weapon_drop_rate():
    a = CONFIG.num_agents
    s = items_scene([dict(slot=i, pos=(5 + i, 5)) for i in range(a)],
                    tiles={(5 + i, 5): ORE for i in range(a)})
    params = nj.default_params(CONFIG, weapon_drop_prob=0.5)
    wands = sum(int(jnp.sum(run_harvest(s, params, seed=seed)[0].items.kind == WAND))
                for seed in range(20))
    assert abs(wands / (20 * a) - 0.5) < 0.15, wands  # 320 draws: std about 0.028


def test_only_active_agents_on_full_tiles_harvest():
    s = items_scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(12, 12)),
                     dict(slot=2, pos=(14, 14))],
                    tiles={(10, 10): ORE, (12, 12): SLAG, (14, 14): FRAGMENT, (13, 12): OCEAN})
    active = s.agents.alive.at[0].set(False)
    out, info = run_harvest(s, active=active)
    chex.assert_trees_all_equal((out.tiles, out.items), (s.tiles, s.items))
    assert not bool(info["harvested"].any())


@pytest.mark.slow
def test_harvest_is_vmappable_and_deterministic():
    s = items_scene([dict(slot=0, pos=(10, 10))], tiles={(10, 10): ORE})
    keys = jax.random.split(jax.random.PRNGKey(3), 4)
    batch = jax.tree.map(lambda x: jnp.stack([x] * 4), s)
    params = nj.default_params(CONFIG, weapon_drop_prob=0.5)
    out, info = jax.vmap(harvest, in_axes=(0, 0, 0, None, None))(
        keys, batch, batch.agents.alive, CONFIG, params)
    for i in range(4):
        one, one_info = jit_harvest(keys[i], s, s.agents.alive, CONFIG, params)
        chex.assert_trees_all_equal(jax.tree.map(lambda x: x[i], (out, info)), (one, one_info))


# --------------------------------------------------------------- placement

def interior(config):
    inner = np.zeros(config.map_size, bool)
    inner[config.border + 1: config.map_size - 1 - config.border] = True
    return inner[:, None] & inner[None, :]


@pytest.mark.slow
def test_placement_on_a_generated_map():
    config = nj.Config(inventory_slots=4, professions=True)
    params = nj.default_params(config)
    before = terrain.generate(jax.random.PRNGKey(0), config, params)
    after = np.asarray(jit_place(jax.random.PRNGKey(1), before, config, params))
    before = np.asarray(before)
    changed = after != before
    assert changed.any() and not (changed & ~interior(config)).any()
    for kind in (ORE, TREE, CRYSTAL, HERB):
        assert (after == kind).any() and (before[after == kind] == nj.GRASS).all()
    fish = after == FISH
    assert fish.any() and (before[fish] == nj.WATER).all()
    assert neighbour_any(jnp.asarray(after == nj.GRASS))[fish].all()
    # Ore clusters: each seed (drawn as place_resources draws) and its grass neighbours.
    grass = interior(config) & (before == nj.GRASS)
    chance = min(float(params.resource_cluster_density) * (config.ring_side - 2) ** 2
                 / grass.sum(), 1.0)
    cells = jnp.arange(before.size, dtype=jnp.uint32).reshape(before.shape)
    seed = rng.stream(rng.stream(rng.seed_of(jax.random.PRNGKey(1)), STREAM_PLACE), 0)
    seeds = grass & np.asarray(rng.bits(seed, cells) < rng.threshold(chance))
    np.testing.assert_array_equal(after == ORE, seeds | (grass & np.asarray(neighbour_any(seeds))))


def checkerboard(config, fill, other):
    """The interior alternates fill and other (no two `other` cells are neighbours)."""
    n = config.map_size
    board = np.where(np.add.outer(np.arange(n), np.arange(n)) % 2 == 0, other, fill)
    return jnp.asarray(np.where(interior(config), board, nj.GRASS).astype(np.int8))


@pytest.mark.slow
def test_placement_counts_match_the_densities():
    # Isolated grass cells make every cluster one cell, so counts are seed counts;
    # on a checkerboard of water and grass every water cell is a shore.
    config = nj.Config(map_size=256, border=9, inventory_slots=4, professions=True)
    params = nj.default_params(config, resource_cluster_density=0.01, herb_density=0.02,
                               fish_density=0.03)
    area = (config.ring_side - 2) ** 2  # 55,696 cells
    tiles = checkerboard(config, nj.STONE, nj.GRASS)
    shore = checkerboard(config, nj.WATER, nj.GRASS)
    for key in range(3):
        placed = np.asarray(jit_place(jax.random.PRNGKey(key), tiles, config, params))
        for kind, density in ((ORE, 0.01), (TREE, 0.01), (CRYSTAL, 0.01), (HERB, 0.02)):
            expect = density * area
            assert abs((placed == kind).sum() - expect) < 5 * math.sqrt(expect), (kind, key)
        fished = np.asarray(jit_place(jax.random.PRNGKey(key), shore, config, params)) == FISH
        assert abs(fished.sum() - 0.03 * area) < 5 * math.sqrt(0.03 * area), key


@pytest.mark.slow
def test_placement_is_deterministic_and_vmappable():
    params = nj.default_params(CONFIG, resource_cluster_density=0.05, herb_density=0.05,
                               fish_density=0.2)
    tiles = checkerboard(CONFIG, nj.WATER, nj.GRASS)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    batch = jax.vmap(place_resources, in_axes=(0, None, None, None))(keys, tiles, CONFIG, params)
    for i in range(3):
        chex.assert_trees_all_equal(batch[i], jit_place(keys[i], tiles, CONFIG, params))
    assert not np.array_equal(batch[0], batch[1])
    assert batch.dtype == jnp.int8


def test_a_density_of_one_fills_every_interior_grass_cell_with_ore():
    tiles = jnp.full((CONFIG.map_size,) * 2, nj.GRASS, jnp.int8)
    placed = np.asarray(jit_place(jax.random.PRNGKey(0), tiles, CONFIG,
                                  nj.default_params(CONFIG, resource_cluster_density=1.0)))
    np.testing.assert_array_equal(placed == ORE, interior(CONFIG))  # the spawn ring stays grass


# ------------------------------------------------------- profession levels

def nmmo_thresholds(base, max_level=10):
    """nmmo 2.1.2's default_exp_threshold: XP at which each level 1..max_level starts."""
    steps = [round(base * math.sqrt(level)) for level in range(1, max_level + 1)]
    return [sum(steps[:level]) for level in range(max_level)]


@pytest.mark.parametrize("base", [90.0, 37.5])
def test_profession_level_boundaries(base):
    starts = nmmo_thresholds(base)
    if base == 90.0:
        assert starts[:5] == [0, 90, 217, 373, 553]
    xp = [0] + [t + d for t in starts[1:] for d in (-1, 0)] + [starts[-1] * 3, 2 ** 31 - 1]
    expected = [1] + [level + d for level in range(2, 11) for d in (-1, 0)] + [10, 10]
    params = nj.default_params(CONFIG, profession_xp_base=base)
    got = profession_level(jnp.asarray(xp, jnp.int32), params)
    np.testing.assert_array_equal(got, expected)
