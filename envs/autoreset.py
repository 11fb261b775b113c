"""Optional world reset after `max_ticks`, keeping the terminal observation.

The core world is persistent and never needs a reset. Some users want
episodes of a fixed length anyway (fresh maps for generalisation, gymnax and
JaxMARL conventions). A world that reaches tick `max_ticks` is replaced by a
new one from `nmmo_jax.reset`; the observation of the old world's last tick
is kept in `info["terminal_obs"]`, and the lives it cut short are marked
`info["truncated"]` and also `done` (so a return computation never bootstraps
across two different agents in one slot), with reward 0 (they did not die).

The reset key is `fold_in(key, RESET_STREAM)`, so a world that is not reset
steps exactly as `nmmo_jax.step(key, ...)` would.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

import nmmo_jax as nj

RESET_STREAM = 1  # fold_in tag of the key a world reset draws from


def check_max_ticks(max_ticks: int | None, config: nj.Config | None = None) -> None:
    """Raise ValueError unless max_ticks is None or an int in [1, config.max_tick]
    (past config.max_tick uids would no longer be unique)."""
    if max_ticks is None:
        return
    if not isinstance(max_ticks, int) or isinstance(max_ticks, bool) or max_ticks < 1:
        raise ValueError(f"max_ticks={max_ticks!r}: must be None or an integer >= 1")
    if config is not None and max_ticks > config.max_tick:
        raise ValueError(f"max_ticks={max_ticks}: must be <= {config.max_tick}, the last tick "
                         f"whose uids fit int32 with num_agents={config.num_agents}")


def mark_world_end(obs: nj.Obs, state: nj.State, done: jnp.ndarray, info: dict,
                   max_ticks: int | None) -> tuple[jnp.ndarray, dict]:
    """Flag the end of the world after a step (any leading batch axes).

    Returns (done | truncated, info + truncated [..., A] bool, world_reset
    [...] bool, terminal_obs = obs). Nothing is reset here. With max_ticks
    None the world never ends (both flags False) but the keys are the same,
    so a wrapper's info has one set of keys whatever its options.
    """
    if max_ticks is None:
        world_reset = jnp.zeros(state.tick.shape, jnp.bool_)
    else:
        world_reset = state.tick >= max_ticks
    truncated = info["alive"] & world_reset[..., None]
    info = {**info, "truncated": truncated, "world_reset": world_reset, "terminal_obs": obs}
    return done | truncated, info


def autoreset_step(key: jax.Array, state: nj.State, actions: nj.Actions, config: nj.Config,
                   max_ticks: int, params: nj.Params | None = None
                   ) -> tuple[nj.Obs, nj.State, jnp.ndarray, jnp.ndarray, dict]:
    """`nmmo_jax.step` for one world, then a fresh world once tick reaches max_ticks.

    Shapes as `nmmo_jax.step` ([A] per-agent arrays). params: the game's
    numbers (`nmmo_jax.default_params`; None means v1.3's), used by the step
    and by the fresh world alike. On the reset tick the returned obs and
    state are the new world's (tick 0). info adds truncated [A] bool,
    world_reset bool scalar and terminal_obs (Obs [A, ...]).
    The reset runs under `lax.cond`: paid only on reset ticks unless this
    function is vmapped (then use `envs.batch.batch_step(..., max_ticks=)`,
    which keeps the cond outside the world axis).
    """
    check_max_ticks(max_ticks, config)
    obs, state, reward, done, info = nj.step(key, state, actions, config, params)
    done, info = mark_world_end(obs, state, done, info, max_ticks)
    obs, state = jax.lax.cond(
        info["world_reset"],
        lambda: nj.reset(jax.random.fold_in(key, RESET_STREAM), config, params),
        lambda: (obs, state))
    return obs, state, reward, done, info
