"""The clipped PPO objective of a minibatch, with advantages normalised over all its shares."""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax.numpy as jnp

from policies.baseline import ActorCritic

from .config import PPOConfig


class AdvantageNorm(NamedTuple):
    """Statistics of a minibatch's advantages over its valid rows: f32 scalars
    (or [epochs, num_minibatches] for every minibatch of an update)."""

    mean: jnp.ndarray
    std: jnp.ndarray
    count: jnp.ndarray  # valid rows


def advantage_norm(adv: jnp.ndarray, valid: jnp.ndarray,
                   total: Callable[[jnp.ndarray], jnp.ndarray] = lambda x: x) -> AdvantageNorm:
    """The AdvantageNorm of a minibatch: adv f32 [...], valid bool [...]. `total` adds a
    sum up across the holders of the minibatch's shares (`world_sum` inside the
    trainer's shard_map; the identity for a minibatch held whole)."""
    m = valid.astype(jnp.float32)
    count, weighted = total(jnp.stack([m.sum(), jnp.sum(adv * m)]))
    mean = weighted / jnp.maximum(count, 1.0)
    std = jnp.sqrt(total(jnp.sum((adv - mean) ** 2 * m)) / jnp.maximum(count, 1.0))
    return AdvantageNorm(mean, std, count)


def ppo_loss(model: ActorCritic, cfg: PPOConfig, params, batch: dict,
             norm: AdvantageNorm | None = None) -> tuple[jnp.ndarray, dict]:
    """Clipped PPO objective over a minibatch [B, A, ...]; empty slots are masked out.

    batch: inputs, choice, logp, value, valid, adv and target, each [B, A, ...].
    Every term is a sum over the valid rows divided by `norm.count`, and the
    advantages are normalised by `norm`'s mean and std: the statistics of the
    whole minibatch, of which `batch` may be one device's share (then the
    devices' losses and gradients add up to the minibatch's). None: `batch`
    is the whole minibatch. Returns (loss f32 scalar, its statistics).
    """
    mask = batch["valid"].astype(jnp.float32)
    if norm is None:
        norm = advantage_norm(batch["adv"], batch["valid"])
    mean_of = lambda x: jnp.sum(x * mask) / jnp.maximum(norm.count, 1.0)
    dist, value = model.apply_inputs(params, batch["inputs"])
    logp = dist.log_prob(batch["choice"])
    adv = (batch["adv"] - norm.mean) / (norm.std + 1e-8)
    log_ratio = logp - batch["logp"]
    ratio = jnp.exp(log_ratio)
    pg = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - cfg.clip_eps, 1 + cfg.clip_eps) * adv)
    v_clip = batch["value"] + jnp.clip(value - batch["value"], -cfg.clip_eps, cfg.clip_eps)
    v_loss = 0.5 * jnp.maximum((value - batch["target"]) ** 2, (v_clip - batch["target"]) ** 2)
    pg_loss, v_loss, ent = mean_of(pg), mean_of(v_loss), mean_of(dist.entropy())
    loss = pg_loss + cfg.vf_coef * v_loss - cfg.ent_coef * ent
    stats = {"policy_loss": pg_loss, "value_loss": v_loss, "entropy": ent,
             "approx_kl": mean_of((ratio - 1) - log_ratio),
             "clip_frac": mean_of((jnp.abs(ratio - 1) > cfg.clip_eps).astype(jnp.float32))}
    return loss, stats
