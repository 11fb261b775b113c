"""reset() and step(): the rule systems composed in the tick order of docs/rules.md §3.

Each takes the static `config` (shapes) and the game's numbers `params`
(data; None means `default_params(config)`, v1.3's game).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from . import rng, terrain
from .config import Config
from .materialize import materialize_tree
from .observe import observe, observe_materialized
from .params import Params, resolve
from .state import Actions, Obs, State
from .systems.combat import combat
from .systems.death import death
from .systems.forage import forage
from .systems.move import move
from .systems.regrowth import regrowth
from .systems.spawn import empty_agents, spawn
from .systems.timers import timers
from .systems.vitals import vitals


def initial_state(tiles: jnp.ndarray, config: Config) -> State:
    """A world on the given map [H, W] with every slot empty, at tick 0."""
    return State(tiles=tiles.astype(jnp.int8), agents=empty_agents(config),
                 tick=jnp.zeros((), jnp.int32))


def reset(key: jax.Array, config: Config, params: Params | None = None) -> tuple[Obs, State]:
    """A new map at tick 0 after one spawn phase. Returns (obs, state).

    Refuses spawn_per_tick = 0, whose world would stay empty (hand-built
    scenes start from `initial_state`).
    """
    if config.spawn_per_tick == 0:
        raise ValueError("reset: Config.spawn_per_tick=0 spawns nobody, so the world would stay "
                         "empty; build scenes by hand from initial_state")
    params = resolve(params, config)
    k_map, k_spawn = jax.random.split(key)
    state = initial_state(terrain.generate(k_map, config, params), config)
    state, _ = spawn(k_spawn, state, config, params)
    return observe(state, config, params), state


def advance(key: jax.Array, state: State, actions: Actions, config: Config,
            params: Params | None = None) -> tuple[State, jnp.ndarray, jnp.ndarray, dict]:
    """`step` without the observation: (state, reward [A], done [A], info).

    For users (and benchmarks) that observe less often than they step.
    """
    params = resolve(params, config)
    seed = rng.seed_of(key)  # one hash of the key; systems draw from their own streams
    k_spawn, k_combat, k_regrow = (rng.stream(seed, tag) for tag in (
        rng.STREAM_SPAWN, rng.STREAM_COMBAT, rng.STREAM_REGROWTH))
    state = state.replace(tick=state.tick + 1)
    state, spawned = spawn(k_spawn, state, config, params)
    active = state.agents.alive & ~spawned  # newcomers sit out the rest of the tick
    state = timers(state, active)
    state = forage(state, active, config, params)
    state = vitals(state, active, config, params)
    state = move(state, actions.move, active, config)
    state, attacks = combat(k_combat, state, actions.style, actions.target, active, config, params)
    state, reward, done, info = death(state)
    info.update(attacks)
    state = regrowth(k_regrow, state, params)
    info["spawned"] = spawned
    return state, reward, done, info


def step(key: jax.Array, state: State, actions: Actions, config: Config,
         params: Params | None = None) -> tuple[Obs, State, jnp.ndarray, jnp.ndarray, dict]:
    """Advance one tick. Returns (obs, state, reward [A] f32, done [A] bool, info).

    key: a PRNG key (a uint32 scalar seed also works; see `rng.seed_of`).
    params: the game's numbers (`default_params`); None means v1.3's. Under
    `jax.vmap(step, in_axes=(0, 0, 0, None, 0))` each world has its own.

    info holds alive [A] bool (after the tick), lifetime [A] int32 (length of
    each life that ended this tick, else 0), death_cause [A] int32,
    spawned [A] bool, attack_target [A] int32 (the slot each agent attacked,
    its own slot when it made no attack) and attack_hit [A] bool (it landed).
    Pure: same key and inputs give identical outputs. A world steps up to
    tick `config.max_tick` (`check_state` refuses to step past it).
    """
    params = resolve(params, config)
    state, reward, done, info = advance(key, state, actions, config, params)
    state = materialize_tree(state)  # computed once, not inside every gather of observe
    return observe_materialized(state, config, params), state, reward, done, info


# Compiled once per config for everyone who imports them (gymnax jits in its base
# class the same way): `nmmo_jax.jit_step(key, state, actions, config, params)`.
jit_reset = jax.jit(reset, static_argnames="config")
jit_step = jax.jit(step, static_argnames="config")
jit_advance = jax.jit(advance, static_argnames="config")
