"""Observations and action masks (docs/rules.md §5).

The entity list is built from the tile grid, so its cost per observer does
not grow with the number of agents in the world (with NPCs on, "agents"
below means every body: the agents and the NPCs, one space of S = A + N
slots where NPC j is slot A + j; the observers are the A agents; docs/rules.md
§9.6):

1. Agents are sorted once per world by (tile, slot); the agents of a run of
   tiles in one map row are then contiguous in that order (`grid.py`).
2. Each observer counts the agents in the squares of radius 0..vision around
   it (from its window of the occupancy grid) and takes the smallest radius
   d* whose square holds at least K = max_entities agents (itself included),
   or the whole window. Every listed agent lies in that square: the list is
   all agents nearer than d* (fewer than K) and the lowest slots at d*.
3. The agents of the square (its rows are 2 d* + 1 contiguous pieces of the
   tile order) are gathered into M = 2K candidates (a power of two) and
   sorted by (distance, slot) with a sorting network; the first K are listed.
4. Exactness: if a square holds more than M agents, the gather would drop
   some, so those observers alone are redone from all agents of the world
   (a `while_loop` over F of them at a time). In random play on the default
   and large presets this never happens (the squares hold at most about 30
   agents); crowded scenes only cost more, they never lose exactness.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from . import grid as tile_grid
from .config import Config
from .params import Params, resolve
from .materialize import materialize, materialize_tree
from .sortnet import bitonic_sort
from .state import (DEFENSE, HAT, HOSTILE, LAVA, MELEE_SKILL, NEUTRAL, NUM_EQUIP_SLOTS,
                    NUM_ITEM_KINDS, PASSIVE, Obs, State)
from .systems.combat import npc_levels
from .systems.equipment import equipped_level
from .systems.items import usable, use_levels
from .systems.move import destinations
from .systems.skills import level, max_vitals

_FALLBACK_BATCH = 8  # observers redone from all agents per while_loop iteration
# Observers per pass in worlds with more agents: the [block, V, V] window
# temporaries of 1,024 observers leave the cache (a large-preset agent cost
# 1.3-1.5x a default one when all went at once).
OBSERVER_BLOCK = 128


def candidate_count(config: Config) -> int:
    """M: candidates gathered per observer (the smallest power of two >= 2K)."""
    return 1 << max(1, (2 * config.max_entities - 1).bit_length())


class Bodies(NamedTuple):
    """What stands on tiles and can be listed: pos [S, 2], alive [S] (agents,
    then NPCs when on; S = Config.num_slots)."""

    pos: jnp.ndarray
    alive: jnp.ndarray


def bodies(state: State, config: Config) -> Bodies:
    """The agents, followed by the NPCs when they are on."""
    ag = state.agents
    if not config.num_npcs:
        return Bodies(ag.pos, ag.alive)
    return Bodies(jnp.concatenate([ag.pos, state.npcs.pos]),
                  jnp.concatenate([ag.alive, state.npcs.alive]))


def _tie_bits(config: Config) -> int:
    """Bits of the slot part of a list key (slot + 1 <= S)."""
    return tile_grid.bits(config.num_slots)


def _tile_bits(config: Config) -> int:
    """Bits of a tile type in the packed grid: 4 for the resource tiles, else v1.3's 3."""
    return tile_grid.PROFESSION_TILE_BITS if config.professions else tile_grid.V13_TILE_BITS


def _none_key(config: Config) -> int:
    """A key larger than every real one: distance vision + 1."""
    return (config.vision + 1) << _tie_bits(config)


class _Grid:
    """Per-world grid index of the bodies, shared by every observer block.

    tile, slot [S]: bodies in tile order; grid [H, W]: `tile_grid.packed_grid`
    when it packs, else counts and first [H, W] separately.
    """

    def __init__(self, state: State, config: Config):
        body, n = bodies(state, config), config.map_size
        self.tile, self.slot = tile_grid.tile_order(body, n)
        if tile_grid.packs(config.num_slots, _tile_bits(config)):
            self.grid = tile_grid.packed_grid(state.tiles, self.tile, _tile_bits(config))
        else:
            self.tiles = materialize(state.tiles)
            self.counts = tile_grid.occupancy(body, n)
            self.first = tile_grid.first_index(self.tile, n)


