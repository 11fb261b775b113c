"""nmmo-jax: Neural MMO v1.3 as a pure, vectorised JAX program.

    params = nmmo_jax.default_params(config)          # the game's numbers, data
    obs, state = nmmo_jax.reset(key, config, params)
    obs, state, reward, done, info = nmmo_jax.step(key, state, actions, config, params)

`jit_reset` / `jit_step` / `jit_advance` are those functions compiled with the
config static. `check_actions`, `check_state` and `check_params` name the field
of a wrong input before it reaches the jitted step. `Config(num_npcs=N)` turns
on N NPC slots (docs/rules.md §9), `Config(inventory_slots=I)` the item
economy (§10); `entity_feature_names(N, I)` names the columns of
`Obs.entities`.
"""
from .checks import check_actions, check_no_items, check_state
from .config import Config
from .core import advance, initial_state, jit_advance, jit_reset, jit_step, reset, step
from .params import ParamRanges, Params, check_params, default_params, draw_params, param_ranges
from .observe import observe
from .state import *  # noqa: F401,F403  (tile, move, style, skill and cause constants)
from .state import Actions, Agents, Npcs, Obs, State

__version__ = "0.1.0"
__all__ = ["Config", "Params", "default_params", "ParamRanges", "param_ranges", "draw_params",
           "State", "Agents", "Npcs", "Obs", "Actions", "reset", "step", "advance", "observe",
           "initial_state", "jit_reset", "jit_step", "jit_advance", "check_actions", "check_no_items", "check_state",
           "check_params", "entity_feature_names"]
