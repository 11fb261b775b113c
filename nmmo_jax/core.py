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
from .resources import place_resources
from .state import Actions, Obs, State
from .systems.combat import combat
from .systems.death import death
from .systems.forage import forage
from .systems.harvest import harvest
from .systems.inventory import empty_items
from .systems.give import give
from .systems.items import npc_spawn_gold, spawn_gold, use_and_destroy
from .systems.loot import loot
from .systems.move import move
from .systems.npc import npc_death, npc_decide, npc_move, npc_upkeep
from .systems.npc_spawn import empty_npcs, npc_spawn
from .systems.regrowth import regrowth
from .systems.spawn import empty_agents, spawn
from .systems.timers import timers
from .systems.vitals import vitals


def initial_state(tiles: jnp.ndarray, config: Config) -> State:
    """A world on the given map [H, W] with every slot empty (agents', and NPCs'
    when `config.num_npcs` > 0; empty inventories when `config.inventory_slots`
    > 0), at tick 0."""
    return State(tiles=tiles.astype(jnp.int8), agents=empty_agents(config),
                 tick=jnp.zeros((), jnp.int32),
                 npcs=empty_npcs(config) if config.num_npcs else None,
                 items=empty_items(config) if config.inventory_slots else None)


def reset(key: jax.Array, config: Config, params: Params | None = None) -> tuple[Obs, State]:
    """A new map at tick 0 after one spawn phase (agents', then NPCs' when on).
    Returns (obs, state).

    Refuses spawn_per_tick = 0, whose world would stay empty (hand-built
    scenes start from `initial_state`).
    """
    if config.spawn_per_tick == 0:
        raise ValueError("reset: Config.spawn_per_tick=0 spawns nobody, so the world would stay "
                         "empty; build scenes by hand from initial_state")
    params = resolve(params, config)
    k_map, k_spawn = jax.random.split(key)
    tiles = terrain.generate(k_map, config, params)
    if config.professions:
        tiles = place_resources(rng.stream(rng.seed_of(key), rng.STREAM_ITEMS), tiles, config,
                                params)
    state = initial_state(tiles, config)
    state, spawned = spawn(k_spawn, state, config, params)
    if config.inventory_slots:
        state = state.replace(items=spawn_gold(state.items, spawned, params)[0])
    if config.num_npcs:
        state, npc_spawned = npc_spawn(rng.stream(rng.seed_of(key), rng.STREAM_NPC), state,
                                       config, params)
        if config.inventory_slots:
            state, _ = npc_spawn_gold(state, npc_spawned, params)
    return observe(state, config, params), state


