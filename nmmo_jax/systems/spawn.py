"""Spawn (docs/rules.md §3.1): fill up to `spawn_per_tick` empty slots on the ring."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import rng
from ..config import Config
from ..params import Params
from ..state import Agents, State
from ..terrain import ring_cell
from .skills import max_vitals_from_xp, start_xp

_ARGMAX_PICKS = 8  # up to this many spawns per tick: repeated argmax, beyond: one sort


def empty_agents(config: Config) -> Agents:
    """A slots that are all empty (alive False, every stat 0)."""
    a = config.num_agents
    zeros = jnp.zeros(a, jnp.int32)
    return Agents(
        alive=jnp.zeros(a, bool), pos=jnp.zeros((a, 2), jnp.int32),
        population=jnp.arange(a, dtype=jnp.int32) % config.num_populations,
        health=zeros, food=zeros, water=zeros, immune=zeros, freeze=zeros,
        time_alive=zeros, damage=zeros, xp=jnp.zeros((a, 7), jnp.int32), uid=zeros,
    )


def pick_empty(seed: jnp.ndarray, empty: jnp.ndarray, count: int) -> jnp.ndarray:
    """A uniformly random subset of min(count, #empty) of the True slots of empty [A].

    Each empty slot gets a random priority; the `count` highest win. Small
    counts take repeated argmaxes (no sort); count >= A takes every empty slot.
    """
    a = empty.shape[0]
    if count >= a:
        return empty
    slots = jnp.arange(a, dtype=jnp.int32)
    # Priorities are distinct random keys (random high bits, slot low bits), empties only.
    shift = max(a - 1, 1).bit_length()
    priority = ((rng.bits(seed, slots) >> shift) << shift).astype(jnp.int32) & 0x7FFFFFFF
    priority = jnp.where(empty, priority | slots, -1)
    if count <= _ARGMAX_PICKS:
        chosen = jnp.zeros(a, bool)
        for _ in range(count):
            best = jnp.argmax(priority)
            chosen = chosen | ((slots == best) & (priority[best] >= 0))
            priority = jnp.where(slots == best, -1, priority)
        return chosen
    cutoff = jax.lax.sort(priority)[a - count]
    return empty & (priority >= cutoff)


def spawn(key: jax.Array, state: State, config: Config, params: Params) -> tuple[State, jnp.ndarray]:
    """Fill empty slots chosen uniformly at random; returns (state, spawned [A] bool).

    key: a PRNG key or a uint32 seed (`rng.seed_of`). A new agent stands on a
    uniform spawn-ring cell with fresh stats, belongs to population
    slot % num_populations and gets uid = tick * A + slot.
    """
    a = config.num_agents
    ag = state.agents
    if config.spawn_per_tick == 0:
        return state, jnp.zeros(a, bool)
    seed = rng.seed_of(key)
    spawned = pick_empty(rng.stream(seed, rng.STREAM_SPAWN_SLOTS), ~ag.alive, config.spawn_per_tick)

    slots = jnp.arange(a, dtype=jnp.int32)
    cell = rng.below(rng.stream(seed, rng.STREAM_SPAWN_CELLS), slots, config.num_ring_cells)
    cells = ring_cell(cell, config)
    xp0 = start_xp(params)
    health0, _, _ = max_vitals_from_xp(xp0, config)
    fresh = Agents(
        alive=jnp.ones(a, bool), pos=cells,
        population=slots % config.num_populations,
        health=jnp.full(a, health0, jnp.int32),
        food=jnp.full(a, params.hunting_start_level, jnp.int32),
        water=jnp.full(a, params.fishing_start_level, jnp.int32),
        immune=jnp.full(a, params.spawn_immunity, jnp.int32),
        freeze=jnp.zeros(a, jnp.int32), time_alive=jnp.zeros(a, jnp.int32),
        damage=jnp.zeros(a, jnp.int32), xp=jnp.broadcast_to(xp0, (a, xp0.shape[0])),
        uid=state.tick.astype(jnp.int32) * a + slots,
    )
    pick = lambda new, old: jnp.where(spawned.reshape((a,) + (1,) * (old.ndim - 1)), new, old)
    return state.replace(agents=jax.tree.map(pick, fresh, ag)), spawned
