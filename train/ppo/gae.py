"""Generalised advantage estimation over agent slots whose lives end and restart."""
from __future__ import annotations

import jax
import jax.numpy as jnp


def gae(reward: jnp.ndarray, value: jnp.ndarray, done: jnp.ndarray, valid: jnp.ndarray,
        last_value: jnp.ndarray, gamma: float, lam: float,
        truncated: jnp.ndarray | None = None, terminal_value: jnp.ndarray | None = None
        ) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Advantages and value targets, both f32 [T, ...].

    reward, value [T, ...] f32; done [T, ...] bool (the life ended at tick t);
    valid [T, ...] bool (a living agent acted at tick t; empty slots are
    False); last_value [...] f32: the value of the observation after the
    last tick. An ended life never bootstraps from the slot's next tick, so a
    slot's next life never leaks into the previous one; invalid ticks get
    advantage 0 and, because a living agent that did not die is always valid
    on the next tick, never feed a valid one.

    truncated [T, ...] bool, terminal_value [T, ...] f32 (optional, together):
    lives cut by a time limit (a world replaced at `--max-ticks`), not by a
    death. Such a life had a future, so its last tick bootstraps from
    terminal_value, the value of the observation it would have acted on
    next, instead of from 0 (the time-limit fix of Pardo et al., 2018).
    """
    not_done = 1.0 - done.astype(jnp.float32)
    mask = valid.astype(jnp.float32)
    if truncated is None:
        cut_value = jnp.zeros_like(reward)
    else:
        cut_value = jnp.where(truncated, terminal_value, 0.0)

    def back(carry, x):
        next_adv, next_value = carry
        r, v, nd, m, cut = x
        delta = r + gamma * (next_value * nd + cut) - v
        adv = m * (delta + gamma * lam * nd * next_adv)
        return (adv, v), adv

    init = (jnp.zeros_like(last_value), last_value)
    _, adv = jax.lax.scan(back, init, (reward, value, not_done, mask, cut_value), reverse=True)
    return adv, (adv + value) * mask
