"""Combat (docs/rules.md §3.6, §9.4): simultaneous attacks with hit rolls, damage, XP, freeze.

One rule for every body. With NPCs on, agents and NPCs fight in one space of
A + N slots (`Config.num_slots`; NPC j is slot A + j): the same range check,
hit roll, damage by level, freeze and clipping serve both, through
`resolve_attacks` and `apply_hits` below. Only agents gain XP, and only
hits on agents feed the attacker: an NPC carries no food or water to take
(as in nmmo 2.1.2, where no hit feeds anyone; docs/rules.md §9.4).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import rng
from ..config import Config
from ..params import Params
from ..state import CONSTITUTION, DEFENSE, MAGE, MELEE_SKILL, NUM_SKILLS, NUM_STYLES, State
from .equipment import equipment_defense, equipment_offense, fire_ammunition
from .skills import level, max_vitals


def chebyshev(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    """Chebyshev distance between positions [..., 2]."""
    return jnp.max(jnp.abs(a - b), axis=-1)


def style_damage(style: jnp.ndarray, style_level: jnp.ndarray, params: Params) -> jnp.ndarray:
    """int32 damage of a hit: floor(base + per_level * level / 99) for each style."""
    table = params.style_damage  # [3, 2]
    base, per_level = table[style, 0], table[style, 1]
    div = params.damage_level_divisor
    # One division of an exact numerator keeps integer results exact in float32.
    return jnp.floor((base * div + per_level * style_level) / div).astype(jnp.int32)


class Fighters(NamedTuple):
    """Every body that can fight, S slots: pos [S, 2], alive, immune [S],
    levels [S, 7] (SKILL_NAMES order; the constitution, hunting and fishing
    columns are the maxima of health, food and water), health, food, water,
    freeze [S]. Agents first, then NPCs when they are on."""

    pos: jnp.ndarray
    alive: jnp.ndarray
    immune: jnp.ndarray
    levels: jnp.ndarray
    health: jnp.ndarray
    food: jnp.ndarray
    water: jnp.ndarray
    freeze: jnp.ndarray


class Resolved(NamedTuple):
    """The tick's attacks, per attacker slot [S]: attacks (it happened), style,
    target (clipped), hits, dealt (damage); per target slot [S]: received,
    frozen (a mage hit landed on it)."""

    attacks: jnp.ndarray
    style: jnp.ndarray
    target: jnp.ndarray
    hits: jnp.ndarray
    dealt: jnp.ndarray
    received: jnp.ndarray
    frozen: jnp.ndarray


class Gear(NamedTuple):
    """Equipment's part of combat with items on (docs/rules.md §10.2), per slot:
    offense [S, 3] int32 (added to each style's damage), defense [S] int32."""

    offense: jnp.ndarray
    defense: jnp.ndarray


def resolve_attacks(slots: jnp.ndarray, rolls: jnp.ndarray, f: Fighters, style: jnp.ndarray,
                    target: jnp.ndarray, active: jnp.ndarray, params: Params,
                    gear: Gear | None = None) -> Resolved:
    """Decide every attack on the post-move state, all at once.

    slots [S] int32: 0 .. S - 1; rolls [S] float32: each attacker's uniform
    draw in [0, 1); style, target, active [S]. An attack happens when the attacker is active, the style is
    0..2, the target is another slot that is alive, not immune and within
    the style's Chebyshev range; it hits when its roll is below
    hit_base + (L_style - L_defense) / hit_level_divisor. With gear (items
    on) a hit deals max(offense - defense, floor(min_damage_fraction *
    offense)), offense being the style's damage plus the attacker's gear
    offense in that style and defense the target's gear defense.
    """
    s_count = f.alive.shape[0]
    valid_style = (style >= 0) & (style < NUM_STYLES)
    s = jnp.clip(style, 0, NUM_STYLES - 1)
    valid_target = (target >= 0) & (target < s_count) & (target != slots)
    t = jnp.clip(target, 0, s_count - 1)
    reach = params.style_ranges[s]
    attacks = (active & valid_style & valid_target & f.alive[t] & (f.immune[t] == 0)
               & (chebyshev(f.pos, f.pos[t]) <= reach))

    att_level = jnp.take_along_axis(f.levels, (MELEE_SKILL + s)[:, None], 1)[:, 0]
    chance = params.hit_base + (att_level - f.levels[t, DEFENSE]) / params.hit_level_divisor
    hits = attacks & (rolls < chance)
    damage = style_damage(s, att_level, params)
    if gear is not None:  # nmmo 2.1.2's alt_combat_damage_formula, multiplier 1
        offense = damage + jnp.take_along_axis(gear.offense, s[:, None], 1)[:, 0]
        least = jnp.floor(params.min_damage_fraction * offense).astype(jnp.int32)
        damage = jnp.maximum(offense - gear.defense[t], least)
    dealt = jnp.where(hits, damage, 0)  # [S] by attacker
    received = jnp.zeros(s_count, jnp.int32).at[t].add(dealt)
    frozen = jnp.zeros(s_count, bool).at[t].max(hits & (s == MAGE))
    return Resolved(attacks, s, t, hits, dealt, received, frozen)


def killers(r: Resolved) -> jnp.ndarray:
    """int32 [S]: per slot, the attacker that dealt it the most damage this tick
    (ties: the lowest slot); S where none dealt it any."""
    s_count = r.dealt.shape[0]
    slots = jnp.arange(s_count, dtype=jnp.int32)
    most = jnp.zeros(s_count, jnp.int32).at[r.target].max(r.dealt)
    top = (r.dealt > 0) & (r.dealt == most[r.target])
    return jnp.full(s_count, s_count, jnp.int32).at[r.target].min(jnp.where(top, slots, s_count))


def apply_hits(f: Fighters, r: Resolved, params: Params, fed: jnp.ndarray | None = None
               ) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """(health, food, water, freeze) [S] after the tick's hits, applied at once.

    Gains and losses are clipped to [0, max]. A hit feeds the attacker: it
    gains `fed` [S] (default: all it dealt) as food and water, even beyond
    what the target had (docs/rules.md §3.6). A mage hit sets the target's freeze.
    """
    fed = r.dealt if fed is None else fed
    max_health, max_food, max_water = max_vitals(f.levels)
    health = jnp.clip(f.health - r.received, 0, max_health)
    food = jnp.clip(f.food - r.received + fed, 0, max_food)
    water = jnp.clip(f.water - r.received + fed, 0, max_water)
    freeze = jnp.where(r.frozen, params.freeze_ticks, f.freeze)
    return health, food, water, freeze


def combat_xp(xp: jnp.ndarray, style: jnp.ndarray, dealt: jnp.ndarray, received: jnp.ndarray,
              params: Params) -> jnp.ndarray:
    """Agents' xp [A, 7] after the tick's combat: the style used gains per point
    dealt, constitution per point dealt and received, defense per point received."""
    per_style = jax.nn.one_hot(style, NUM_STYLES, dtype=jnp.int32)
    style_xp = per_style * (params.xp_combat_per_damage * dealt)[:, None]
    xp = xp.at[:, MELEE_SKILL:MELEE_SKILL + NUM_STYLES].add(style_xp)
    xp = xp.at[:, CONSTITUTION].add(params.xp_constitution_per_damage * (dealt + received))
    return xp.at[:, DEFENSE].add(params.xp_defense_per_damage * received)


def npc_levels(npcs, params: Params) -> jnp.ndarray:
    """int32 [N, 7]: an NPC's levels as combat reads them (docs/rules.md §9.4).

    Its style's level and its defense are its level, its other styles level
    1; the constitution column holds its maximum health (`Params.npc_health`),
    the hunting and fishing columns 0 (it has no food or water).
    """
    n = npcs.level.shape[0]
    mine = jax.nn.one_hot(npcs.style, NUM_STYLES, dtype=bool)
    styles = jnp.where(mine, npcs.level[:, None], 1)
    health = jnp.full((n, 1), params.npc_health, jnp.int32)
    return jnp.concatenate([health, styles, npcs.level[:, None],
                            jnp.zeros((n, NUM_SKILLS - 2 - NUM_STYLES), jnp.int32)], axis=1)


def combat(key: jax.Array, state: State, style: jnp.ndarray, target: jnp.ndarray,
           active: jnp.ndarray, config: Config, params: Params,
           npc_intent: tuple[jnp.ndarray, ...] | None = None
           ) -> tuple[State, dict]:
    """Resolve every attack of the tick (agents', and NPCs' when on) at once.

    key: a PRNG key or a uint32 seed (`rng.seed_of`): the agents' hit rolls.
    style, target, active [A]: the agents' attacks; target in the space of
    `config.num_slots` slots. npc_intent: (rolls, style, target, active) [N]
    of the NPCs (systems/npc.py; rolls from the NPC stream, so the agents'
    draws are the same with or without NPCs), required when config.num_npcs > 0.

    Returns (state, info) with info attack_target [A] int32 (the slot each
    agent attacked, its own slot when it made no attack) and attack_hit [A]
    bool (the attack landed); with NPCs also npc_attack_target [N] (the slot
    each NPC attacked, its own slot A + j when none), npc_attack_hit [N] and
    npc_damage [A] (what each agent received from NPCs, for the death cause).
    With items on (docs/rules.md §10.2) equipment adds to damage and defence,
    every attack fires ammunition of its style, and info also holds killer
    [S] (`killers`, for the loot) and ammunition_fired [A] (units).
    """
    ag = state.agents
    agent_slots = jnp.arange(config.num_agents, dtype=jnp.int32)
    rolls = rng.uniform(rng.seed_of(key), agent_slots)
    levels = level(ag.xp, config)  # [A, 7]
    gear = None
    if config.inventory_slots:
        gear = Gear(equipment_offense(state.items, params), equipment_defense(state.items, params))
    if not config.num_npcs:  # v1.3: the agents alone
        f = Fighters(ag.pos, ag.alive, ag.immune, levels, ag.health, ag.food, ag.water, ag.freeze)
        r = resolve_attacks(agent_slots, rolls, f, style, target, active, params, gear)
        health, food, water, freeze = apply_hits(f, r, params)
        state = state.replace(agents=ag.replace(
            health=health, food=food, water=water, damage=r.received, freeze=freeze,
            xp=combat_xp(ag.xp, r.style, r.dealt, r.received, params)))
        info = {"attack_target": jnp.where(r.attacks, r.target, agent_slots),
                "attack_hit": r.hits}
        return _fire(state, r, info, config) if gear is not None else (state, info)

    npcs, a = state.npcs, config.num_agents
    npc_rolls, npc_style, npc_target, npc_active = npc_intent
    zeros = jnp.zeros(config.num_npcs, jnp.int32)
    join = lambda x, y: jnp.concatenate([x, y], axis=0)
    f = Fighters(join(ag.pos, npcs.pos), join(ag.alive, npcs.alive), join(ag.immune, zeros),
                 join(levels, npc_levels(npcs, params)), join(ag.health, npcs.health),
                 join(ag.food, zeros), join(ag.water, zeros), join(ag.freeze, npcs.freeze))
    slots = jnp.arange(config.num_slots, dtype=jnp.int32)
    if gear is not None:  # NPCs wear nothing
        gear = Gear(join(gear.offense, jnp.zeros((config.num_npcs, NUM_STYLES), jnp.int32)),
                    join(gear.defense, zeros))
    r = resolve_attacks(slots, join(rolls, npc_rolls), f, join(style, npc_style),
                        join(target, npc_target), join(active, npc_active), params, gear)
    fed = jnp.where(r.target < a, r.dealt, 0)  # an NPC has no food or water to take
    health, food, water, freeze = apply_hits(f, r, params, fed)
    by_agent = r.attacks & (slots < a)
    # Neutral and hostile NPCs answer the agent that attacked them (hit or miss);
    # of several, the highest slot (nmmo: the last attacker in id order).
    attacker = jnp.full(config.num_slots, -1, jnp.int32).at[r.target].max(
        jnp.where(by_agent, slots, -1))[a:]
    from_npcs = jnp.zeros(config.num_slots, jnp.int32).at[r.target].add(
        jnp.where(slots >= a, r.dealt, 0))[:a]
    state = state.replace(
        agents=ag.replace(health=health[:a], food=food[:a], water=water[:a],
                          damage=r.received[:a], freeze=freeze[:a],
                          xp=combat_xp(ag.xp, r.style[:a], r.dealt[:a], r.received[:a], params)),
        npcs=npcs.replace(health=health[a:], damage=r.received[a:], freeze=freeze[a:],
                          attacker=attacker))
    target_or_self = jnp.where(r.attacks, r.target, slots)
    info = {"attack_target": target_or_self[:a], "attack_hit": r.hits[:a],
            "npc_attack_target": target_or_self[a:], "npc_attack_hit": r.hits[a:],
            "npc_damage": from_npcs}
    return _fire(state, r, info, config) if gear is not None else (state, info)


def _fire(state: State, r: Resolved, info: dict, config: Config) -> tuple[State, dict]:
    """The agents' attacks fire their ammunition (`fire_ammunition`); info gains
    killer [S] and ammunition_fired [A]."""
    a = config.num_agents
    items, fired = fire_ammunition(state.items, r.style[:a], r.attacks[:a])
    return state.replace(items=items), {**info, "killer": killers(r), "ammunition_fired": fired}
