"""The `nmmo2` preset (docs/rules.md §10.10): nmmo 2.1.2's default world as far as
our systems go. Its fields, and a world of it that resets, steps under jit and
holds NPCs, items and resource tiles."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.state import FISH, HERB, ORE, SLAG, TREE, WHETSTONE
from tests.conftest import jit_reset, jit_step

NMMO2 = nj.Config.preset("nmmo2")


def test_fields_are_nmmo_default():
    c = NMMO2
    assert "nmmo2" in nj.Config.PRESETS
    # nmmo 2.1.2 Medium: MAP_SIZE 160, MAP_CENTER 128 (border 16), PLAYER_N 128, NPC_N 128,
    # PLAYER_VISION_RADIUS 7; AllGameSystems: ITEM_INVENTORY_CAPACITY 12, professions on
    assert (c.map_size, c.border, c.ring_side) == (160, 16, 128)
    assert (c.num_agents, c.num_npcs, c.num_slots) == (128, 128, 256)
    assert (c.inventory_slots, c.professions, c.vision, c.window) == (12, True, 7, 15)
    # our choices (§10.10): v1.3's 8 populations of 16, 16 entity rows, one spawn a
    # tick, v1.3's levels; the rest of the fields are the default preset's
    assert (c.num_populations, c.max_entities, c.spawn_per_tick, c.max_level) == (8, 16, 1, 99)
    assert c.noise_octaves == nj.Config().noise_octaves
    assert c == nj.Config(map_size=160, border=16, num_npcs=128, inventory_slots=12,
                          professions=True)
    assert hash(c) == hash(nj.Config.preset("nmmo2"))
    # overrides validate as for every preset
    assert nj.Config.preset("nmmo2", spawn_per_tick=128).spawn_per_tick == 128
    with pytest.raises(ValueError, match="professions"):
        nj.Config.preset("nmmo2", inventory_slots=0)
    # the noise frequency scales with the map: features keep their size in tiles
    assert float(nj.default_params(c).noise_frequency) == pytest.approx(16 * 160 / 80)


@pytest.fixture(scope="module")
def world():
    """A reset nmmo2 world (every slot spawned at once, as nmmo's reset does) and
    its params."""
    config = NMMO2.replace(spawn_per_tick=NMMO2.num_agents)
    params = nj.default_params(config)
    obs, state = jit_reset(jax.random.PRNGKey(3), config, params)
    return config, params, obs, state


def test_world_holds_npcs_items_and_resource_tiles(world):
    config, params, obs, state = world
    nj.check_state(state, config)
    assert int(state.agents.alive.sum()) == 128
    assert int(state.npcs.alive.sum()) > 0
    assert state.items.kind.shape == (128, 12) and int(state.items.gold.sum()) == 128
    tiles = np.asarray(state.tiles)
    for kind in (ORE, TREE, HERB, FISH):
        assert (tiles == kind).sum() > 0, kind
    assert obs.inventory.shape[:2] == (128, 12) and obs.use_mask.shape == (128, 12)
    assert obs.entities.shape[:2] == (128, 16)


def test_steps_under_jit(world):
    config, params, obs, state = world
    a = config.num_agents
    rng = np.random.default_rng(0)
    for t in range(4):
        actions = nj.Actions(move=jnp.asarray(rng.integers(0, nj.NUM_MOVES, a), jnp.int32),
                             style=jnp.asarray(rng.integers(0, nj.NUM_STYLES, a), jnp.int32),
                             target=jnp.asarray(rng.integers(0, config.num_slots, a), jnp.int32),
                             use=jnp.asarray(rng.integers(0, 13, a), jnp.int32),
                             destroy=jnp.asarray(rng.integers(0, 13, a), jnp.int32))
        obs, state, reward, done, info = jit_step(jax.random.PRNGKey(10 + t), state, actions,
                                                  config, params)
    nj.check_state(state, config)
    assert int(state.tick) == 4 and int(state.npcs.alive.sum()) > 0
    assert reward.shape == done.shape == (a,) and "items_in" in info


@pytest.mark.slow
def test_an_agent_on_ore_harvests_a_whetstone(world):
    config, params, _, state = world
    ore = np.argwhere(np.asarray(state.tiles) == ORE)[0]
    pos = state.agents.pos.at[0].set(jnp.asarray(ore, state.agents.pos.dtype))
    state = state.replace(agents=state.agents.replace(pos=pos))
    _, state, _, _, info = jit_step(jax.random.PRNGKey(7), state, nj.Actions.noop(config.num_agents),
                                    config, params)
    assert int(state.tiles[ore[0], ore[1]]) in (SLAG, ORE)  # harvested (may regrow at once)
    kinds = np.asarray(state.items.kind[0])
    assert (kinds == WHETSTONE).sum() == 1 and int(info["items_in"][0]) >= 1


def test_documented_vital_proportions_are_valid_params():
    """docs/rules.md §10.10's `--params` list for nmmo 2.x's vital proportions."""
    import re
    from pathlib import Path

    from nmmo_jax.params import parse_assignments
    text = Path(__file__).resolve().parent.parent.joinpath("docs", "rules.md").read_text()
    section = text[text.index("### 10.10 The nmmo2 preset"):]
    fields = parse_assignments(re.findall(r"--params (\S+)", section))
    assert len(fields) == 8
    params = nj.default_params(NMMO2, **fields)
    nj.check_params(params, NMMO2)
    assert (int(params.constitution_start_level), int(params.starve_damage),
            float(params.eat_fraction)) == (20, 2, 1.0)
