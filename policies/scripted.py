"""Scripted, jittable baselines with the learned policy's call shape: (key, obs) -> Actions."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from nmmo_jax import Actions, Obs


def masked_choice(key: jax.Array, mask: jnp.ndarray) -> jnp.ndarray:
    """Uniform index over the True entries of mask [..., N] (int32 [...])."""
    return jax.random.categorical(key, jnp.where(mask, 0.0, -jnp.inf)).astype(jnp.int32)


def random_policy(key: jax.Array, obs: Obs) -> Actions:
    """Uniform over valid moves, styles and that style's valid targets."""
    k_move, k_style, k_target = jax.random.split(key, 3)
    a = obs.move_mask.shape[0]
    move = masked_choice(k_move, obs.move_mask)
    style = jax.random.randint(k_style, (a,), 0, obs.target_mask.shape[1], jnp.int32)
    rows = jnp.take_along_axis(obs.target_mask, style[:, None, None], 1)[:, 0]
    index = masked_choice(k_target, rows)
    target = jnp.take_along_axis(obs.entity_slot, index[:, None], 1)[:, 0]
    return Actions(move=move, style=style, target=target)