def advance(key: jax.Array, state: State, actions: Actions, config: Config,
            params: Params | None = None) -> tuple[State, jnp.ndarray, jnp.ndarray, dict]:
    """`step` without the observation: (state, reward [A], done [A], info).

    For users (and benchmarks) that observe less often than they step.
    With NPCs off (`config.num_npcs` = 0) and items off
    (`config.inventory_slots` = 0) none of their systems is traced: the
    program is v1.3's.
    """
    params = resolve(params, config)
    seed = rng.seed_of(key)  # one hash of the key; systems draw from their own streams
    k_spawn, k_combat, k_regrow = (rng.stream(seed, tag) for tag in (
        rng.STREAM_SPAWN, rng.STREAM_COMBAT, rng.STREAM_REGROWTH))
    npcs_on, items_on = bool(config.num_npcs), bool(config.inventory_slots)
    k_items = rng.stream(seed, rng.STREAM_ITEMS) if items_on else None
    state = state.replace(tick=state.tick + 1)
    state, spawned = spawn(k_spawn, state, config, params)
    if items_on:
        items, gold_in = spawn_gold(state.items, spawned, params)
        state = state.replace(items=items)
    if npcs_on:
        k_npc = rng.stream(seed, rng.STREAM_NPC)
        state, npc_spawned = npc_spawn(k_npc, state, config, params)
        npc_active = state.npcs.alive & ~npc_spawned
        if items_on:
            state, npc_gold_in = npc_spawn_gold(state, npc_spawned, params)
    active = state.agents.alive & ~spawned  # newcomers sit out the rest of the tick
    state = timers(state, active)
    if items_on:
        if actions.give_to is None:
            state, used = use_and_destroy(state, actions.use, actions.destroy, active, config,
                                          params)
        else:  # nmmo 2.1.2's order: use, then give, then destroy
            state, used = use_and_destroy(state, actions.use, None, active, config, params)
            state = give(state, actions.give, actions.give_to, actions.give_gold, active)
            state, gone = use_and_destroy(state, None, actions.destroy, active, config, params)
            used = used + gone
    state = forage(state, active, config, params)
    if config.professions:
        state, harvested = harvest(k_items, state, active, config, params)
    state = vitals(state, active, config, params)
    npc_intent = None
    if npcs_on:
        state = npc_upkeep(state, npc_active, params)
        state, npc_moves, npc_intent = npc_decide(k_npc, state, npc_active, config, params)
    state = move(state, actions.move, active, config)
    if items_on:  # read by many fusions of combat and loot: one buffer, not recomputed in each
        state = state.replace(items=materialize_tree(state.items))
    if npcs_on:
        state = npc_move(state, npc_moves, npc_active, config.professions)
    state, attacks = combat(k_combat, state, actions.style, actions.target, active, config,
                            params, npc_intent)
    state, reward, done, info = death(state, attacks.pop("npc_damage", None))
    killer, fired = attacks.pop("killer", None), attacks.pop("ammunition_fired", None)
    info.update(attacks)
    npc_died = None
    if npcs_on:
        state, npc_died = npc_death(state, done)
        info.update(npc_info(attacks, npc_died, npc_spawned, state, config))
    if items_on:
        state, flows = loot(k_items, state, done, info["death_cause"], killer, npc_died, config,
                            params)
        items_in = flows["items_in"]
        if config.professions:
            items_in = items_in + harvested.pop("items_in")
            info.update(harvested)
        info.update(items_in=items_in, items_out=used + fired + flows["items_out"],
                    gold_in=gold_in, gold_out=flows["gold_out"])
        if npcs_on:
            info.update(npc_gold_in=npc_gold_in, npc_gold_out=flows["npc_gold_out"])
    state = regrowth(k_regrow, state, params, k_items if config.professions else None)
    info["spawned"] = spawned
    return state, reward, done, info


def npc_info(attacks: dict, npc_died: jnp.ndarray, npc_spawned: jnp.ndarray, state: State,
             config: Config) -> dict:
    """The NPCs' part of `info` (docs/rules.md §9.5): npc_alive, npc_done (died this
    tick), npc_spawned [N] bool, and npc_kill [A] bool: the agent hit an NPC
    that died in this tick (every agent that hit it gets the kill)."""
    a = config.num_agents
    hit_npc = attacks["attack_hit"] & (attacks["attack_target"] >= a)
    victim = jnp.clip(attacks["attack_target"] - a, 0, config.num_npcs - 1)
    return {"npc_alive": state.npcs.alive, "npc_done": npc_died, "npc_spawned": npc_spawned,
            "npc_kill": hit_npc & npc_died[victim]}


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
    With NPCs on also npc_attack_target, npc_attack_hit, npc_alive, npc_done,
    npc_spawned [N] and npc_kill [A] (docs/rules.md §9.5).

    With items on (docs/rules.md §10.5), the tick's flows of item units and
    gold, int32 [A] each, for conservation accounting: items_in (units that
    entered the game at the agent: drops it kept from an NPC it killed),
    items_out (units that left it from the agent: consumables eaten, items
    destroyed, ammunition fired, and a dead agent's units its killer did not
    keep), gold_in (the newcomers' `gold_start`) and gold_out (a dead
    agent's gold that no living killer took). With professions items_in
    also counts the harvest's kept items, and info holds the harvest's
    other keys (`systems.harvest.harvest`, docs/rules.md §10.6). With NPCs
    also npc_gold_in (a new NPC's gold) and npc_gold_out (a dead NPC's gold
    that no living agent killer took) [N]. Loot is a transfer and in none
    of them: from one tick to the next, sum(quantity) changes by exactly
    sum(items_in) - sum(items_out), and sum(gold) + sum(npc_gold) by
    sum(gold_in) + sum(npc_gold_in) - sum(gold_out) - sum(npc_gold_out).

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
