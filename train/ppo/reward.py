"""Training-only reward shaping: the game's reward (docs/rules.md §4) stays as it is.

Under v1.3's individual reward a kill costs the attacker nothing and a hit
feeds it, so PPO drifts into fighting that shortens everyone's lives.
`kill_penalty` charges the whole penalty to every agent whose attack this
tick named an agent that died in combat this tick (`kills`): two attackers
of one victim pay it twice over, not a share each, and an attacker is
charged whether or not its own hit landed or was the one that killed.
`vitals_bonus` is potential-based shaping (Ng, Harada and Russell, 1999) on
the agent's own food, water and health: it pays eating and drinking when
they happen instead of only through a death many ticks later, and, being a
difference of potentials, it leaves the best policy of the game's reward
unchanged.
"""
from __future__ import annotations

import jax.numpy as jnp

import nmmo_jax as nj

_VITALS = tuple(nj.ENTITY_FEATURES.index(name) for name in ("food", "water", "health"))


def kills(target: jnp.ndarray, done: jnp.ndarray, cause: jnp.ndarray) -> jnp.ndarray:
    """float32 [..., A]: 1 where the agent's attack this tick named another agent
    that died in combat this tick (every attacker of a victim is counted). NPCs
    are not agents: killing one costs nothing.

    target [..., A] int: the slot each agent attacked (its own slot = no attack;
    slots >= A are NPCs); done, cause [..., A]: the step's done flags and death causes.
    """
    killed = done & (cause == nj.CAUSE_COMBAT)
    a = target.shape[-1]
    own = jnp.arange(a)
    agent = target < a
    named = jnp.take_along_axis(killed, jnp.where(agent, target, own).astype(jnp.int32), axis=-1)
    return (named & agent & (target != own)).astype(jnp.float32)


def shaped(reward: jnp.ndarray, target: jnp.ndarray, done: jnp.ndarray, cause: jnp.ndarray,
           kill_penalty: float) -> jnp.ndarray:
    """float32 [..., A]: the game's reward minus kill_penalty per kill."""
    if not kill_penalty:
        return reward
    return reward - kill_penalty * kills(target, done, cause)


def vitals_potential(obs: nj.Obs) -> jnp.ndarray:
    """float32 [..., A]: the mean of each agent's own food, water and health as
    fractions of their max (its observation row 0), in [0, 1]; 0 for an empty slot."""
    own = obs.entities[..., 0, :]
    phi = jnp.mean(own[..., _VITALS], axis=-1)
    return jnp.where(obs.entity_mask[..., 0], phi, 0.0)


def vitals_bonus(obs: nj.Obs, next_obs: nj.Obs, done: jnp.ndarray, gamma: float) -> jnp.ndarray:
    """float32 [..., A]: gamma * phi(next) - phi(now) with phi = `vitals_potential`
    and phi(next) = 0 where `done` (the agent died this tick). A life cut by a
    world reset is not done here: it goes on in the value it bootstraps from."""
    after = jnp.where(done, 0.0, vitals_potential(next_obs))
    return gamma * after - vitals_potential(obs)


def training_reward(reward: jnp.ndarray, target: jnp.ndarray, done: jnp.ndarray,
                    cause: jnp.ndarray, obs: nj.Obs, next_obs: nj.Obs, *, kill_penalty: float,
                    vitals_shaping: float, gamma: float) -> jnp.ndarray:
    """float32 [..., A]: the reward PPO learns from, the game's reward with both
    shapings (`shaped`, then `vitals_shaping` * `vitals_bonus`); each is skipped at 0.

    done [..., A]: the agents that died this tick (not lives cut by a world
    reset); next_obs: the observation the step produced, before any world
    reset (`info["terminal_obs"]` of envs.batch)."""
    reward = shaped(reward, target, done, cause, kill_penalty)
    if vitals_shaping:
        reward = reward + vitals_shaping * vitals_bonus(obs, next_obs, done, gamma)
    return reward
