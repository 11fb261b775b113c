"""nmmo-jax: Neural MMO v1.3 as a pure, vectorised JAX program.

    obs, state = nmmo_jax.reset(key, config)
    obs, state, reward, done, info = nmmo_jax.step(key, state, actions, config)

`check_actions` and `check_state` name the field of a wrong input before it
reaches the jitted step.
"""
from .checks import check_actions, check_state
from .config import Config
from .core import initial_state, reset, step
from .observe import observe
from .state import *  # noqa: F401,F403  (tile, move, style, skill and cause constants)
from .state import Actions, Agents, Obs, State

__version__ = "0.1.0"
__all__ = ["Config", "State", "Agents", "Obs", "Actions", "reset", "step", "observe",
           "initial_state", "check_actions", "check_state"]
