"""Combat (docs/rules.md §3.6): simultaneous attacks with hit rolls, damage, XP, freeze."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import rng
from ..config import Config
from ..params import Params
from ..state import CONSTITUTION, DEFENSE, MAGE, MELEE_SKILL, NUM_STYLES, State
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


def combat(key: jax.Array, state: State, style: jnp.ndarray, target: jnp.ndarray,
           active: jnp.ndarray, config: Config, params: Params) -> tuple[State, dict]:
    """Resolve every agent's attack on the post-move state, all at once.

    key: a PRNG key or a uint32 seed (`rng.seed_of`).
    style, target [A] int32. An attack happens when the attacker is active,
    the style is 0..2, the target is another slot that is alive, not immune
    and within the style's Chebyshev range; it hits with probability
    hit_base + (L_style - L_defense) / hit_level_divisor.

    Returns (state, info) with info attack_target [A] int32 (the slot each
    agent attacked, its own slot when it made no attack) and attack_hit [A]
    bool (the attack landed).
    """
    ag = state.agents
    a = config.num_agents
    slots = jnp.arange(a, dtype=jnp.int32)
    valid_style = (style >= 0) & (style < NUM_STYLES)
    s = jnp.clip(style, 0, NUM_STYLES - 1)
    valid_target = (target >= 0) & (target < a) & (target != slots)
    t = jnp.clip(target, 0, a - 1)
    reach = params.style_ranges[s]
    attacks = (active & valid_style & valid_target & ag.alive[t] & (ag.immune[t] == 0)
               & (chebyshev(ag.pos, ag.pos[t]) <= reach))

    levels = level(ag.xp, config)  # [A, 7]
    att_level = jnp.take_along_axis(levels, (MELEE_SKILL + s)[:, None], 1)[:, 0]
    chance = params.hit_base + (att_level - levels[t, DEFENSE]) / params.hit_level_divisor
    hits = attacks & (rng.uniform(rng.seed_of(key), slots) < chance)
    dealt = jnp.where(hits, style_damage(s, att_level, params), 0)  # [A] by attacker
    received = jnp.zeros(a, jnp.int32).at[t].add(dealt)
    frozen = jnp.zeros(a, bool).at[t].max(hits & (s == MAGE))

    # Gains and losses of the tick are applied at once, clipped to [0, max].
    # A hit feeds the attacker: it gains the damage it dealt as food and water,
    # even beyond what the target had (docs/rules.md §3.6).
    max_health, max_food, max_water = max_vitals(levels)
    health = jnp.clip(ag.health - received, 0, max_health)
    food = jnp.clip(ag.food - received + dealt, 0, max_food)
    water = jnp.clip(ag.water - received + dealt, 0, max_water)

    style_xp = jax.nn.one_hot(s, NUM_STYLES, dtype=jnp.int32) * (params.xp_combat_per_damage * dealt)[:, None]
    xp = ag.xp.at[:, MELEE_SKILL:MELEE_SKILL + NUM_STYLES].add(style_xp)
    xp = xp.at[:, CONSTITUTION].add(params.xp_constitution_per_damage * (dealt + received))
    xp = xp.at[:, DEFENSE].add(params.xp_defense_per_damage * received)
    state = state.replace(agents=ag.replace(
        health=health, food=food, water=water, xp=xp, damage=received,
        freeze=jnp.where(frozen, params.freeze_ticks, ag.freeze)))
    return state, {"attack_target": jnp.where(attacks, t, slots), "attack_hit": hits}
