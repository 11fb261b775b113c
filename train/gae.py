"""Generalised advantage estimation over agent slots whose lives end and restart."""
from __future__ import annotations

import jax
import jax.numpy as jnp


def gae(reward: jnp.ndarray, value: jnp.ndarray, done: jnp.ndarray, valid: jnp.ndarray,
        last_value: jnp.ndarray, gamma: float, lam: float) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Advantages and value targets, both f32 [T, ...].

    reward, value [T, ...] f32; done [T, ...] bool (the life ended at tick t);
    valid [T, ...] bool (a living agent acted at tick t; empty slots are
    False); last_value [...] f32: the value of the observation after the
    last tick. A death cuts the bootstrap, so a slot's next life never
    leaks into the previous one; invalid ticks get advantage 0 and, because a
    living agent that did not die is always valid on the next tick, never
    feed a valid one.
    """
    not_done = 1.0 - done.astype(jnp.float32)
    mask = valid.astype(jnp.float32)

    def back(carry, x):
        next_adv, next_value = carry
        r, v, nd, m = x
        delta = r + gamma * next_value * nd - v
        adv = m * (delta + gamma * lam * nd * next_adv)
        return (adv, v), adv

    init = (jnp.zeros_like(last_value), last_value)
    _, adv = jax.lax.scan(back, init, (reward, value, not_done, mask), reverse=True)
    return adv, (adv + value) * mask
