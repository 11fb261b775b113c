"""Wrappers and adapters around the pure nmmo_jax core.

* Functional, jit/vmap-safe: `batch_reset` / `batch_step` / `step_worlds` /
  `BatchEnv` (W worlds at once, with per-world `Params`; `world_params` draws
  them from `nmmo_jax.ParamRanges`), `autoreset_step` (fresh world after max_ticks),
  `LogState` / `log_init` / `log_update` / `reduce_stats` (lives that ended).
* JaxMARL-style dict API: `MultiAgentEnv`.
* PettingZoo: `ParallelEnv` (needs the optional extra
  `pip install "nmmo-jax[pettingzoo]"`; imported only when first used).
"""
from __future__ import annotations

from .autoreset import autoreset_step
from .batch import BatchEnv, batch_reset, batch_step, step_worlds, world_params
from .log import LogState, log_init, log_update, reduce_stats
from .multi_agent import MultiAgentEnv, MultiAgentState

__all__ = ["batch_reset", "batch_step", "step_worlds", "world_params", "BatchEnv", "autoreset_step", "LogState",
           "log_init", "log_update", "reduce_stats", "MultiAgentEnv", "MultiAgentState", "ParallelEnv"]


def __getattr__(name: str):
    # Gymnasium and PettingZoo are optional: load them only when asked for.
    if name == "ParallelEnv":
        from .parallel import ParallelEnv
        return ParallelEnv
    raise AttributeError(f"module 'envs' has no attribute {name!r}")
