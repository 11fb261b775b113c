"""One PPO update of one device's share of the worlds: rollout, GAE, minibatch epochs.

Written for the trainer's `shard_map` over the "worlds" mesh axis (see
train.ppo.trainer): each device steps, stores and differentiates its own
worlds, and the only communication is explicit (`world_sum`): the rollout's
metrics, the advantage statistics (twice per update) and one flat sum of
gradients and loss statistics per minibatch. On one device the sums are over
that device alone. World w draws its random numbers from key w whatever the
number of devices, so a run on D devices computes what the 1-device run
computes up to float summation order. Minibatches are slices of rollout ticks
holding every world, so each device works on its own worlds throughout.

The rollout stores the network's `Inputs` (made by `ActorCritic.prepare` once
per tick, navigation features included), not the raw observations, so the
epochs do not prepare them again.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

import nmmo_jax as nj
from envs.batch import world_keys
from policies.baseline import ActorCritic
from policies.io import Choice, Inputs, to_actions

from ..evaluation.matches import ITEM_SUMS, item_log
from ..evaluation.population import PER_LIVING_AGENT
from .collectives import world_sum, world_sum_flat
from .config import PPOConfig
from .gae import gae
from .loss import AdvantageNorm, advantage_norm, ppo_loss
from .reward import training_reward
from .worlds import Worlds


@struct.dataclass
class Runner:
    """Everything a run needs to continue exactly: a pytree of arrays."""

    params: Any
    opt_state: Any
    env_state: nj.State  # [W] worlds
    obs: nj.Obs  # [W, A, ...] observation of the current state
    key: jax.Array  # uint32 [2]
    update: jnp.ndarray  # int32 scalar: updates done
    # Each world's numbers, Params [W], with --randomize (redrawn when a world is
    # replaced); None otherwise (every world plays the run's fixed numbers).
    game: nj.Params | None = None


@struct.dataclass
class Transition:
    """One rollout tick over all worlds; every field has leading [W, A]."""

    inputs: Inputs
    choice: Choice
    logp: jnp.ndarray
    value: jnp.ndarray
    reward: jnp.ndarray
    done: jnp.ndarray
    valid: jnp.ndarray  # a living agent acted (empty slots are False)
    truncated: jnp.ndarray  # the life was cut by a world reset (done, but not a death)
    terminal_value: jnp.ndarray  # value of the old world's last observation where truncated, else 0
    lifetime: jnp.ndarray
    cause: jnp.ndarray
    # With NPCs on: info["npc_kill"], the agent hit an NPC that died this tick (for the
    # logged npc_kills only; nothing learns from it). None without NPCs.
    npc_kill: jnp.ndarray | None = None
    # With items on: int32 [W, A, 3], each living agent's equipped level, gold and
    # harvests this tick (`item_log`; logged only). None without items.
    items: jnp.ndarray | None = None


@dataclass(frozen=True)
class PPO:
    """The pieces of one PPO update: settings, worlds, network and optimizer."""

    config: PPOConfig
    worlds: Worlds
    model: ActorCritic
    tx: optax.GradientTransformation

    def init(self, key: jax.Array) -> Runner:
        """A fresh run: parameters, optimizer state and `worlds.count` new worlds."""
        k_model, k_env, k_run = jax.random.split(key, 3)
        obs, env_state, game = self.worlds.reset(k_env)
        params = self.model.init(k_model, jax.tree.map(lambda x: x[0], obs))
        return Runner(params=params, opt_state=self.tx.init(params), env_state=env_state,
                      obs=obs, key=k_run, update=jnp.zeros((), jnp.int32), game=game)

    def orders(self, key: jax.Array) -> jnp.ndarray:
        """int32 [epochs, num_minibatches, ticks per minibatch]: the rollout ticks of
        each minibatch; every minibatch holds those ticks of every world."""
        cfg = self.config
        per = cfg.rollout_len // cfg.num_minibatches
        perm = lambda k: jax.random.permutation(k, cfg.rollout_len).reshape(cfg.num_minibatches,
                                                                            per)
        return jax.vmap(perm)(jax.random.split(key, cfg.epochs))

    def terminal_value(self, params, info: dict, game: nj.Params | None) -> jnp.ndarray:
        """f32 [W/D, A]: the value of `info["terminal_obs"]` (of worlds that played the
        numbers `game`) where a life was truncated, else 0. Worlds are replaced once
        every max_ticks ticks, so the extra forward pass runs only on ticks where some
        world of this device was replaced."""
        truncated = info["truncated"]
        return jax.lax.cond(
            truncated.any(),
            lambda obs: jnp.where(truncated, self.model.apply(params, obs, game)[1], 0.0),
            lambda obs: jnp.zeros(truncated.shape, jnp.float32),
            info["terminal_obs"])

    def rollout(self, params, env_state: nj.State, obs: nj.Obs, key: jax.Array,
                game: nj.Params | None = None
                ) -> tuple[nj.State, nj.Obs, nj.Params | None, dict, dict]:
        """Play rollout_len ticks of this device's worlds (env_state [W/D, ...]; game:
        their numbers, Params [W/D], when randomizing, else None).

        Returns (env_state, obs, game, data, metrics): game as redrawn for the worlds
        replaced meanwhile; data holds inputs, choice, logp, value, valid, adv and
        target with leading [W/D, T, A]; metrics are sums over all devices' worlds
        (int32 scalars): lives_ended, lifetime_sum, alive_sum, deaths_lava,
        deaths_starvation, deaths_combat and, with NPCs on only, npc_kills (agents'
        kills of NPCs as info["npc_kill"] reports them: each agent that hit an NPC
        in the tick it died) and npc_deaths (deaths with cause npc), with items on
        only ITEM_SUMS (`item_log` summed over agent-ticks). The metrics are
        only reported: nothing learned depends on them.
        """
        model, cfg = self.model, self.config
        sample = jax.vmap(lambda dist, k: dist.sample(k))  # world w samples with its key

        def tick(carry, k):
            env_state, obs, game = carry
            k_act, k_env = jax.random.split(k)
            numbers = self.worlds.params(game)  # the numbers obs was played with
            inputs = model.prepare(obs, numbers)
            dist, value = model.apply_inputs(params, inputs)
            choice = sample(dist, world_keys(k_act, self.worlds.count))
            actions = to_actions(choice, obs)
            next_obs, env_state, reward, done, info, game = self.worlds.step(
                k_env, env_state, actions, game)
            # A world replaced at max_ticks cuts its living agents' lives without a
            # death: the reward sees the old world's last observation (terminal_obs)
            # and those lives bootstrap from its value in `gae`.
            truncated = info["truncated"]
            reward = training_reward(reward, actions.target, done & ~truncated,
                                     info["death_cause"], obs, info["terminal_obs"],
                                     kill_penalty=cfg.kill_penalty,
                                     vitals_shaping=cfg.vitals_shaping, gamma=cfg.gamma)
            tr = Transition(inputs=inputs, choice=choice, logp=dist.log_prob(choice), value=value,
                            reward=reward, done=done, valid=obs.entity_mask[..., 0],
                            truncated=truncated,
                            terminal_value=self.terminal_value(params, info, numbers),
                            lifetime=info["lifetime"], cause=info["death_cause"],
                            npc_kill=info.get("npc_kill"),
                            items=(jax.vmap(item_log)(env_state.items, info["alive"],
                                                      info.get("harvested"))
                                   if self.worlds.env.inventory_slots else None))
            return (env_state, next_obs, game), tr

        (env_state, obs, game), traj = jax.lax.scan(
            tick, (env_state, obs, game), jax.random.split(key, cfg.rollout_len))
        _, last_value = model.apply(params, obs, self.worlds.params(game))
        adv, target = gae(traj.reward, traj.value, traj.done, traj.valid, last_value,
                          cfg.gamma, cfg.gae_lambda, traj.truncated, traj.terminal_value)
        # [T, W, A, ...] -> [W, T, A, ...]: a minibatch of ticks then flattens to rows
        # world-major.
        data = jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), {
            "inputs": traj.inputs, "choice": traj.choice, "logp": traj.logp, "value": traj.value,
            "valid": traj.valid, "adv": adv, "target": target})
        ended = traj.done & traj.valid & ~traj.truncated  # deaths; a world reset is not one
        sums = dict(
            lives_ended=ended.sum(),
            lifetime_sum=jnp.where(ended, traj.lifetime, 0).sum(),
            alive_sum=traj.valid.sum(),
            deaths_lava=(ended & (traj.cause == nj.CAUSE_LAVA)).sum(),
            deaths_starvation=(ended & (traj.cause == nj.CAUSE_STARVATION)).sum(),
            deaths_combat=(ended & (traj.cause == nj.CAUSE_COMBAT)).sum(),
        )
        if traj.npc_kill is not None:  # NPCs on (Config.num_npcs > 0)
            sums |= dict(npc_kills=traj.npc_kill.sum(),
                         npc_deaths=(ended & (traj.cause == nj.CAUSE_NPC)).sum())
        if traj.items is not None:  # items on (Config.inventory_slots > 0)
            sums |= dict(zip(ITEM_SUMS, traj.items.sum(axis=(0, 1, 2))))
        total = world_sum(jnp.stack([v.astype(jnp.int32) for v in sums.values()]))
        return env_state, obs, game, data, dict(zip(sums, total))

    def norms(self, data: dict, orders: jnp.ndarray) -> AdvantageNorm:
        """The AdvantageNorm [epochs, num_minibatches] of every minibatch of `orders`,
        over all devices' worlds, in two sums (vmap batches the minibatches' sums)."""
        one = lambda ticks: advantage_norm(data["adv"][:, ticks], data["valid"][:, ticks],
                                           world_sum)
        return jax.vmap(jax.vmap(one))(orders)

    def grads(self, params, data: dict, ticks: jnp.ndarray, norm: AdvantageNorm
              ) -> tuple[Any, dict]:
        """Gradient of the PPO loss and its statistics on the minibatch of rollout ticks
        `ticks` [k] of every world (summed over devices in one all-reduce)."""
        w = data["valid"].shape[0]
        batch = jax.tree.map(lambda x: x[:, ticks].reshape((w * ticks.shape[0],) + x.shape[2:]),
                             data)
        loss = lambda p: ppo_loss(self.model, self.config, p, batch, norm)
        return world_sum_flat(jax.grad(loss, has_aux=True)(params))

    def apply(self, params, opt_state, grads) -> tuple[Any, Any]:
        """One optimizer step: (params, opt_state)."""
        updates, opt_state = self.tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    def update(self, runner: Runner, _=None) -> tuple[Runner, dict]:
        """One update of this device's worlds (a `lax.scan` body): the runner after it
        and its per-update metrics (`summarize`)."""
        key, k_roll, k_perm = jax.random.split(runner.key, 3)
        env_state, obs, game, data, metrics = self.rollout(
            runner.params, runner.env_state, runner.obs, k_roll, runner.game)
        orders = self.orders(k_perm)
        norms = self.norms(data, orders)

        def minibatch(carry, x):
            params, opt_state = carry
            grads, stats = self.grads(params, data, *x)
            return self.apply(params, opt_state, grads), stats

        (params, opt_state), stats = jax.lax.scan(
            lambda carry, x: jax.lax.scan(minibatch, carry, x),
            (runner.params, runner.opt_state), (orders, norms))
        runner = Runner(params=params, opt_state=opt_state, env_state=env_state, obs=obs,
                        key=key, update=runner.update + 1, game=game)
        return runner, summarize(stats, metrics, self.config.rollout_len * self.worlds.count)


def summarize(stats: dict, metrics: dict, agent_ticks: int) -> dict:
    """Per-update metrics: loss statistics averaged over minibatches, rollout sums
    (`PPO.rollout`'s metrics: npc_kills and npc_deaths with NPCs on only, harvested
    with items on) and alive_mean, living agents per world and tick (alive_sum over
    `agent_ticks`, the rollout's ticks x worlds); with items on equipment_level and
    gold as means over living agent-ticks."""
    out = {k: v.mean() for k, v in stats.items()}
    out.update({k: v for k, v in metrics.items() if k != "alive_sum"})
    out["alive_mean"] = metrics["alive_sum"] / agent_ticks
    for k in PER_LIVING_AGENT:  # items on only
        if k in metrics:
            out[k] = metrics[k] / jnp.maximum(metrics["alive_sum"], 1)
    return out
