"""Observations and action masks (RULES.md §5)."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .config import Config
from .state import (CONSTITUTION, DEFENSE, FISHING, HUNTING, LAVA, MELEE_SKILL, NUM_STYLES,
                    Obs, State)
from .systems.combat import chebyshev
from .systems.move import destinations
from .systems.skills import level


def tile_windows(state: State, config: Config) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Tile types and living-agent counts around each agent, [A, V, V] int8 each."""
    v, ag = config.vision, state.agents
    counts = jnp.zeros(state.tiles.shape, jnp.int32).at[ag.pos[:, 0], ag.pos[:, 1]].add(
        ag.alive.astype(jnp.int32))
    tiles = jnp.pad(state.tiles, v, constant_values=LAVA)
    counts = jnp.pad(jnp.minimum(counts, 127).astype(jnp.int8), v)

    def crop(grid, p):
        return jax.lax.dynamic_slice(grid, (p[0], p[1]), (config.window, config.window))

    tile_win = jax.vmap(crop, (None, 0))(tiles, ag.pos)
    count_win = jax.vmap(crop, (None, 0))(counts, ag.pos)
    seen = ag.alive[:, None, None]
    return jnp.where(seen, tile_win, LAVA).astype(jnp.int8), jnp.where(seen, count_win, 0)


def nearest_entities(state: State, config: Config) -> tuple[jnp.ndarray, jnp.ndarray]:
    """The K listed agents per observer: (slot [A, K] int32, mask [A, K] bool).

    Row 0 is the observer; then the other living agents inside the window,
    nearest first by Chebyshev distance, ties by slot. Rank = (number of
    candidates strictly nearer) + (number at the same distance with a lower
    slot), counted per distance ring, so no sort is needed.
    """
    ag, a, k, v = state.agents, config.num_agents, config.max_entities, config.vision
    slots = jnp.arange(a, dtype=jnp.int32)
    dist = chebyshev(ag.pos[:, None, :], ag.pos[None, :, :])  # [A, A]
    cand = ag.alive[:, None] & ag.alive[None, :] & (dist <= v) & (slots[:, None] != slots[None, :])
    ring = cand[:, :, None] & (dist[:, :, None] == jnp.arange(v + 1))  # [A, A, v+1]
    ring_cum = jnp.cumsum(ring, axis=1, dtype=jnp.int32)
    ring_total = ring_cum[:, -1, :]  # [A, v+1]
    nearer = jnp.cumsum(ring_total, axis=1) - ring_total
    d = jnp.clip(dist, 0, v)
    same_lower = jnp.take_along_axis(ring_cum, d[:, :, None], 2)[..., 0] - 1
    rank = 1 + jnp.take_along_axis(nearer, d, 1) + same_lower
    rank = jnp.where(cand, rank, k)  # k is out of bounds: dropped below
    listed = jnp.broadcast_to(slots[:, None], (a, k))
    listed = listed.at[slots[:, None], rank].set(
        jnp.broadcast_to(slots[None, :], (a, a)), mode="drop")
    count = jnp.minimum(1 + ring_total.sum(axis=1), k)
    mask = (jnp.arange(k)[None, :] < count[:, None]) & ag.alive[:, None]
    return listed, mask


def entity_features(state: State, slot: jnp.ndarray, mask: jnp.ndarray,
                    config: Config) -> jnp.ndarray:
    """float32 [A, K, F] in ENTITY_FEATURES order; padding rows are 0."""
    ag = state.agents
    levels = level(ag.xp, config)[slot]  # [A, K, 7]
    me = jnp.arange(config.num_agents)[:, None]
    rel = (ag.pos[slot] - ag.pos[:, None, :]).astype(jnp.float32) / max(config.vision, 1)
    frac = lambda x, m: x[slot].astype(jnp.float32) / jnp.maximum(m, 1)
    cols = [
        (slot == me).astype(jnp.float32),
        (ag.population[slot] == ag.population[:, None]).astype(jnp.float32),
        rel[..., 0], rel[..., 1],
        ag.damage[slot].astype(jnp.float32) / config.constitution_start_level,
        ag.time_alive[slot].astype(jnp.float32) / 100.0,
        frac(ag.food, levels[..., HUNTING]),
        frac(ag.water, levels[..., FISHING]),
        frac(ag.health, levels[..., CONSTITUTION]),
        ag.freeze[slot].astype(jnp.float32) / config.freeze_ticks,
        ag.immune[slot].astype(jnp.float32) / max(config.spawn_immunity, 1),
    ]
    cols += [levels[..., s].astype(jnp.float32) / config.max_level
             for s in (MELEE_SKILL, MELEE_SKILL + 1, MELEE_SKILL + 2, DEFENSE)]
    return jnp.where(mask[..., None], jnp.stack(cols, axis=-1), 0.0)


def action_masks(state: State, slot: jnp.ndarray, mask: jnp.ndarray,
                 config: Config) -> tuple[jnp.ndarray, jnp.ndarray]:
    """move_mask [A, 5] and target_mask [A, 3, K] for the next tick.

    A move is valid when it changes position next tick: the cell can be
    entered and the agent will not be frozen then (freeze <= 1, since timers
    run first). A target row is valid when it is a listed agent that will not
    be immune when the attack resolves (immune <= 1) and is within the
    style's range now; row 0 (no attack) is always valid.
    """
    ag = state.agents
    _, enterable = destinations(state.tiles, ag.pos)
    can_move = ag.alive & (ag.freeze <= 1)
    move_mask = enterable & can_move[:, None]
    move_mask = move_mask.at[:, 0].set(True)

    dist = chebyshev(ag.pos[slot], ag.pos[:, None, :])  # [A, K]
    attackable = mask & (ag.immune[slot] <= 1)
    attackable = attackable.at[:, 0].set(False)
    reach = jnp.asarray(config.style_ranges, jnp.int32)
    target_mask = attackable[:, None, :] & (dist[:, None, :] <= reach[None, :, None])
    target_mask = target_mask.at[:, :, 0].set(True)
    return move_mask, target_mask


def observe(state: State, config: Config) -> Obs:
    """The observation of every slot (empty slots see only padding)."""
    tiles, counts = tile_windows(state, config)
    slot, mask = nearest_entities(state, config)
    move_mask, target_mask = action_masks(state, slot, mask, config)
    return Obs(tiles=tiles, tile_agents=counts,
               entities=entity_features(state, slot, mask, config),
               entity_mask=mask, entity_slot=slot,
               move_mask=move_mask, target_mask=target_mask)
