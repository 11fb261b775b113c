"""Spawning on the ring by population (docs/rules.md §3.1)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.systems.skills import level, xp_table
from tests.conftest import SCENE, act, jit_step, run, scene


@pytest.mark.slow
def test_spawn_on_ring_by_population(small):
    from tests.conftest import jit_reset
    _, s = jit_reset(jax.random.PRNGKey(0), small)
    ring = {(r, c) for r in range(32) for c in range(32)
            if max(abs(r - 15.5), abs(c - 15.5)) == 11.5}
    assert len(ring) == small.num_ring_cells == 4 * 23
    key = jax.random.PRNGKey(1)
    seen = set()
    for t in range(40):
        key, k = jax.random.split(key)
        _, s, _, _, info = jit_step(k, s, act(small), small)
        new = np.flatnonzero(np.asarray(info["spawned"]))
        assert len(new) <= 1
        for i in new:
            assert tuple(np.asarray(s.agents.pos[i])) in ring or not s.agents.alive[i]
            assert int(s.agents.population[i]) == i % small.num_populations
            assert int(s.agents.uid[i]) == int(s.tick) * small.num_agents + i
            assert int(s.agents.immune[i]) == 10 and int(s.agents.health[i]) == 10
            seen.add(int(i))
    assert len(seen) > 1


def test_spawned_agent_sits_out_its_first_tick(small):
    s = scene([], config=small)
    _, s, _, _, info = jit_step(jax.random.PRNGKey(0), s, act(small, move={i: 1 for i in range(16)}), small)
    i = int(np.flatnonzero(np.asarray(info["spawned"]))[0])
    assert int(s.agents.food[i]) == 10 and int(s.agents.time_alive[i]) == 0
    assert int(s.agents.immune[i]) == 10
