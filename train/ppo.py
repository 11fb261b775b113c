"""Fused PPO: rollout of persistent worlds, GAE and minibatch epochs in one jitted update.

PureJaxRL style: `Trainer.train_chunk(runner)` runs `updates_per_chunk`
updates inside one compiled call (`lax.scan` over updates, each a `lax.scan`
over rollout ticks of `vmap`-ed worlds); Python only logs and checkpoints
between chunks. The rollout stores the network's `Inputs` (made by
`ActorCritic.prepare` once per tick, navigation features included), not the
raw observations, so the epochs do not prepare them again.

Data parallel by `shard_map` over a 1-D "worlds" mesh (local devices, or
every device of every process under jax.distributed): the world axis of the
environment state and of the rollout is split over the devices, parameters
and optimizer state are replicated. Each device runs the chunk on its own
worlds; the communication is a few explicit all-reduces (see `PPO`), which
matters between processes, where each one is a network round trip. World w
draws its random numbers from key w whatever the number of devices, so a run
on D devices computes what the 1-device run computes up to float summation
order. Minibatches are slices of rollout ticks holding every world, so each
device works on its own worlds throughout the update.

The game's numbers (`TrainConfig.params`, `.randomize`): without either flag
the worlds step with `params=None`, v1.3's numbers compiled in as constants.
`--params` alone passes the run's fixed `nj.Params` to every world.
`--randomize` makes each world's numbers data that the Runner carries
(`Runner.game`, Params [W], split over devices like the worlds): world w
draws them at the start from its reset key (`init_runner`) and again each
time it is replaced (`step_worlds` with the ranges), so they are a function
of the run's key alone, whatever the number of devices.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree
from flax import struct
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

import nmmo_jax as nj
from envs.batch import (WORLDS, batch_reset, devices_dividing, step_worlds, world_keys,
                        world_mesh_of, world_params_of)
from policies.baseline import ActorCritic
from policies.io import Choice, Inputs, to_actions

from .config import BUDGET_FIELDS, PLACEMENT_FIELDS, TrainConfig
from .gae import gae
from .reward import training_reward


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


def ppo_loss(model: ActorCritic, tc: TrainConfig, params, batch: dict,
             norm: AdvantageNorm | None = None) -> tuple[jnp.ndarray, dict]:
    """Clipped PPO objective over a minibatch [B, A, ...]; empty slots are masked out.

    Every term is a sum over the valid rows divided by `norm.count`, and the
    advantages are normalised by `norm`'s mean and std: the statistics of the
    whole minibatch, of which `batch` may be one device's share (then the
    devices' losses and gradients add up to the minibatch's). None: `batch`
    is the whole minibatch.
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
    pg = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - tc.clip_eps, 1 + tc.clip_eps) * adv)
    v_clip = batch["value"] + jnp.clip(value - batch["value"], -tc.clip_eps, tc.clip_eps)
    v_loss = 0.5 * jnp.maximum((value - batch["target"]) ** 2, (v_clip - batch["target"]) ** 2)
    pg_loss, v_loss, ent = mean_of(pg), mean_of(v_loss), mean_of(dist.entropy())
    loss = pg_loss + tc.vf_coef * v_loss - tc.ent_coef * ent
    stats = {"policy_loss": pg_loss, "value_loss": v_loss, "entropy": ent,
             "approx_kl": mean_of((ratio - 1) - log_ratio),
             "clip_frac": mean_of((jnp.abs(ratio - 1) > tc.clip_eps).astype(jnp.float32))}
    return loss, stats


def world_sum(x: jnp.ndarray) -> jnp.ndarray:
    """x [...] summed over the devices of the "worlds" axis, the same bits on every device.

    With a power-of-two device count it is a butterfly: in round r each device
    adds the partial sum of the device whose index differs in bit r
    (`ppermute`), log2(devices) exchanges of one message each way; both
    partners add the same two numbers, so they hold the same bits after every
    round. Between processes this is what makes it cheap: gloo's all-reduce
    (`psum`) passes about a dozen messages per call, handed between threads and
    processes that wait their turn on busy cores (scripts/bench_collectives
    times both). Other device counts gather every share and add them in
    device order.
    """
    devices = jax.lax.axis_size(WORLDS)
    if devices & (devices - 1):
        return jax.lax.all_gather(x, WORLDS).sum(0)
    bit = 1
    while bit < devices:
        x = x + jax.lax.ppermute(x, WORLDS, [(i, i ^ bit) for i in range(devices)])
        bit <<= 1
    return x