class _Index:
    """The grid index and the windows of a block of observers.

    observers [B] slots (default: all A); tile_window, count_window [B, V, V]
    (the observation's layout); cell_counts, cell_first [V, V, B] (observers
    minor, for the entity list).
    """

    def __init__(self, state: State, config: Config, grid: _Grid | None = None,
                 observers: jnp.ndarray | None = None):
        grid = _Grid(state, config) if grid is None else grid
        a, v = config.num_slots, config.vision  # a: the bodies, S
        self.tile, self.slot = grid.tile, grid.slot
        self.observers = (jnp.arange(config.num_agents, dtype=jnp.int32) if observers is None
                          else observers)
        pos = state.agents.pos[self.observers]
        # The observers-minor layout is a transpose of the crops: row copies plus one
        # transpose cost about a third of gathering [V, V, B] cell by cell.
        by_cell = lambda w: materialize(jnp.transpose(w, (1, 2, 0)))
        t = _tile_bits(config)
        if tile_grid.packs(a, t):  # one grid, one crop
            fill = LAVA | (a << (t + tile_grid.bits(a)))
            window = tile_grid.windows(grid.grid, pos, v, fill)
            self.tile_window, self.count_window, _ = tile_grid.unpack(window, a, t)
            _, self.cell_counts, self.cell_first = tile_grid.unpack(by_cell(window), a, t)
        else:
            self.tile_window = tile_grid.windows(grid.tiles, pos, v, LAVA)
            self.count_window = tile_grid.windows(grid.counts, pos, v, 0)
            self.cell_counts = by_cell(self.count_window)
            self.cell_first = by_cell(tile_grid.windows(grid.first, pos, v, a))


def tile_windows(state: State, config: Config) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Tile types and living-agent counts around each agent, [A, V, V] int8 each."""
    return _visible_windows(state, _Index(state, config))


def _visible_windows(state: State, index: _Index) -> tuple[jnp.ndarray, jnp.ndarray]:
    """The index's windows as observed: [B, V, V] int8 each (empty slots: lava, 0)."""
    seen = state.agents.alive[index.observers][:, None, None]
    tiles = jnp.where(seen, index.tile_window, LAVA).astype(jnp.int8)
    counts = jnp.where(seen, jnp.minimum(index.count_window, 127), 0).astype(jnp.int8)
    return tiles, counts


