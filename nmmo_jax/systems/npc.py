"""NPC upkeep, behaviour and death (docs/rules.md §9.2-9.5).

nmmo 2.1.2's NPC policies (nmmo/entity/npc.py) as array programs over the
N NPC slots: a passive NPC wanders; a neutral one wanders until an agent
attacks it, then chases and attacks that agent while it stays in sight; a
hostile one does the same and also picks the nearest agent in sight on its
own. The nearest agent is found by comparing every NPC with every agent
while agents are few, and on the tile grid (a window per NPC, like the
observation's) beyond, so the cost per NPC stops growing with the agents.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import grid as tile_grid
from .. import rng
from ..config import Config
from ..materialize import materialize
from ..params import Params
from ..state import EAST, HOSTILE, LAVA, NORTH, PASSIVE, SOUTH, STAY, WEST, State
from .combat import chebyshev
from .move import destinations, moved

# nmmo's wandering tries directions in this order from a random start (npc.py DIRECTIONS).
_WANDER_ORDER = (NORTH, SOUTH, WEST, EAST)


def npc_upkeep(state: State, active: jnp.ndarray, params: Params) -> State:
    """Timers and healing of the active NPCs [N] (§9.2): freeze falls by 1, time
    alive rises by 1, health rises by `npc_heal` up to `npc_health`."""
    npcs = state.npcs
    tick = active.astype(jnp.int32)
    health = jnp.minimum(npcs.health + params.npc_heal * tick, params.npc_health)
    return state.replace(npcs=npcs.replace(
        freeze=jnp.maximum(npcs.freeze - tick, 0), time_alive=npcs.time_alive + tick,
        health=jnp.where(active, health, npcs.health)))


def _agent_of(memory: jnp.ndarray, state: State) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(slot [N], alive [N]): the agent slot each memory [N] names (-1: none;
    read as slot 0) and whether it names a living agent."""
    slot = jnp.maximum(memory, 0)
    return slot, (memory >= 0) & state.agents.alive[slot]


def nearest_agents(state: State, config: Config, params: Params) -> jnp.ndarray:
    """int32 [N]: per NPC the nearest attackable agent (alive, not immune) within
    `npc_sight`, ties by the lower slot; A where there is none.

    Each NPC takes the minimum (distance, slot) key over the agents within
    `Config.vision`: with at most V^2 agents (V = 2 vision + 1) over all
    of them; with more, the lowest attackable slot of each tile goes on a
    grid and each NPC reads its window, the same minimum.
    """
    ag, npcs, a = state.agents, state.npcs, config.num_agents
    size, v = config.map_size, config.vision
    slots = jnp.arange(a, dtype=jnp.int32)
    attackable = ag.alive & (ag.immune == 0)
    b = tile_grid.bits(a)
    none = (v + 1) << b
    if a <= (2 * v + 1) ** 2:
        dist = chebyshev(npcs.pos[:, None, :], ag.pos[None, :, :])  # [N, A]
        seen = attackable[None, :] & (dist <= v) & (dist <= params.npc_sight)
        keys = jnp.where(seen, (dist << b) | slots[None, :], none)
    else:
        lowest = jnp.full((size, size), a, jnp.int32).at[ag.pos[:, 0], ag.pos[:, 1]].min(
            jnp.where(attackable, slots, a))
        window = tile_grid.windows(lowest, npcs.pos, v, a).reshape(npcs.pos.shape[0], -1)
        offsets = np.abs(np.arange(-v, v + 1))
        dist = jnp.asarray(np.maximum(offsets[:, None], offsets[None, :]).reshape(-1), jnp.int32)
        keys = jnp.where((window < a) & (dist <= params.npc_sight), (dist << b) | window, none)
    best = jnp.min(keys, axis=1)
    return jnp.where(best < none, best & ((1 << b) - 1), a)


def _step_toward(tiles: jnp.ndarray, pos: jnp.ndarray, goal: jnp.ndarray,
                 professions: bool = False) -> jnp.ndarray:
    """int32 [N]: the move (0..4) whose cell is nearest goal [N, 2] by
    (Chebyshev, then Manhattan) distance, among stay and the enterable moves
    that avoid lava; ties by the lower move index, so stay wins when nothing is
    nearer. A greedy step where nmmo runs A* (§9.3)."""
    dest, ok = _npc_destinations(tiles, pos, professions)
    gap = jnp.abs(dest - goal[:, None, :])  # [N, 5, 2]
    cheb, manhattan = jnp.max(gap, axis=-1), jnp.sum(gap, axis=-1)
    far = jnp.iinfo(jnp.int32).max
    nearest = jnp.min(jnp.where(ok, cheb, far), axis=1, keepdims=True)
    return jnp.argmin(jnp.where(ok & (cheb == nearest), manhattan, far), axis=1).astype(jnp.int32)


