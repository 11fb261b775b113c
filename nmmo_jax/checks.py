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
from .state import (EQUIP_SLOT_OF, ITEM_ACTIONS, NUM_EQUIP_SLOTS, NUM_ITEM_KINDS,
                    NUM_PROFESSIONS, NUM_SKILLS, Actions, Agents, Items, Npcs, State)


def check_no_items(config: Config, where: str) -> None:
    """ValueError naming `where` when the config turns items on: the doors that do
    not carry inventories yet (adapters, policy IO, viewer) refuse such a world
    rather than play it with part of its observation dropped."""
    if config.inventory_slots:
        raise ValueError(f"{where}: Config.inventory_slots={config.inventory_slots} (items, "
                         "docs/rules.md §10) is not supported here yet; use nmmo_jax.step directly")


def check_actions(actions: Any, config: Config, batch: tuple[int, ...] = ()) -> None:
    """Raise ValueError unless actions is an `Actions` of integer arrays [*batch, A].

    batch: leading axes (e.g. (W,) for W worlds stepped together). Values
    are not checked: out-of-range moves, styles, targets (an agent's or
    NPC's slot, < config.num_slots) and inventory slots are no-ops. use,
    destroy, give, give_to and give_gold are None with items off; with items
    on each is None (nobody does it) or integer [*batch, A].
    """
    _check_config(config)
    if not isinstance(actions, Actions):
        raise ValueError(f"actions: expected nmmo_jax.Actions(move, style, target) of integer "
                         f"arrays of shape {(*batch, config.num_agents)}, got {_kind(actions)}")
    for name in ("move", "style", "target", *ITEM_ACTIONS):
        value = getattr(actions, name)
        if name in ITEM_ACTIONS and value is None:
            continue
        if name in ITEM_ACTIONS and not config.inventory_slots:
            raise ValueError(f"actions.{name}: expected None (Config.inventory_slots=0: items "
                             f"are off), got {_kind(value)}")
        _check_array(f"actions.{name}", value, (*batch, config.num_agents), "integer")


def check_state(state: Any, config: Config, batch: tuple[int, ...] = ()) -> None:
    """Raise ValueError unless state has the dtypes and shapes `config` gives it
    and can take one more step.

    batch: leading axes of a stack of worlds. A state made under another
    config (another map size or number of agents) is named by its first
    field that differs. A world at tick `config.max_tick` is refused: its
    next uids would overflow int32. With items on, the rules of `Items`
    are checked where values are known (outside jit): quantity 0 exactly
    in empty slots and never negative, kinds and levels in range, equipped
    only occupied slots and at most one item per equipment slot, gold never
    negative, dead agents' rows empty.
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
    _check_items(state, config, batch)


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


def _check_items(state: State, config: Config, batch: tuple[int, ...]) -> None:
    """state.items: None with items off, else Items of the config's shapes
    whose values (when known) keep the rules of docs/rules.md §10."""
    items, slots = state.items, config.inventory_slots
    if not slots:
        if items is not None:
            raise ValueError(f"state.items: expected None (Config.inventory_slots=0), got "
                             f"{_kind(items)}")
        return
    if not isinstance(items, Items):
        raise ValueError(f"state.items: expected a nmmo_jax.Items of {slots} slots "
                         f"(Config.inventory_slots), got {_kind(items)}")
    a = config.num_agents
    shapes = {"gold": (a,), "prof_xp": (a, NUM_PROFESSIONS), "npc_gold": (config.num_npcs,)}
    for field in dataclasses.fields(items):
        dtype = "bool" if field.name == "equipped" else "int32"
        _check_array(f"state.items.{field.name}", getattr(items, field.name),
                     (*batch, *shapes.get(field.name, (a, slots))), dtype)
    if isinstance(items.kind, jax.core.Tracer):
        return
    kind, level, quantity, equipped = (np.asarray(x) for x in (
        items.kind, items.level, items.quantity, items.equipped))
    empty, dead = kind == 0, ~np.asarray(state.agents.alive)[..., None]
    slot_of = np.asarray(EQUIP_SLOT_OF)[np.clip(kind, 0, NUM_ITEM_KINDS - 1)]
    rules = (
        ("kind", (kind < 0) | (kind == 1) | (kind >= NUM_ITEM_KINDS), "an item kind (0 or 2..17)"),
        ("quantity", (quantity < 0) | (empty != (quantity == 0)),
         "0 exactly in empty slots, else above 0"),
        ("level", ~empty & (level < 1), "at least 1 in occupied slots"),
        ("equipped", equipped & (slot_of < 0),
         "only on equipment (never an empty slot or a consumable)"),
        ("kind", dead & ~empty, "empty in a dead agent's rows"),
    )
    for name, bad, expected in rules:
        if np.any(bad):
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"state.items.{name}{list(where)}: expected {expected}, got "
                             f"{np.asarray(getattr(items, name))[where]}")
    for slot in range(NUM_EQUIP_SLOTS):
        worn = np.sum(equipped & (slot_of == slot), axis=-1)
        if np.any(worn > 1):
            where = tuple(int(i) for i in np.argwhere(worn > 1)[0])
            raise ValueError(f"state.items.equipped{list(where)}: {int(worn[where])} items in "
                             f"equipment slot {slot}; expected at most one")
    for name in ("gold", "npc_gold", "prof_xp"):
        value = np.asarray(getattr(items, name))
        if np.any(value < 0):
            where = tuple(int(i) for i in np.argwhere(value < 0)[0])
            raise ValueError(f"state.items.{name}{list(where)}: expected >= 0, got {value[where]}")
    if np.any(dead[..., 0] & (np.asarray(items.gold) != 0)):
        raise ValueError("state.items.gold: expected 0 in a dead agent's slot")


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
