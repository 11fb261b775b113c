"""A batch of W worlds: one call resets or steps them all.

World w always gets key `jax.random.split(key, W)[w]`, so a batch equals W
separate `nmmo_jax.reset` / `nmmo_jax.step` calls with those keys (with
`max_ticks`: W separate `envs.autoreset.autoreset_step` calls); `step_worlds`
takes the W keys themselves. Every array
gains a leading world axis W. The functions are jitted with the config and
sizes static (each setting compiles once); calling them inside your own jit
or scan is fine.

`params` gives the game's numbers: None (v1.3's), one `nmmo_jax.Params` for
every world, or Params stacked to [W] (each world its own). With `ranges`
(`nmmo_jax.ParamRanges`), a world that `batch_step` replaces draws new numbers
for its next map (domain randomisation); `world_params` draws the first ones.

`chunk` runs the worlds as `lax.map` over groups of `chunk` vmapped worlds:
same results, much less scratch memory when W is large. On CPU it is also
faster: about 128 agent slots per chunk (1 default or large world, 8 small
ones) keeps each step's temporaries in cache (docs/performance.md,
"Batching worlds"; CHUNK_AGENTS in scripts/bench_env.py). On a GPU leave it
None (one vmap).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Sequence

import jax
import jax.numpy as jnp
from jax.sharding import Mesh

import nmmo_jax as nj

from .autoreset import RESET_STREAM, check_max_ticks, mark_world_end

PARAMS_STREAM = 2  # fold_in tag of the key a replaced world draws its numbers from


def _check_chunk(chunk: int | None, num_worlds: int) -> None:
    if chunk is None:
        return
    if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1:
        raise ValueError(f"chunk={chunk!r}: must be None or an integer >= 1")
    if num_worlds % chunk:
        raise ValueError(f"chunk={chunk}: must divide the number of worlds ({num_worlds})")


def _over_worlds(fn, chunk: int | None, *args):
    """vmap `fn` over the leading world axis of args, in lax.map'd chunks if asked."""
    if chunk is None:
        return jax.vmap(fn)(*args)
    split = lambda x: x.reshape((x.shape[0] // chunk, chunk) + x.shape[1:])
    out = jax.lax.map(lambda a: jax.vmap(fn)(*a), jax.tree.map(split, args))
    return jax.tree.map(lambda x: x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:]), out)


def _per_world(params: nj.Params | None, config: nj.Config, num_worlds: int,
               values: bool = True) -> nj.Params | None:
    """params as a stack [W] (None stays None: the defaults, compiled in as constants).
    values=False checks shapes only (the step's numbers were checked at the reset,
    or come from `info["params"]`: no host transfer every tick)."""
    if params is None:
        return None
    if not isinstance(params, nj.Params):
        raise ValueError(f"params: expected a nmmo_jax.Params, got {type(params).__name__}")
    batched = jnp.ndim(params.hit_base) == 1
    nj.check_params(params, config, (num_worlds,) if batched else (), values)
    if batched:
        return params
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (num_worlds,) + jnp.shape(x)), params)


def world_params(key: jax.Array, ranges: nj.ParamRanges, num_worlds: int) -> nj.Params:
    """Params [W] drawn from `ranges`, world w from `jax.random.split(key, W)[w]`."""
    return jax.vmap(nj.draw_params, in_axes=(0, None))(jax.random.split(key, num_worlds), ranges)


def batch_reset(key: jax.Array, config: nj.Config, num_worlds: int,
                chunk: int | None = None, params: nj.Params | None = None
                ) -> tuple[nj.Obs, nj.State]:
    """W = num_worlds new worlds. Returns (obs [W, A, ...], state [W, ...]).

    params: None (v1.3's numbers), one Params for all worlds, or Params [W].
    """
    if not isinstance(num_worlds, int) or isinstance(num_worlds, bool) or num_worlds < 1:
        raise ValueError(f"num_worlds={num_worlds!r}: must be an integer >= 1")
    _check_chunk(chunk, num_worlds)
    return _batch_reset(key, _per_world(params, config, num_worlds), config, num_worlds, chunk)


