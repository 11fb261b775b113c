"""Training-only reward shaping: the game's reward (RULES.md §4) stays as it is.

Under v1.3's individual reward a kill costs the attacker nothing and a hit
feeds it, so PPO drifts into fighting that shortens everyone's lives.
`kill_penalty` charges an attacker a share of its victim's death.
"""
from __future__ import annotations

import jax.numpy as jnp

import nmmo_jax as nj


def kills(target: jnp.ndarray, done: jnp.ndarray, cause: jnp.ndarray) -> jnp.ndarray:
    """float32 [..., A]: 1 where the agent's attack this tick named another agent
    that died in combat this tick (every attacker of a victim is counted).

    target [..., A] int: the slot each agent attacked (its own slot = no attack);
    done, cause [..., A]: the step's done flags and death causes.
    """
    killed = done & (cause == nj.CAUSE_COMBAT)
    own = jnp.arange(target.shape[-1])
    named = jnp.take_along_axis(killed, target.astype(jnp.int32), axis=-1)
    return (named & (target != own)).astype(jnp.float32)


def shaped(reward: jnp.ndarray, target: jnp.ndarray, done: jnp.ndarray, cause: jnp.ndarray,
           kill_penalty: float) -> jnp.ndarray:
    """float32 [..., A]: the game's reward minus kill_penalty per kill."""
    if not kill_penalty:
        return reward
    return reward - kill_penalty * kills(target, done, cause)