def world_sum_flat(tree: Any) -> Any:
    """`tree` summed over the devices in one collective (one flat f32 buffer, not one
    per leaf: between processes each collective costs a network round trip)."""
    flat, unflatten = ravel_pytree(tree)
    return unflatten(world_sum(flat))


@dataclass(frozen=True)
class PPO:
    """The pieces of one PPO update, written for one device's share of the worlds.

    The methods run inside the trainer's `shard_map` over the "worlds" mesh
    axis: each device steps, stores and differentiates its own worlds, and
    the only communication is explicit (`world_sum`): the rollout's metrics, the
    advantage statistics (twice per update) and one flat sum of gradients and
    loss statistics per minibatch. On one device the sums are
    over that device alone.
    """

    tc: TrainConfig
    model: ActorCritic
    tx: optax.GradientTransformation
    fixed: nj.Params | None = None  # --params' numbers for every world; None: v1.3's
    ranges: nj.ParamRanges | None = None  # --randomize: worlds draw from these at resets

    def env_params(self, game: nj.Params | None) -> nj.Params | None:
        """What the worlds step with: their own numbers `game` [W] when randomizing,
        else the fixed ones (None: v1.3's, compiled in)."""
        return game if self.ranges is not None else self.fixed

    def orders(self, key: jax.Array) -> jnp.ndarray:
        """int32 [epochs, num_minibatches, ticks per minibatch]: the rollout ticks of
        each minibatch; every minibatch holds those ticks of every world."""
        tc = self.tc
        per = tc.rollout_len // tc.num_minibatches
        perm = lambda k: jax.random.permutation(k, tc.rollout_len).reshape(tc.num_minibatches, per)
        return jax.vmap(perm)(jax.random.split(key, tc.epochs))

    def terminal_value(self, params, info: dict) -> jnp.ndarray:
        """f32 [W/D, A]: the value of `info["terminal_obs"]` where a life was truncated,
        else 0. Worlds are replaced once every max_ticks ticks, so the extra forward
        pass runs only on ticks where some world of this device was replaced."""
        truncated = info["truncated"]
        return jax.lax.cond(
            truncated.any(),
            lambda obs: jnp.where(truncated, self.model.apply(params, obs)[1], 0.0),
            lambda obs: jnp.zeros(truncated.shape, jnp.float32),
            info["terminal_obs"])

    def rollout(self, params, env_state: nj.State, obs: nj.Obs, key: jax.Array,
                game: nj.Params | None = None
                ) -> tuple[nj.State, nj.Obs, nj.Params | None, dict, dict]:
        """Play rollout_len ticks of this device's worlds (env_state [W/D, ...]; game:
        their numbers, Params [W/D], when randomizing, else None).

        Returns (env_state, obs, game, data, metrics): game as redrawn for the worlds
        replaced meanwhile; data holds inputs, choice, logp, value, valid, adv and
        target with leading [W/D, T, A]; metrics are sums over all devices' worlds.
        """
        model, tc = self.model, self.tc
        sample = jax.vmap(lambda dist, k: dist.sample(k))  # world w samples with its key

        def tick(carry, k):
            env_state, obs, game = carry
            k_act, k_env = jax.random.split(k)
            inputs = model.prepare(obs)
            dist, value = model.apply_inputs(params, inputs)
            choice = sample(dist, world_keys(k_act, tc.num_worlds))
            actions = to_actions(choice, obs)
            next_obs, env_state, reward, done, info = step_worlds(
                world_keys(k_env, tc.num_worlds), env_state, actions, tc.env_config,
                max_ticks=tc.max_ticks or None, params=self.env_params(game),
                ranges=self.ranges)
            if self.ranges is not None:
                game = info["params"]  # replaced worlds drew new numbers
            # A world replaced at max_ticks cuts its living agents' lives without a
            # death: the reward sees the old world's last observation (terminal_obs)
            # and those lives bootstrap from its value in `gae`.
            truncated = info["truncated"]
            reward = training_reward(reward, actions.target, done & ~truncated,
                                     info["death_cause"], obs, info["terminal_obs"],
                                     kill_penalty=tc.kill_penalty,
                                     vitals_shaping=tc.vitals_shaping, gamma=tc.gamma)
            tr = Transition(inputs=inputs, choice=choice, logp=dist.log_prob(choice), value=value,
                            reward=reward, done=done, valid=obs.entity_mask[..., 0],
                            truncated=truncated,
                            terminal_value=self.terminal_value(params, info),
                            lifetime=info["lifetime"], cause=info["death_cause"])
            return (env_state, next_obs, game), tr

        (env_state, obs, game), traj = jax.lax.scan(
            tick, (env_state, obs, game), jax.random.split(key, tc.rollout_len))
        _, last_value = model.apply(params, obs)
        adv, target = gae(traj.reward, traj.value, traj.done, traj.valid, last_value,
                          tc.gamma, tc.gae_lambda, traj.truncated, traj.terminal_value)
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
        loss = lambda p: ppo_loss(self.model, self.tc, p, batch, norm)
        return world_sum_flat(jax.grad(loss, has_aux=True)(params))

    def apply(self, params, opt_state, grads) -> tuple[Any, Any]:
        """One optimizer step: (params, opt_state)."""
        updates, opt_state = self.tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state


