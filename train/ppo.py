"""Fused PPO: rollout of persistent worlds, GAE and minibatch epochs in one jitted update.

PureJaxRL style: `Trainer.train_chunk(runner)` runs `updates_per_chunk`
updates inside one compiled call (`lax.scan` over updates, each a `lax.scan`
over rollout ticks of `vmap`-ed worlds); Python only logs and checkpoints
between chunks.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from flax import struct

import nmmo_jax as nj
from envs.batch import batch_reset, batch_step
from policies.baseline import ActorCritic
from policies.io import Choice, to_actions

from .config import RESUMABLE_CHANGES, TrainConfig
from .gae import gae


@struct.dataclass
class Runner:
    """Everything a run needs to continue exactly: a pytree of arrays."""

    params: Any
    opt_state: Any
    env_state: nj.State  # [W] worlds
    obs: nj.Obs  # [W, A, ...] observation of the current state
    key: jax.Array  # uint32 [2]
    update: jnp.ndarray  # int32 scalar: updates done


@struct.dataclass
class Transition:
    """One rollout tick over all worlds; every field has leading [W, A]."""

    obs: nj.Obs
    choice: Choice
    logp: jnp.ndarray
    value: jnp.ndarray
    reward: jnp.ndarray
    done: jnp.ndarray
    valid: jnp.ndarray  # a living agent acted (empty slots are False)
    lifetime: jnp.ndarray
    cause: jnp.ndarray


def masked_mean(x: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    m = mask.astype(jnp.float32)
    return jnp.sum(x * m) / jnp.maximum(jnp.sum(m), 1.0)


def ppo_loss(model: ActorCritic, tc: TrainConfig, params, batch: dict) -> tuple[jnp.ndarray, dict]:
    """Clipped PPO objective over a minibatch [B, A, ...]; empty slots are masked out."""
    dist, value = model.apply(params, batch["obs"])
    mask = batch["valid"]
    logp = dist.log_prob(batch["choice"])
    adv = batch["adv"]
    mean = masked_mean(adv, mask)
    std = jnp.sqrt(masked_mean((adv - mean) ** 2, mask))
    adv = (adv - mean) / (std + 1e-8)
    log_ratio = logp - batch["logp"]
    ratio = jnp.exp(log_ratio)
    pg = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - tc.clip_eps, 1 + tc.clip_eps) * adv)
    v_clip = batch["value"] + jnp.clip(value - batch["value"], -tc.clip_eps, tc.clip_eps)
    v_loss = 0.5 * jnp.maximum((value - batch["target"]) ** 2, (v_clip - batch["target"]) ** 2)
    entropy = dist.entropy()
    pg_loss, v_loss, ent = masked_mean(pg, mask), masked_mean(v_loss, mask), masked_mean(entropy, mask)
    loss = pg_loss + tc.vf_coef * v_loss - tc.ent_coef * ent
    stats = {"policy_loss": pg_loss, "value_loss": v_loss, "entropy": ent,
             "approx_kl": masked_mean((ratio - 1) - log_ratio, mask),
             "clip_frac": masked_mean((jnp.abs(ratio - 1) > tc.clip_eps).astype(jnp.float32), mask)}
    return loss, stats


@dataclass
class Trainer:
    """The compiled pieces of a run built from a TrainConfig."""

    tc: TrainConfig
    model: ActorCritic
    init: Callable[[jax.Array], Runner]
    train_chunk: Callable[[Runner], tuple[Runner, dict]]


def make_trainer(tc: TrainConfig) -> Trainer:
    """The Trainer of a config; runs differing only in budget share one compilation."""
    return _make_trainer(tc.replace(**{k: getattr(TrainConfig, k) for k in RESUMABLE_CHANGES}))


@functools.lru_cache(maxsize=8)
def _make_trainer(tc: TrainConfig) -> Trainer:
    cfg = tc.env_config
    model = ActorCritic(cfg, width=tc.width, shared=tc.shared_params)
    tx = optax.chain(optax.clip_by_global_norm(tc.max_grad_norm), optax.adam(tc.lr, eps=1e-5))
    w, t = tc.num_worlds, tc.rollout_len
    rows = t * w
    num_minibatches = rows // tc.minibatch_rows

    def init(key: jax.Array) -> Runner:
        k_model, k_env, k_run = jax.random.split(key, 3)
        obs, env_state = batch_reset(k_env, cfg, w)
        params = model.init(k_model, jax.tree.map(lambda x: x[0], obs))
        return Runner(params=params, opt_state=tx.init(params), env_state=env_state, obs=obs,
                      key=k_run, update=jnp.zeros((), jnp.int32))

    def env_tick(params, carry, key):
        env_state, obs = carry
        k_act, k_env = jax.random.split(key)
        dist, value = model.apply(params, obs)
        choice = dist.sample(k_act)
        next_obs, env_state, reward, done, info = batch_step(
            k_env, env_state, to_actions(choice, obs), cfg)
        tr = Transition(obs=obs, choice=choice, logp=dist.log_prob(choice), value=value,
                        reward=reward, done=done, valid=obs.entity_mask[..., 0],
                        lifetime=info["lifetime"], cause=info["death_cause"])
        return (env_state, next_obs), tr

    def update(runner: Runner, _) -> tuple[Runner, dict]:
        key, k_roll, k_perm = jax.random.split(runner.key, 3)
        (env_state, obs), traj = jax.lax.scan(
            lambda c, k: env_tick(runner.params, c, k), (runner.env_state, runner.obs),
            jax.random.split(k_roll, t))
        _, last_value = model.apply(runner.params, obs)
        adv, target = gae(traj.reward, traj.value, traj.done, traj.valid, last_value,
                          tc.gamma, tc.gae_lambda)
        flat = lambda x: x.reshape((rows,) + x.shape[2:])  # [T, W, A, ...] -> [T*W, A, ...]
        data = jax.tree.map(flat, {"obs": traj.obs, "choice": traj.choice, "logp": traj.logp,
                                   "value": traj.value, "valid": traj.valid, "adv": adv,
                                   "target": target})

        def minibatch(carry, idx):
            params, opt_state = carry
            batch = jax.tree.map(lambda x: x[idx], data)
            grads, stats = jax.grad(lambda p: ppo_loss(model, tc, p, batch), has_aux=True)(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), stats

        def epoch(carry, k):
            order = jax.random.permutation(k, rows).reshape(num_minibatches, tc.minibatch_rows)
            return jax.lax.scan(minibatch, carry, order)

        (params, opt_state), stats = jax.lax.scan(
            epoch, (runner.params, runner.opt_state), jax.random.split(k_perm, tc.epochs))
        ended = traj.done & traj.valid
        metrics = {k: v.mean() for k, v in stats.items()}
        metrics.update(
            lives_ended=ended.sum(),
            lifetime_sum=jnp.where(ended, traj.lifetime, 0).sum(),
            alive_mean=traj.valid.sum() / (t * w),
            deaths_lava=(ended & (traj.cause == nj.CAUSE_LAVA)).sum(),
            deaths_starvation=(ended & (traj.cause == nj.CAUSE_STARVATION)).sum(),
            deaths_combat=(ended & (traj.cause == nj.CAUSE_COMBAT)).sum(),
        )
        runner = Runner(params=params, opt_state=opt_state, env_state=env_state, obs=obs,
                        key=key, update=runner.update + 1)
        return runner, metrics

    def train_chunk(runner: Runner) -> tuple[Runner, dict]:
        return jax.lax.scan(update, runner, None, length=tc.updates_per_chunk)

    return Trainer(tc=tc, model=model, init=jax.jit(init), train_chunk=jax.jit(train_chunk))