def _candidate_keys(pos: jnp.ndarray, observers: jnp.ndarray, tile: jnp.ndarray,
                    slot: jnp.ndarray, valid: jnp.ndarray, config: Config) -> jnp.ndarray:
    """Sort key (distance, slot) with the observer first: int32 [M, B].

    pos [B, 2], observers [B]: the observers (columns); tile, slot, valid
    [M, B]: their candidates. key = d << b | (0 for the observer itself, else
    slot + 1), b = bits of A; invalid candidates get `_none_key`, larger than
    every real key.
    """
    v, n = config.vision, config.map_size
    d = jnp.maximum(jnp.abs(tile // n - pos[None, :, 0]), jnp.abs(tile % n - pos[None, :, 1]))
    tie = jnp.where(slot == observers[None, :], 0, slot + 1)
    return jnp.where(valid & (d <= v), (d << _tie_bits(config)) | tie, _none_key(config))


def _exact_keys(state: State, observers: jnp.ndarray, config: Config) -> jnp.ndarray:
    """The K smallest keys of each observer [F] over all bodies: int32 [F, K]."""
    body, s = bodies(state, config), config.num_slots
    everyone = jnp.broadcast_to(jnp.arange(s, dtype=jnp.int32), (observers.shape[0], s))
    rows = jnp.clip(observers, 0, config.num_agents - 1)
    d = jnp.max(jnp.abs(body.pos[None, :, :] - body.pos[rows][:, None, :]), axis=-1)
    tie = jnp.where(everyone == rows[:, None], 0, everyone + 1)
    keys = jnp.where(body.alive[None, :] & (d <= config.vision), (d << _tie_bits(config)) | tie,
                     _none_key(config))
    return jnp.sort(keys, axis=1)[:, :config.max_entities]


def entity_keys(state: State, index: _Index, config: Config) -> jnp.ndarray:
    """The K smallest (distance, slot) keys of each of the index's observers, int32 [B, K].

    See the module docstring for the method and `_candidate_keys` for the key.
    Work runs observers-minor ([cells or candidates, B]) so each step is a
    vector operation over all observers.
    """
    ag, k, observers = state.agents, config.max_entities, index.observers
    b, m = observers.shape[0], candidate_count(config)
    radius = tile_grid.square_radius(index.cell_counts, k)
    start, length = tile_grid.square_segments(index.cell_counts, index.cell_first, radius)
    place, valid, total = tile_grid.gather_segments(start, length, m)
    keys = _candidate_keys(ag.pos[observers], observers, index.tile[place], index.slot[place],
                           valid, config)
    # Materialised: fused into the network's first stage, XLA would compute them twice.
    keys = bitonic_sort(materialize(keys), axis=0)[:k].T

    def redo(carry):
        keys, pending = carry
        rows = jnp.nonzero(pending, size=_FALLBACK_BATCH, fill_value=b)[0]
        exact = _exact_keys(state, observers[jnp.minimum(rows, b - 1)], config)
        keys = keys.at[rows].set(exact, mode="drop")
        return keys, pending.at[rows].set(False, mode="drop")

    pending = ag.alive[observers] & (total > m)
    keys, _ = jax.lax.while_loop(lambda c: jnp.any(c[1]), redo, (keys, pending))
    return keys


def _decode(keys: jnp.ndarray, alive: jnp.ndarray, config: Config
            ) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """(slot [A, K] int32, mask [A, K] bool, distance [A, K] int32) from keys."""
    b = _tie_bits(config)
    me = jnp.arange(config.num_agents, dtype=jnp.int32)[:, None]
    mask = (keys < _none_key(config)) & alive[:, None]
    tie = keys & ((1 << b) - 1)
    slot = jnp.where(mask & (tie > 0), tie - 1, me)
    return slot, mask, keys >> b


def nearest_entities(state: State, config: Config) -> tuple[jnp.ndarray, jnp.ndarray]:
    """The K listed agents per observer: (slot [A, K] int32, mask [A, K] bool).

    Row 0 is the observer; then the other living agents (and NPCs, slots
    A + j, when on) inside the window, nearest first by Chebyshev distance,
    ties by slot.
    """
    keys = entity_keys(state, _Index(state, config), config)
    return _decode(keys, state.agents.alive, config)[:2]


def agent_table(state: State, config: Config, params: Params) -> jnp.ndarray:
    """Per-slot float32 rows [S, F] (S = A + N) in `entity_feature_names` order;
    the observer-relative columns (is_self, same_population, rel_row, rel_col)
    hold 0, population (-1 for an NPC), row, col."""
    ag = state.agents
    levels = level(ag.xp, config)  # [A, 7]
    cols = _agent_columns(state, levels, config, params)
    if config.num_npcs:
        top = jnp.max(levels[:, MELEE_SKILL:MELEE_SKILL + 3], axis=1)
        zeros = jnp.zeros(ag.alive.shape, jnp.float32)
        cols += [zeros, zeros, zeros, top.astype(jnp.float32) / config.max_level]
    if config.inventory_slots:
        cols += [equipped_level(state.items).astype(jnp.float32)
                 / (NUM_EQUIP_SLOTS * params.item_level_max)]
    if not config.num_npcs:
        return materialize(jnp.stack(cols, axis=-1))  # gathered K times per observer
    npc_rows = _npc_rows(state, config, params)
    if config.inventory_slots:  # NPCs wear nothing
        npc_rows = jnp.concatenate([npc_rows, jnp.zeros((config.num_npcs, 1), jnp.float32)], 1)
    return materialize(jnp.concatenate([jnp.stack(cols, axis=-1), npc_rows]))


def _agent_columns(state: State, levels: jnp.ndarray, config: Config, params: Params
                   ) -> list[jnp.ndarray]:
    """The agents' ENTITY_FEATURES columns, [A] float32 each."""
    ag = state.agents
    max_health, max_food, max_water = max_vitals(levels)
    f32 = lambda x: x.astype(jnp.float32)
    frac = lambda x, m: f32(x) / jnp.maximum(m, 1)
    cols = [
        jnp.zeros(ag.alive.shape, jnp.float32), f32(ag.population),
        f32(ag.pos[:, 0]), f32(ag.pos[:, 1]),
        f32(ag.damage) / params.constitution_start_level,
        f32(ag.time_alive) / 100.0,
        frac(ag.food, max_food),
        frac(ag.water, max_water),
        frac(ag.health, max_health),
        f32(ag.freeze) / params.freeze_ticks,
        f32(ag.immune) / jnp.maximum(params.spawn_immunity, 1),
    ]
    cols += [f32(levels[:, s]) / config.max_level
             for s in (MELEE_SKILL, MELEE_SKILL + 1, MELEE_SKILL + 2, DEFENSE)]
    return cols


def _npc_rows(state: State, config: Config, params: Params) -> jnp.ndarray:
    """The NPCs' rows [N, F] (docs/rules.md §9.6): no food, water or immunity
    (0), population -1, the levels combat reads, kind one-hot and level."""
    npcs = state.npcs
    f32 = lambda x: x.astype(jnp.float32)
    levels = npc_levels(npcs, params)
    zeros = jnp.zeros(npcs.alive.shape, jnp.float32)
    cols = [zeros, jnp.full(npcs.alive.shape, -1.0, jnp.float32),
            f32(npcs.pos[:, 0]), f32(npcs.pos[:, 1]),
            f32(npcs.damage) / params.constitution_start_level,
            f32(npcs.time_alive) / 100.0, zeros, zeros,
            f32(npcs.health) / jnp.maximum(params.npc_health, 1),
            f32(npcs.freeze) / params.freeze_ticks, zeros]
    cols += [f32(levels[:, s]) / config.max_level
             for s in (MELEE_SKILL, MELEE_SKILL + 1, MELEE_SKILL + 2, DEFENSE)]
    cols += [f32(npcs.kind == kind) for kind in (PASSIVE, NEUTRAL, HOSTILE)]
    cols += [f32(npcs.level) / config.max_level]
    return jnp.stack(cols, axis=-1)


def entity_features(state: State, slot: jnp.ndarray, mask: jnp.ndarray,
                    config: Config, params: Params) -> jnp.ndarray:
    """float32 [A, K, F] in `entity_feature_names` order; padding rows are 0."""
    table = agent_table(state, config, params)
    rows = table[slot]  # [A, K, F]: one gather of whole rows
    observers = table[:config.num_agents] if config.num_npcs else table
    mine = observers[:, None, 1:4]
    me = jnp.arange(config.num_agents)[:, None]
    relative = jnp.stack([
        (slot == me).astype(jnp.float32),
        (rows[..., 1] == mine[..., 0]).astype(jnp.float32),
        (rows[..., 2] - mine[..., 1]) / max(config.vision, 1),
        (rows[..., 3] - mine[..., 2]) / max(config.vision, 1),
    ], axis=-1)
    entities = jnp.concatenate([relative, rows[..., 4:]], axis=-1)
    return jnp.where(mask[..., None], entities, 0.0)


def action_masks(state: State, slot: jnp.ndarray, mask: jnp.ndarray, config: Config,
                 params: Params, distance: jnp.ndarray | None = None
                 ) -> tuple[jnp.ndarray, jnp.ndarray]:
    """move_mask [A, 5] and target_mask [A, 3, K] for the next tick.

    A move is valid when it changes position next tick: the cell can be
    entered and the agent will not be frozen then (freeze <= 1, since timers
    run first). A target row is valid when it is a listed agent that will not
    be immune when the attack resolves (immune <= 1) and is within the
    style's range now; row 0 (no attack) is always valid. distance [A, K]
    (Chebyshev, observer to each row) is computed when not given.
    """
    ag = state.agents
    _, enterable = destinations(state.tiles, ag.pos, config.professions)
    can_move = ag.alive & (ag.freeze <= 1)
    move_mask = enterable & can_move[:, None]
    move_mask = move_mask.at[:, 0].set(True)

    if distance is None:
        distance = jnp.max(jnp.abs(bodies(state, config).pos[slot] - ag.pos[:, None, :]), axis=-1)
    immune = ag.immune if not config.num_npcs else jnp.concatenate(
        [ag.immune, jnp.zeros(config.num_npcs, jnp.int32)])  # NPCs are never immune
    attackable = mask & (immune[slot] <= 1)
    attackable = attackable.at[:, 0].set(False)
    reach = params.style_ranges
    target_mask = attackable[:, None, :] & (distance[:, None, :] <= reach[None, :, None])
    target_mask = target_mask.at[:, :, 0].set(True)
    return move_mask, target_mask


def observe(state: State, config: Config, params: Params | None = None) -> Obs:
    """The observation of every slot (empty slots see only padding).

    params: the numbers its features and masks depend on (style ranges,
    normalisers); None means `default_params(config)`.
    """
    return observe_materialized(materialize_tree(state), config, resolve(params, config))


def observe_materialized(state: State, config: Config, params: Params) -> Obs:
    """`observe` for a state whose arrays are already buffers (`materialize_tree`)."""
    grid = _Grid(state, config)

    def windows_and_keys(observers):
        index = _Index(state, config, grid, observers)
        return (*_visible_windows(state, index), entity_keys(state, index, config))

    tiles, tile_agents, keys = _by_block(windows_and_keys, config.num_agents)
    slot, mask, distance = _decode(keys, state.agents.alive, config)
    move_mask, target_mask = action_masks(state, slot, mask, config, params, distance)
    obs = Obs(tiles=tiles, tile_agents=tile_agents,
              entities=entity_features(state, slot, mask, config, params),
              entity_mask=mask, entity_slot=slot,
              move_mask=move_mask, target_mask=target_mask)
    if config.inventory_slots:
        obs = obs.replace(**inventory_view(state, config, params),
                          give_mask=give_mask(state, slot, mask, distance))
    return obs


def give_mask(state: State, slot: jnp.ndarray, mask: jnp.ndarray, distance: jnp.ndarray
              ) -> jnp.ndarray:
    """bool [A, K]: the listed entity is another living agent on the observer's
    tile, so the observer may give to it next tick (docs/rules.md §10.5a;
    whether it has room for an item is not in the mask)."""
    num = state.agents.alive.shape[0]
    me = jnp.arange(num, dtype=jnp.int32)[:, None]
    return mask & (distance == 0) & (slot < num) & (slot != me)


def inventory_view(state: State, config: Config, params: Params) -> dict:
    """The item fields of Obs (docs/rules.md §10.8): inventory [A, I,
    NUM_ITEM_FEATURES] float32 in ITEM_FEATURES order, use_mask and
    destroy_mask [A, I] bool, gold [A] int32. Empty slots and dead agents
    show zeros and no valid use or destroy."""
    items, alive = state.items, state.agents.alive[:, None]
    kinds = jax.nn.one_hot(items.kind - HAT, NUM_ITEM_KINDS - HAT, dtype=jnp.float32)  # empty: 0s
    f32 = lambda x: x.astype(jnp.float32)
    quantity = jnp.minimum(jnp.log2(1.0 + f32(items.quantity)) / 10.0, 1.0)
    scalars = jnp.stack([f32(items.level) / params.item_level_max, quantity,
                         f32(items.equipped)], axis=-1)
    use_mask = alive & usable(items, use_levels(state, config, params))
    destroy_mask = alive & (items.kind > 0) & ~items.equipped
    return {"inventory": jnp.concatenate([kinds, scalars], axis=-1), "use_mask": use_mask,
            "destroy_mask": destroy_mask, "gold": items.gold}


def _by_block(fn: Callable, num_agents: int):
    """fn(observers [B]) -> arrays [B, ...], for all observers: [A, ...].

    Above OBSERVER_BLOCK agents the observers go OBSERVER_BLOCK at a time
    (`lax.map`), so the per-observer window temporaries stay in the cache; the
    last block is filled up with repeats of the last slot, whose rows are dropped.
    """
    if num_agents <= OBSERVER_BLOCK:
        return fn(jnp.arange(num_agents, dtype=jnp.int32))
    blocks = -(-num_agents // OBSERVER_BLOCK)
    slots = jnp.minimum(jnp.arange(blocks * OBSERVER_BLOCK, dtype=jnp.int32), num_agents - 1)
    out = jax.lax.map(fn, slots.reshape(blocks, OBSERVER_BLOCK))
    return jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:])[:num_agents], out)