def _check_step(state: nj.State, actions: nj.Actions, config: nj.Config,
                max_ticks: int | None, chunk: int | None, params=None, ranges=None) -> None:
    check_max_ticks(max_ticks, config)
    if ranges is not None and params is None:
        raise ValueError("ranges: needs params, the numbers the worlds play with now "
                         "(envs.batch.world_params draws the first ones)")
    if state.tick.ndim != 1:
        raise ValueError(f"state.tick has shape {state.tick.shape}: batch_step expects a "
                         "leading world axis (state from batch_reset)")
    w, a = state.tick.shape[0], config.num_agents
    for name in ("move", "style", "target"):
        shape = getattr(actions, name).shape
        if shape != (w, a):
            raise ValueError(f"actions.{name} has shape {shape}, expected (W, A) = {(w, a)}")
    _check_chunk(chunk, w)


def batch_step(key: jax.Array, state: nj.State, actions: nj.Actions, config: nj.Config,
               max_ticks: int | None = None, chunk: int | None = None,
               params: nj.Params | None = None, ranges: nj.ParamRanges | None = None
               ) -> tuple[nj.Obs, nj.State, jnp.ndarray, jnp.ndarray, dict]:
    """Step W worlds one tick. state [W, ...], actions fields [W, A] int32.

    params: None (v1.3's numbers), one Params for all worlds, or Params [W].
    ranges: with it, each replaced world draws its next numbers from
    `fold_in(key_w, PARAMS_STREAM)`, and info["params"] holds every world's
    numbers for the next step (Params [W]: pass them back in).

    Returns (obs [W, A, ...], state [W, ...], reward [W, A] f32, done [W, A]
    bool, info) with info as `nmmo_jax.step`'s plus a world axis, and
    always truncated [W, A], world_reset [W] and terminal_obs (see
    envs.autoreset). A world whose tick reaches max_ticks is replaced by a
    fresh one (the new maps are generated only on ticks where some world
    resets); with max_ticks None the worlds persist up to `config.max_tick`,
    the last tick whose uids are unique, and are replaced there.
    """
    _check_step(state, actions, config, max_ticks, chunk, params, ranges)
    w = state.tick.shape[0]
    keys = jax.random.split(key, w)
    return _batch_step(keys, state, actions, _per_world(params, config, w, values=False), ranges, config,
                       max_ticks, chunk)


def step_worlds(keys: jax.Array, state: nj.State, actions: nj.Actions, config: nj.Config,
                max_ticks: int | None = None, chunk: int | None = None,
                params: nj.Params | None = None, ranges: nj.ParamRanges | None = None
                ) -> tuple[nj.Obs, nj.State, jnp.ndarray, jnp.ndarray, dict]:
    """`batch_step` with each world's key given: keys [W] (uint32 [W, 2] raw keys).

    For code that holds a share of a larger batch (a device's worlds in a
    sharded trainer): passing its rows of `jax.random.split(key, W_total)`
    steps them exactly as `batch_step(key, ...)` steps the whole batch.
    """
    _check_step(state, actions, config, max_ticks, chunk, params, ranges)
    w = state.tick.shape[0]
    if keys.shape[0] != w:
        raise ValueError(f"keys has {keys.shape[0]} rows for {w} worlds")
    return _batch_step(keys, state, actions, _per_world(params, config, w, values=False), ranges, config,
                       max_ticks, chunk)


WORLDS = "worlds"  # the mesh axis name of code that splits worlds over devices


def devices_dividing(worlds: int) -> int:
    """How many local devices to split `worlds` worlds over: the most that divide them."""
    return max(d for d in range(1, jax.local_device_count() + 1) if worlds % d == 0)


def world_mesh_of(devices: Sequence[jax.Device]) -> Mesh:
    """The 1-D mesh, axis WORLDS, over `devices` for a `shard_map` that splits the
    world axis (auto axes: the shard_map's specs say what is split)."""
    return jax.make_mesh((len(devices),), (WORLDS,), devices=devices,
                         axis_types=(jax.sharding.AxisType.Auto,))


