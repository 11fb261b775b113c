"""Movement (docs/rules.md §3.5, §9.3): stay, N, S, E, W; water, stone, the edge and
freeze block, and with professions on fish and ocean (§10.6)."""
from __future__ import annotations

import jax.numpy as jnp

from ..config import Config
from ..state import FISH, MOVE_DELTAS, NUM_MOVES, OCEAN, STONE, State, WATER


def blocking_tiles(professions: bool) -> tuple[int, ...]:
    """The tile kinds nobody can enter: water and stone, plus fish and ocean (water
    with a resource; nmmo 2.1.2's `material.Impassible`) with professions on."""
    return (WATER, STONE, FISH, OCEAN) if professions else (WATER, STONE)


def destinations(tiles: jnp.ndarray, pos: jnp.ndarray, professions: bool = False
                 ) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Each move's target cell [A, 5, 2] and whether it can be entered [A, 5] bool.

    Lava can be entered (it kills at the end of the tick); `blocking_tiles`
    and cells off the map cannot. Stay is always enterable. professions:
    `Config.professions` (static: off traces v1.3's program).
    """
    size = tiles.shape[0]
    dest = pos[:, None, :] + jnp.asarray(MOVE_DELTAS, jnp.int32)[None]
    on_map = jnp.all((dest >= 0) & (dest < size), axis=-1)
    kind = tiles[jnp.clip(dest[..., 0], 0, size - 1), jnp.clip(dest[..., 1], 0, size - 1)]
    enterable = on_map
    for blocking in blocking_tiles(professions):
        enterable = enterable & (kind != blocking)
    return dest, enterable


def moved(tiles: jnp.ndarray, pos: jnp.ndarray, freeze: jnp.ndarray, move_action: jnp.ndarray,
          active: jnp.ndarray, professions: bool = False) -> jnp.ndarray:
    """Positions [B, 2] after each body's move_action [B] (agents' or NPCs');
    invalid indices, frozen, inactive or blocked bodies stay put."""
    dest, ok = destinations(tiles, pos, professions)
    choice = jnp.where((move_action >= 0) & (move_action < NUM_MOVES), move_action, 0)
    can = active & (freeze == 0) & jnp.take_along_axis(ok, choice[:, None], 1)[:, 0]
    new_pos = jnp.take_along_axis(dest, choice[:, None, None], 1)[:, 0]
    return jnp.where(can[:, None], new_pos, pos)


def move(state: State, move_action: jnp.ndarray, active: jnp.ndarray, config: Config) -> State:
    """move_action [A] int32; invalid indices, frozen or blocked agents stay put."""
    ag = state.agents
    return state.replace(agents=ag.replace(
        pos=moved(state.tiles, ag.pos, ag.freeze, move_action, active, config.professions)))
