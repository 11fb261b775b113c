"""Movement (docs/rules.md §3.5) on hand-built scenes."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.systems.move import blocking_tiles, destinations
from nmmo_jax.systems.move import move as move_system
from nmmo_jax.systems.skills import level, xp_table
from tests.conftest import SCENE, act, jit_step, run, scene


@pytest.mark.parametrize("move,expected", [(1, (9, 10)), (2, (11, 10)), (3, (10, 11)),
                                           (4, (10, 9)), (0, (10, 10)), (7, (10, 10)),
                                           (-1, (10, 10))])
def test_moves(move, expected):
    s = scene([dict(slot=0, pos=(10, 10))])
    _, s, *_ = run(s, act(move={0: move}))
    assert tuple(np.asarray(s.agents.pos[0])) == expected


def test_blocked_by_water_stone_edge():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(0, 5))],
              tiles={(9, 10): nj.WATER, (11, 10): nj.STONE})
    for move in (1, 2):
        _, out, *_ = run(s, act(move={0: move}))
        assert tuple(np.asarray(out.agents.pos[0])) == (10, 10)
    _, out, *_ = run(s, act(move={1: 1}))  # off the map
    assert tuple(np.asarray(out.agents.pos[1])) == (0, 5)


@pytest.mark.parametrize("blocking", [nj.FISH, nj.OCEAN])
def test_fish_and_ocean_block_with_professions_on(blocking):
    cfg = nj.Config.small(spawn_per_tick=0, inventory_slots=4, professions=True)
    s = scene([dict(slot=0, pos=(10, 10))], config=cfg,
              tiles={(9, 10): blocking, (11, 10): nj.ORE, (10, 11): nj.STUMP})
    active = s.agents.alive
    for move_action, expected in ((1, (10, 10)), (2, (11, 10)), (3, (10, 11))):
        out = jax.jit(move_system, static_argnames="config")(
            s, jnp.full(cfg.num_agents, move_action, jnp.int32), active, config=cfg)
        assert tuple(np.asarray(out.agents.pos[0])) == expected


def test_professions_off_keeps_v13_blocking_tiles():
    assert blocking_tiles(False) == (nj.WATER, nj.STONE)
    assert blocking_tiles(True) == (nj.WATER, nj.STONE, nj.FISH, nj.OCEAN)


def test_professions_off_traces_v13s_destinations():
    """The flag is static: off, the traced program is v1.3's two comparisons."""
    def v13(tiles, pos):
        size = tiles.shape[0]
        dest = pos[:, None, :] + jnp.asarray(nj.MOVE_DELTAS, jnp.int32)[None]
        on_map = jnp.all((dest >= 0) & (dest < size), axis=-1)
        kind = tiles[jnp.clip(dest[..., 0], 0, size - 1), jnp.clip(dest[..., 1], 0, size - 1)]
        return dest, on_map & (kind != nj.WATER) & (kind != nj.STONE)

    tiles, pos = jnp.zeros((8, 8), jnp.int8), jnp.zeros((3, 2), jnp.int32)
    assert str(jax.make_jaxpr(destinations)(tiles, pos)) == str(jax.make_jaxpr(v13)(tiles, pos))
