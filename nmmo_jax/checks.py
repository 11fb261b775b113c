"""Checks of what a caller hands to `step`, naming the field and what was expected.

The jitted step checks nothing (it would cost every tick, and values inside
jit are not known); adapters and tools call these once on user input, where
a wrong dtype or shape would otherwise fail deep inside JAX.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np

from .config import Config
from .state import NUM_SKILLS, Actions, Agents, Npcs, State


def check_actions(actions: Any, config: Config, batch: tuple[int, ...] = ()) -> None:
    """Raise ValueError unless actions is an `Actions` of integer arrays [*batch, A].

    batch: leading axes (e.g. (W,) for W worlds stepped together). Values
    are not checked: out-of-range moves, styles and targets (an agent's or
    NPC's slot, < config.num_slots) are no-ops.
    """
    _check_config(config)
    if not isinstance(actions, Actions):
        raise ValueError(f"actions: expected nmmo_jax.Actions(move, style, target) of integer "
                         f"arrays of shape {(*batch, config.num_agents)}, got {_kind(actions)}")
    for name in ("move", "style", "target"):
        _check_array(f"actions.{name}", getattr(actions, name), (*batch, config.num_agents),
                     "integer")


def check_state(state: Any, config: Config, batch: tuple[int, ...] = ()) -> None:
    """Raise ValueError unless state has the dtypes and shapes `config` gives it
    and can take one more step.

    batch: leading axes of a stack of worlds. A state made under another
    config (another map size or number of agents) is named by its first
    field that differs. A world at tick `config.max_tick` is refused: its
    next uids would overflow int32.
    """
    _check_config(config)
    if not isinstance(state, State):
        raise ValueError(f"state: expected a nmmo_jax.State (from reset or initial_state), "
                         f"got {_kind(state)}")
    if not isinstance(state.agents, Agents):
        raise ValueError(f"state.agents: expected a nmmo_jax.Agents, got {_kind(state.agents)}")
    a, n = config.num_agents, config.map_size
    _check_array("state.tiles", state.tiles, (*batch, n, n), "int8")
    _check_array("state.tick", state.tick, batch, "int32")
    if not isinstance(state.tick, jax.core.Tracer):  # values are known outside jit only
        tick = int(np.max(np.asarray(state.tick), initial=0))
        if tick >= config.max_tick:
            raise ValueError(f"state.tick={tick}: a world cannot step past Config.max_tick="
                             f"{config.max_tick}, where uids (tick * num_agents + slot) reach "
                             "the int32 limit; reset it")
    shapes = {"pos": (a, 2), "xp": (a, NUM_SKILLS)}
    for field in dataclasses.fields(state.agents):
        dtype = "bool" if field.name == "alive" else "int32"
        _check_array(f"state.agents.{field.name}", getattr(state.agents, field.name),
                     (*batch, *shapes.get(field.name, (a,))), dtype)
    _check_npcs(state.npcs, config, batch)


def _check_npcs(npcs: Any, config: Config, batch: tuple[int, ...]) -> None:
    """state.npcs: None with NPCs off, else an Npcs of config.num_npcs slots."""
    n = config.num_npcs
    if not n:
        if npcs is not None:
            raise ValueError(f"state.npcs: expected None (Config.num_npcs=0), got {_kind(npcs)}")
        return
    if not isinstance(npcs, Npcs):
        raise ValueError(f"state.npcs: expected a nmmo_jax.Npcs of {n} slots (Config.num_npcs), "
                         f"got {_kind(npcs)}")
    for field in dataclasses.fields(npcs):
        dtype = "bool" if field.name == "alive" else "int32"
        shape = (n, 2) if field.name == "pos" else (n,)
        _check_array(f"state.npcs.{field.name}", getattr(npcs, field.name), (*batch, *shape), dtype)


def _check_array(label: str, value: Any, shape: tuple[int, ...], dtype: str) -> None:
    """ValueError naming label unless value is an array of that shape and dtype
    ("integer": any integer dtype; jit turns them into int32)."""
    expected = f"{'an' if dtype[0] in 'aeiou' else 'a'} {dtype} array of shape {shape}"
    if not (hasattr(value, "shape") and hasattr(value, "dtype")):
        raise ValueError(f"{label}: expected {expected}, got {_kind(value)}")
    got = np.dtype(value.dtype)
    ok = np.issubdtype(got, np.integer) if dtype == "integer" else got == np.dtype(dtype)
    if not ok or tuple(value.shape) != shape:
        raise ValueError(f"{label}: expected {expected}, got {got.name} {tuple(value.shape)}")


def _check_config(config: Any) -> None:
    if not isinstance(config, Config):
        raise ValueError(f"config: expected a nmmo_jax.Config, got {_kind(config)}")


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__