def world_keys(key: jax.Array, num_worlds: int) -> jax.Array:
    """This device's rows of `jax.random.split(key, num_worlds)`, inside a
    `jax.shard_map` over the WORLDS axis: world w draws from key w whatever the
    number of devices. Returns keys [num_worlds / devices]."""
    n = jax.lax.axis_size(WORLDS)
    keys = jax.random.split(key, num_worlds)
    return keys.reshape((n, num_worlds // n) + keys.shape[1:])[jax.lax.axis_index(WORLDS)]


# The public functions check their arguments, then call these with the static
# arguments always in the same (positional) form, so each setting compiles once.
def _reset_fn(config: nj.Config):
    return lambda k, p=None: nj.reset(k, config, p)


def _step_fn(config: nj.Config):
    return lambda k, s, act, p=None: nj.step(k, s, act, config, p)


def _with_params(params, *args):
    """args, then params when given (None: each world uses the compiled-in defaults)."""
    return args if params is None else (*args, params)


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _batch_reset(key, params, config, num_worlds, chunk):
    keys = jax.random.split(key, num_worlds)
    return _over_worlds(_reset_fn(config), chunk, *_with_params(params, keys))


@functools.partial(jax.jit, static_argnums=(5, 6, 7))
def _batch_step(keys, state, actions, params, ranges, config, max_ticks, chunk):
    obs, state, reward, done, info = _over_worlds(
        _step_fn(config), chunk, *_with_params(params, keys, state, actions))
    done, info = mark_world_end(obs, state, done, info,
                                config.max_tick if max_ticks is None else max_ticks)
    world_reset = info["world_reset"]
    if ranges is not None:  # replaced worlds draw new numbers before their new map
        w = world_reset.shape[0]
        drawn = world_params_of(keys, ranges)
        params = jax.tree.map(lambda new, old: jnp.where(
            world_reset.reshape((w,) + (1,) * (old.ndim - 1)), new, old), drawn, params)
        info["params"] = params

    def reset_some(carry):
        obs, state = carry
        reset_keys = jax.vmap(lambda k: jax.random.fold_in(k, RESET_STREAM))(keys)
        new = _over_worlds(_reset_fn(config), chunk, *_with_params(params, reset_keys))

        def pick(fresh, old):
            flag = world_reset.reshape(world_reset.shape + (1,) * (old.ndim - 1))
            return jnp.where(flag, fresh, old)
        return jax.tree.map(pick, new, (obs, state))

    # Scalar predicate outside the world axis: maps are generated only when needed.
    obs, state = jax.lax.cond(world_reset.any(), reset_some, lambda c: c, (obs, state))
    return obs, state, reward, done, info


def world_params_of(keys: jax.Array, ranges: nj.ParamRanges) -> nj.Params:
    """Params [W] that replaced worlds draw: world w from fold_in(keys[w], PARAMS_STREAM)."""
    draw_keys = jax.vmap(lambda k: jax.random.fold_in(k, PARAMS_STREAM))(keys)
    return jax.vmap(nj.draw_params, in_axes=(0, None))(draw_keys, ranges)


@dataclass(frozen=True)
class BatchEnv:
    """gymnax-style holder of the static settings of a batch of worlds.

    `env.reset(key) -> (obs, state)`, `env.step(key, state, actions) ->
    (obs, state, reward, done, info)`; shapes as batch_reset / batch_step.
    Frozen and hashable, so it may itself be a static argument of jit.
    """

    config: nj.Config = field(default_factory=nj.Config)
    num_worlds: int = 1
    max_ticks: int | None = None
    chunk: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.config, nj.Config):
            raise ValueError(f"config={self.config!r}: must be a nmmo_jax.Config")
        if not isinstance(self.num_worlds, int) or self.num_worlds < 1:
            raise ValueError(f"num_worlds={self.num_worlds!r}: must be an integer >= 1")
        check_max_ticks(self.max_ticks, self.config)
        _check_chunk(self.chunk, self.num_worlds)

    @property
    def num_agents(self) -> int:
        return self.config.num_agents

    def reset(self, key: jax.Array, params: nj.Params | None = None
              ) -> tuple[nj.Obs, nj.State]:
        return batch_reset(key, self.config, self.num_worlds, self.chunk, params)

    def step(self, key: jax.Array, state: nj.State, actions: nj.Actions,
             params: nj.Params | None = None, ranges: nj.ParamRanges | None = None):
        return batch_step(key, state, actions, self.config, self.max_ticks, self.chunk, params,
                          ranges)