def _wander(seed: jnp.ndarray, tiles: jnp.ndarray, pos: jnp.ndarray,
            professions: bool = False) -> jnp.ndarray:
    """int32 [N]: nmmo's meander: from a uniformly drawn start in N, S, W, E
    order, the first enterable direction that avoids lava (stay if none)."""
    _, ok = _npc_destinations(tiles, pos, professions)
    # A buffer of its own: fused into the four gathers below, it would be re-hashed in each.
    start = materialize(rng.below(seed, jnp.arange(pos.shape[0], dtype=jnp.int32), 4))
    order = jnp.asarray(_WANDER_ORDER, jnp.int32)
    choice = jnp.full(pos.shape[0], STAY, jnp.int32)
    for i in reversed(range(4)):  # the earliest enterable direction in the order wins
        direction = order[(start + i) % 4]
        can = jnp.take_along_axis(ok, direction[:, None], 1)[:, 0]
        choice = jnp.where(can, direction, choice)
    return choice


def _npc_destinations(tiles: jnp.ndarray, pos: jnp.ndarray, professions: bool = False
                      ) -> tuple[jnp.ndarray, jnp.ndarray]:
    """`destinations` [N, 5, 2], [N, 5] with lava also closed: NPCs never enter it.
    professions: `Config.professions` (fish and ocean block too)."""
    dest, ok = destinations(tiles, pos, professions)
    size = tiles.shape[0]
    kind = tiles[jnp.clip(dest[..., 0], 0, size - 1), jnp.clip(dest[..., 1], 0, size - 1)]
    return dest, ok & (kind != LAVA)


def npc_decide(seed: jnp.ndarray, state: State, active: jnp.ndarray, config: Config,
               params: Params) -> tuple[State, jnp.ndarray, tuple[jnp.ndarray, ...]]:
    """Every NPC's move and attack for this tick, from the state before the moves.

    seed: the NPC stream's uint32 seed; active [N]: alive and not spawned this
    tick. A neutral or hostile NPC keeps its target while that agent lives and
    is within `npc_sight`; without one it takes the agent that attacked it in
    the last tick; a hostile one without either takes `nearest_agents`. With a
    target it steps toward it and attacks it with its style (combat checks
    the range after the moves); without one it wanders.

    Returns (state with the new targets, move [N] int32, intent) where intent
    = (rolls [N] float32 hit rolls, style [N], target [N] in the slot space,
    active [N]) for `combat`; an NPC without a target names its own slot A + j.
    """
    ag, npcs, a = state.agents, state.npcs, config.num_agents
    slot, kept = _agent_of(npcs.target, state)
    kept = kept & (chebyshev(npcs.pos, ag.pos[slot]) <= params.npc_sight)
    answer, answered = _agent_of(npcs.attacker, state)
    fights = active & (npcs.kind != PASSIVE)
    slot = jnp.where(kept, slot, answer)
    has = fights & (kept | answered)
    found = nearest_agents(state, config, params)
    search = fights & ~has & (npcs.kind == HOSTILE) & (found < a)
    slot = jnp.where(search, found, slot)
    has = has | search

    goal = ag.pos[slot]
    move = jnp.where(has, _step_toward(state.tiles, npcs.pos, goal, config.professions),
                     _wander(rng.stream(seed, rng.STREAM_NPC_WANDER), state.tiles, npcs.pos,
                             config.professions))
    # A buffer of its own: each fusion that reads the NPCs' new positions (their
    # state, combat's and the observation's body tables) would redo this choice.
    move = materialize(move)
    npc_slots = a + jnp.arange(config.num_npcs, dtype=jnp.int32)
    rolls = rng.uniform(rng.stream(seed, rng.STREAM_NPC_HIT), npc_slots - a)
    intent = (rolls, npcs.style, jnp.where(has, slot, npc_slots), active & has)
    target = jnp.where(has, slot, -1)
    return state.replace(npcs=npcs.replace(target=target)), jnp.where(active, move, STAY), intent


def npc_move(state: State, move_action: jnp.ndarray, active: jnp.ndarray,
             professions: bool = False) -> State:
    """The NPCs' moves [N] (§9.3), by the agents' rule: frozen ones stay."""
    npcs = state.npcs
    return state.replace(npcs=npcs.replace(
        pos=moved(state.tiles, npcs.pos, npcs.freeze, move_action, active, professions)))


def npc_death(state: State, agent_died: jnp.ndarray) -> tuple[State, jnp.ndarray]:
    """NPCs at health <= 0 die (§9.5); returns (state, died [N] bool). Their slots
    are empty from now and keep their ring for the respawn. Every NPC forgets
    the agents that died this tick (agent_died [A] bool) as target or attacker."""
    npcs = state.npcs
    died = npcs.alive & (npcs.health <= 0)
    forget = lambda memory: jnp.where((memory >= 0) & agent_died[jnp.maximum(memory, 0)],
                                      -1, memory)
    return state.replace(npcs=npcs.replace(
        alive=npcs.alive & ~died, target=forget(npcs.target),
        attacker=forget(npcs.attacker))), died