def make_ppo(tc: TrainConfig) -> PPO:
    """The PPO pieces of a config: model, Adam with gradient clipping, the game's
    numbers (fixed `--params`, None without; `--randomize` ranges, None without)."""
    model = ActorCritic(tc.env_config, width=tc.width, shared=tc.shared_params,
                        navigation=tc.navigation)
    lr = tc.lr
    if tc.lr_decay_steps:  # counted in optimizer steps: epochs x minibatches per update
        updates = -(-tc.lr_decay_steps // tc.steps_per_update)
        lr = optax.linear_schedule(tc.lr, 0.0, updates * tc.epochs * tc.num_minibatches)
    tx = optax.chain(optax.clip_by_global_norm(tc.max_grad_norm), optax.adam(lr, eps=1e-5))
    return PPO(tc=tc, model=model, tx=tx, fixed=tc.env_params, ranges=tc.param_ranges)


@dataclass
class Trainer:
    """The compiled pieces of a run built from a TrainConfig."""

    tc: TrainConfig
    model: ActorCritic
    mesh: Mesh  # 1-D, axis "worlds"
    placement: Runner  # the sharding of each Runner field (a pytree prefix)
    init: Callable[[jax.Array], Runner]
    train_chunk: Callable[[Runner], tuple[Runner, dict]]


def make_trainer(tc: TrainConfig) -> Trainer:
    """The Trainer of a config; runs differing only in budget or placement share one
    compilation (the processes of a multi-process run are those of jax.distributed)."""
    same = BUDGET_FIELDS | PLACEMENT_FIELDS
    return _make_trainer(tc.replace(**{k: getattr(TrainConfig, k) for k in same}))


def world_mesh(tc: TrainConfig) -> Mesh:
    """The devices the worlds are split over: `tc.devices` local devices of every process
    (of jax.distributed; one without it), or with 0 the most that divide its worlds;
    process 0's first. ValueError naming --devices if there are too few."""
    have, procs = jax.local_device_count(), jax.process_count()
    if tc.devices > have:
        where = jax.local_devices()[0].platform  # running: JAX's own answer, not a forecast
        raise ValueError(f"--devices={tc.devices}: only {have} local device(s) ({where})" + (
            f"; on CPU set XLA_FLAGS=--xla_force_host_platform_device_count={tc.devices}"
            if where == "cpu" else ""))
    n = tc.devices or devices_dividing(tc.num_worlds // procs)  # procs divide the worlds
    return world_mesh_of([d for p in range(procs) for d in jax.local_devices(process_index=p)[:n]])


def init_runner(ppo: PPO, key: jax.Array, num_worlds: int) -> Runner:
    """A fresh run: parameters, optimizer state and num_worlds new worlds.

    With ranges, world w first draws its numbers (Runner.game, Params [W]) from
    fold_in(its reset key, PARAMS_STREAM), as `step_worlds` draws them for a
    replaced world, then makes its map with them.
    """
    k_model, k_env, k_run = jax.random.split(key, 3)
    game = (None if ppo.ranges is None
            else world_params_of(jax.random.split(k_env, num_worlds), ppo.ranges))
    obs, env_state = batch_reset(k_env, ppo.tc.env_config, num_worlds,
                                 params=ppo.env_params(game))
    params = ppo.model.init(k_model, jax.tree.map(lambda x: x[0], obs))
    return Runner(params=params, opt_state=ppo.tx.init(params), env_state=env_state, obs=obs,
                  key=k_run, update=jnp.zeros((), jnp.int32), game=game)


def summarize(stats: dict, metrics: dict, agent_ticks: int) -> dict:
    """Per-update metrics: loss statistics averaged over minibatches, rollout sums."""
    out = {k: v.mean() for k, v in stats.items()}
    out.update({k: v for k, v in metrics.items() if k != "alive_sum"})
    out["alive_mean"] = metrics["alive_sum"] / agent_ticks
    return out


@functools.lru_cache(maxsize=8)
def _make_trainer(tc: TrainConfig) -> Trainer:
    mesh = world_mesh(tc)
    replicated = NamedSharding(mesh, P())
    by_world = NamedSharding(mesh, P(WORLDS))  # leading axis W
    ppo = make_ppo(tc)
    randomized = ppo.ranges is not None  # Runner.game holds each world's numbers
    # A Runner of shardings: a prefix of the Runner pytree for jit.
    placement = Runner(params=replicated, opt_state=replicated, env_state=by_world, obs=by_world,
                       key=replicated, update=replicated, game=by_world if randomized else None)

    def update(runner: Runner, _) -> tuple[Runner, dict]:
        key, k_roll, k_perm = jax.random.split(runner.key, 3)
        env_state, obs, game, data, metrics = ppo.rollout(
            runner.params, runner.env_state, runner.obs, k_roll, runner.game)
        orders = ppo.orders(k_perm)
        norms = ppo.norms(data, orders)

        def minibatch(carry, x):
            params, opt_state = carry
            grads, stats = ppo.grads(params, data, *x)
            return ppo.apply(params, opt_state, grads), stats

        (params, opt_state), stats = jax.lax.scan(
            lambda carry, x: jax.lax.scan(minibatch, carry, x),
            (runner.params, runner.opt_state), (orders, norms))
        runner = Runner(params=params, opt_state=opt_state, env_state=env_state, obs=obs,
                        key=key, update=runner.update + 1, game=game)
        return runner, summarize(stats, metrics, tc.rollout_len * tc.num_worlds)

    # Each device runs the whole chunk on its own worlds; parameters stay equal on
    # all devices because every device applies the same summed gradients (world_sum
    # leaves the same bits on every device).
    # (check_vma off: the gradients are summed explicitly, in one buffer.)
    specs = Runner(params=P(), opt_state=P(), env_state=P(WORLDS), obs=P(WORLDS), key=P(),
                   update=P(), game=P(WORLDS) if randomized else None)

    @functools.partial(jax.shard_map, mesh=mesh, in_specs=(specs,), out_specs=(specs, P()),
                       check_vma=False)
    def train_chunk(runner: Runner) -> tuple[Runner, dict]:
        return jax.lax.scan(update, runner, None, length=tc.updates_per_chunk)

    init = functools.partial(init_runner, ppo, num_worlds=tc.num_worlds)
    return Trainer(tc=tc, model=ppo.model, mesh=mesh, placement=placement,
                   init=jax.jit(init, out_shardings=placement),
                   train_chunk=jax.jit(train_chunk, in_shardings=(placement,),
                                       out_shardings=(placement, replicated), donate_argnums=0))
