"""The one way to build a trainer: a run's config -> model, optimizer, mesh and compiled chunk.

PureJaxRL style: `Trainer.train_chunk(runner)` runs `updates_per_chunk`
updates inside one compiled call (`lax.scan` over `PPO.update`, each a
`lax.scan` over rollout ticks of `vmap`-ed worlds); Python only logs and
checkpoints between chunks. Data parallel by `shard_map` over a 1-D "worlds"
mesh (local devices, or every device of every process under
jax.distributed): the world axis of the environment state and of the rollout
is split over the devices, parameters and optimizer state are replicated.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import jax
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

import nmmo_jax as nj
from envs.batch import WORLDS, devices_dividing, world_mesh_of
from policies.baseline import ActorCritic
from policies.world import WorldInputs

from ..config import UNCOMPILED_FIELDS, TrainConfig, default
from .config import PPOConfig
from .update import PPO, Runner
from .worlds import Worlds


def make_model(cfg: PPOConfig, env: nj.Config, ranges: nj.ParamRanges | None = None
               ) -> ActorCritic:
    """The network of a run: the one place its settings become a model. With
    --sees-params it reads the fields that `ranges` (the run's --randomize) vary."""
    seen = WorldInputs.of(ranges) if cfg.sees_params else None
    return ActorCritic(env, width=cfg.width, shared=cfg.shared_params, navigation=cfg.navigation,
                       world_inputs=seen)


def make_optimizer(cfg: PPOConfig, steps_per_update: int) -> optax.GradientTransformation:
    """Adam with global-norm gradient clipping; with lr_decay_steps (agent-steps, of
    which an update plays `steps_per_update`) the rate falls linearly to 0."""
    lr = cfg.lr
    if cfg.lr_decay_steps:  # counted in optimizer steps: epochs x minibatches per update
        updates = -(-cfg.lr_decay_steps // steps_per_update)
        lr = optax.linear_schedule(cfg.lr, 0.0, updates * cfg.epochs * cfg.num_minibatches)
    return optax.chain(optax.clip_by_global_norm(cfg.max_grad_norm), optax.adam(lr, eps=1e-5))


def world_mesh(devices: int, num_worlds: int) -> Mesh:
    """The devices `num_worlds` worlds are split over: `devices` local devices of every
    process (of jax.distributed; one without it), or with 0 the most that divide
    each process's worlds; process 0's first. ValueError naming --devices if there
    are too few."""
    have, procs = jax.local_device_count(), jax.process_count()
    if devices > have:
        where = jax.local_devices()[0].platform  # running: JAX's own answer, not a forecast
        raise ValueError(f"--devices={devices}: only {have} local device(s) ({where})" + (
            f"; on CPU set XLA_FLAGS=--xla_force_host_platform_device_count={devices}"
            if where == "cpu" else ""))
    n = devices or devices_dividing(num_worlds // procs)  # procs divide the worlds
    return world_mesh_of([d for p in range(procs) for d in jax.local_devices(process_index=p)[:n]])


@dataclass
class Trainer:
    """The compiled pieces of a run built from a TrainConfig."""

    ppo: PPO
    mesh: Mesh  # 1-D, axis "worlds"
    shardings: Runner  # the sharding of each Runner field (a pytree prefix)
    init: Callable[[jax.Array], Runner]
    train_chunk: Callable[[Runner], tuple[Runner, dict]]

    @property
    def model(self) -> ActorCritic:
        return self.ppo.model


def make_trainer(tc: TrainConfig) -> Trainer:
    """The Trainer of a config; runs differing only in budget, --init-from or processes
    share one compilation (the processes of a multi-process run are those of
    jax.distributed)."""
    return _build(tc.replace(placement=tc.placement.alone(),
                             **{name: default(name) for name in UNCOMPILED_FIELDS}))


@functools.lru_cache(maxsize=8)
def _build(tc: TrainConfig) -> Trainer:
    mesh = world_mesh(tc.placement.devices, tc.num_worlds)
    replicated = NamedSharding(mesh, P())
    by_world = NamedSharding(mesh, P(WORLDS))  # leading axis W
    worlds = Worlds(tc.env_config, tc.num_worlds, tc.max_ticks, tc.env_params, tc.param_ranges)
    ppo = PPO(tc.ppo, worlds, make_model(tc.ppo, tc.env_config, tc.param_ranges),
              make_optimizer(tc.ppo, tc.steps_per_update))
    randomized = worlds.ranges is not None  # Runner.game holds each world's numbers
    # A Runner of shardings: a prefix of the Runner pytree for jit.
    shardings = Runner(params=replicated, opt_state=replicated, env_state=by_world, obs=by_world,
                       key=replicated, update=replicated, game=by_world if randomized else None)
    # Each device runs the whole chunk on its own worlds; parameters stay equal on
    # all devices because every device applies the same summed gradients (world_sum
    # leaves the same bits on every device).
    # (check_vma off: the gradients are summed explicitly, in one buffer.)
    specs = Runner(params=P(), opt_state=P(), env_state=P(WORLDS), obs=P(WORLDS), key=P(),
                   update=P(), game=P(WORLDS) if randomized else None)

    @functools.partial(jax.shard_map, mesh=mesh, in_specs=(specs,), out_specs=(specs, P()),
                       check_vma=False)
    def train_chunk(runner: Runner) -> tuple[Runner, dict]:
        return jax.lax.scan(ppo.update, runner, None, length=tc.updates_per_chunk)

    return Trainer(ppo=ppo, mesh=mesh, shardings=shardings,
                   init=jax.jit(ppo.init, out_shardings=shardings),
                   train_chunk=jax.jit(train_chunk, in_shardings=(shardings,),
                                       out_shardings=(shardings, replicated), donate_argnums=0))
