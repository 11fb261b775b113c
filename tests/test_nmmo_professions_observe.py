"""With professions on, the observation carries the 16 tile kinds (4 bits in the
packed grid, not v1.3's 3): every window equals the map around its agent."""
import jax
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.state import LAVA, NUM_PROFESSION_TILE_TYPES


@pytest.mark.slow
def test_window_tiles_and_counts_match_the_map_with_resource_tiles():
    config = nj.Config.small(inventory_slots=4, professions=True, spawn_per_tick=4)
    key = jax.random.PRNGKey(3)
    obs, state = nj.jit_reset(key, config)
    actions = nj.Actions.noop(config.num_agents, config.inventory_slots)
    for t in range(6):
        obs, state, *_ = nj.jit_step(jax.random.fold_in(key, t), state, actions, config)
    tiles = np.asarray(state.tiles)
    assert tiles.max() >= 8, "the map should hold resource tiles above v1.3's kinds"
    v = config.vision
    padded = np.pad(tiles, v, constant_values=LAVA)
    counts = np.zeros_like(tiles, dtype=np.int64)
    alive, pos = np.asarray(state.agents.alive), np.asarray(state.agents.pos)
    for r, c in pos[alive]:
        counts[r, c] += 1
    padded_counts = np.pad(counts, v)
    for i in np.flatnonzero(alive):
        r, c = pos[i]
        np.testing.assert_array_equal(obs.tiles[i], padded[r:r + 2 * v + 1, c:c + 2 * v + 1])
        np.testing.assert_array_equal(obs.tile_agents[i],
                                      padded_counts[r:r + 2 * v + 1, c:c + 2 * v + 1])
    assert int(np.asarray(obs.tiles).max()) < NUM_PROFESSION_TILE_TYPES
