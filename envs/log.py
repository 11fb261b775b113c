"""Episode logging: per-slot return and lifetime, and statistics of finished lives.

An agent's episode is its life. `log_update` follows each slot through the
output of `nmmo_jax.step` (or batch_step / autoreset_step): a slot's
counters restart on the tick an agent spawns there, and on the tick it dies
the life is reported. Lives cut short by a world reset (info["truncated"])
are counted apart (num_truncated) and kept out of the means, so the mean
lifetime is over deaths only. A mean over no finished life is NaN and
`valid` is False: it is never reported as 0.

Lifetime counts as docs/rules.md §4 does (spawned in tick s, died in tick d:
d - s), so it equals info["lifetime"] on the death tick when the log starts
together with the world (log_init right after reset).
"""
from __future__ import annotations

import jax.numpy as jnp
from flax import struct


@struct.dataclass
class LogState:
    """Running counters of the current life in each slot ([W, A], or any batch shape).

    episode_return f32: sum of rewards since the slot's agent spawned;
    episode_length int32: ticks since it spawned.
    """

    episode_return: jnp.ndarray
    episode_length: jnp.ndarray


def log_init(num_worlds: int | None, num_agents: int) -> LogState:
    """Zero counters of shape [num_worlds, num_agents] ([num_agents] if num_worlds is None)."""
    shape = (num_agents,) if num_worlds is None else (num_worlds, num_agents)
    return LogState(episode_return=jnp.zeros(shape, jnp.float32),
                    episode_length=jnp.zeros(shape, jnp.int32))


def _finished_stats(ended: jnp.ndarray, truncated: jnp.ndarray, ret: jnp.ndarray,
                    length: jnp.ndarray) -> dict:
    num = ended.sum(dtype=jnp.int32)
    sum_ret = jnp.where(ended, ret, 0.0).sum()
    sum_len = jnp.where(ended, length, 0).sum(dtype=jnp.int32)
    return _with_means({"num_finished": num, "num_truncated": truncated.sum(dtype=jnp.int32),
                        "sum_return": sum_ret, "sum_lifetime": sum_len})


def _with_means(totals: dict) -> dict:
    num = totals["num_finished"]
    valid = num > 0
    denom = jnp.maximum(num, 1).astype(jnp.float32)
    nan = jnp.float32(jnp.nan)
    return {**totals, "valid": valid,
            "mean_return": jnp.where(valid, totals["sum_return"] / denom, nan),
            "mean_lifetime": jnp.where(valid, totals["sum_lifetime"] / denom, nan)}


def log_update(log: LogState, reward: jnp.ndarray, done: jnp.ndarray, info: dict
               ) -> tuple[LogState, dict]:
    """Advance the counters by one step's output and report the lives that ended.

    reward f32 and done bool have the log's shape ([W, A]); info needs
    alive and spawned (same shape) and may hold truncated (same shape) and
    world_reset ([W]) from a max_ticks reset. Returns (log, stats), stats
    scalars over all slots of this step: num_finished, num_truncated (int32),
    sum_return, mean_return (f32), sum_lifetime (int32), mean_lifetime (f32),
    valid (bool, num_finished > 0; the means are NaN when False).
    """
    spawned = info["spawned"]
    in_life = (info["alive"] | done) & ~spawned  # lived through this tick
    ret = jnp.where(spawned, 0.0, log.episode_return) + reward
    length = jnp.where(spawned, 0, log.episode_length) + in_life.astype(jnp.int32)
    truncated = info.get("truncated", jnp.zeros_like(done))
    ended = done & ~truncated
    stats = _finished_stats(ended, truncated, ret, length)

    restart = done  # the next life in this slot starts from zero
    if "world_reset" in info:  # a fresh world: every slot starts over
        flag = info["world_reset"]
        restart = restart | flag.reshape(flag.shape + (1,) * (done.ndim - flag.ndim))
    log = LogState(episode_return=jnp.where(restart, 0.0, ret),
                   episode_length=jnp.where(restart, 0, length))
    return log, stats


def reduce_stats(stats: dict) -> dict:
    """Combine stats stacked over leading axes (e.g. [T] from a scan) into one set.

    Sums the counts and totals and recomputes the means and `valid`, so a
    mean over many steps weighs every finished life once.
    """
    totals = {name: jnp.sum(stats[name]) for name in
              ("num_finished", "num_truncated", "sum_return", "sum_lifetime")}
    totals["num_finished"] = totals["num_finished"].astype(jnp.int32)
    totals["num_truncated"] = totals["num_truncated"].astype(jnp.int32)
    totals["sum_lifetime"] = totals["sum_lifetime"].astype(jnp.int32)
    return _with_means(totals)


__all__ = ["LogState", "log_init", "log_update", "reduce_stats"]
