"""Game configuration: what sets array shapes or compiled structure.

`Config` is a frozen, hashable dataclass so it can be a static argument of
`jax.jit`; every array shape in the game comes from it. The other numbers of
docs/rules.md are `Params` (nmmo_jax/params.py), data under jit.
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class Config:
    """What sets array shapes or compiled structure (docs/rules.md; defaults are v1.3's).

    Every other number of the rules is a field of `nmmo_jax.Params`, data
    that `reset` and `step` take as an argument (nmmo_jax/params.py).
    """

    # World (docs/rules.md §1)
    map_size: int = 80
    border: int = 9  # lava rows/cols on each side; the spawn ring sits just inside
    noise_octaves: int = 8

    # Agents (docs/rules.md §2)
    num_agents: int = 128
    num_populations: int = 8
    spawn_per_tick: int = 1
    max_level: int = 99

    # Observation (docs/rules.md §5)
    vision: int = 7  # window radius: (2 * vision + 1) ** 2 tiles
    max_entities: int = 16

    # NPCs (docs/rules.md §9): their slots; 0 turns them off (v1.3's game)
    num_npcs: int = 0

    # Items (docs/rules.md §10): inventory slots per agent (nmmo 2.x: 12); 0 turns the
    # item economy off (no items, gold, equipment, consumables or loot: v1.3's game)
    inventory_slots: int = 0
    # Professions (§10): resource tiles and harvesting them into items; needs items
    professions: bool = False

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ presets
    PRESETS: ClassVar[tuple[str, ...]] = ("small", "default", "large", "nmmo2")

    @classmethod
    def preset(cls, name: str, **overrides) -> "Config":
        """The named scale preset (docs/rules.md §6) with some fields overridden.

        small: 32x32 map, 16 agents in 4 populations (compiles in seconds, for
        tests); default: v1.3's 80x80 map, 128 agents in 8 populations; large:
        256x256 map, 1024 agents in 16 populations; nmmo2: nmmo 2.1.2's default
        world as far as our systems go (docs/rules.md §10.10): a 160x160 map with
        a 16-tile border (a 128x128 playable square), 128 agents in 8 populations,
        128 NPC slots, 12 inventory slots and the professions' resource tiles.
        """
        if name not in _PRESETS:
            raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(cls.PRESETS)}")
        _check_names(overrides)
        return cls(**{**_PRESETS[name], **overrides})

    @classmethod
    def small(cls, **overrides) -> "Config":
        """`Config.preset("small", **overrides)`."""
        return cls.preset("small", **overrides)

    @classmethod
    def large(cls, **overrides) -> "Config":
        """`Config.preset("large", **overrides)`."""
        return cls.preset("large", **overrides)

    def replace(self, **changes) -> "Config":
        """A validated copy with some fields changed."""
        _check_names(changes)
        return dataclasses.replace(self, **changes)

    # --------------------------------------------------------------- derived
    @property
    def window(self) -> int:
        """Side of the square observation window (15 for vision 7)."""
        return 2 * self.vision + 1

    @property
    def num_slots(self) -> int:
        """A + N: agent slots then NPC slots, the index space of attack targets
        and entity rows (NPC j is A + j; with no NPCs, v1.3's agent slots)."""
        return self.num_agents + self.num_npcs

    @property
    def ring_side(self) -> int:
        """Side length of the square spawn ring (62 on the default map)."""
        return self.map_size - 2 * self.border

    @property
    def num_ring_cells(self) -> int:
        return 4 * (self.ring_side - 1)

    @property
    def max_tick(self) -> int:
        """The last tick a world can reach: up to it every uid (tick * num_agents
        + slot) fits int32 and is unique (16,777,215 on the default preset,
        2,097,151 on the large one). `check_state` refuses to go past it."""
        return 2 ** 31 // self.num_agents - 1  # the largest T with T * A + A - 1 < 2**31

    # ------------------------------------------------------------- validation
    def validate(self) -> None:
        """Raise ValueError naming the first field that makes no sense.

        Each field is checked for type (numpy integers count and are stored as
        Python ones; bools, floats and strings are refused) and range, then the
        rules between fields; together they keep the entity keys and cell
        indices inside int32 (`check_params` does the same for damage and XP).
        """
        for name, (kind, low, high) in _FIELDS.items():
            object.__setattr__(self, name, _checked(name, getattr(self, name), kind, low, high))
        self._check_between_fields()

    def _bad(self, name: str, why: str) -> ValueError:
        return ValueError(f"Config.{name}={getattr(self, name)!r}: {why}")

    def _check_between_fields(self) -> None:
        if self.ring_side < 3:
            raise self._bad("border", f"leaves no interior on a {self.map_size}x{self.map_size} "
                            "map")
        if self.window > self.map_size:
            raise self._bad("vision", f"window {self.window} is larger than the map "
                            f"({self.map_size})")
        if self.num_agents % self.num_populations:
            raise self._bad("num_populations", f"must divide num_agents={self.num_agents} "
                            "(slot i belongs to population i mod num_populations)")
        if self.spawn_per_tick > self.num_agents:
            raise self._bad("spawn_per_tick", f"more than num_agents={self.num_agents}")
        if self.max_entities > self.num_agents:
            raise self._bad("max_entities", f"more entity rows than agents (num_agents="
                            f"{self.num_agents}); pass max_entities <= num_agents")
        if (self.vision + 1) << max(self.num_agents.bit_length(), 1) > _INT32_MAX:
            raise self._bad("num_agents", f"with vision={self.vision}, entity keys "
                            "(distance, slot) overflow int32")
        if self.professions and not self.inventory_slots:
            raise self._bad("professions", "harvests into items: needs inventory_slots > 0")
        if (self.vision + 1) << max(self.num_slots.bit_length(), 1) > _INT32_MAX:
            raise self._bad("num_npcs", f"with vision={self.vision} and num_agents="
                            f"{self.num_agents}, entity keys (distance, slot) overflow int32")


def _check_names(changes: dict) -> None:
    """ValueError for a change that names no Config field (a Params field is named as one)."""
    names = {f.name for f in dataclasses.fields(Config)}
    for name in changes:
        if name not in names:
            if name in PARAMS_FIELDS:
                raise ValueError(f"Config.{name}: a Params field (a number of the rules, data "
                                 f"under jit): nmmo_jax.default_params(config, {name}=...)")
            raise ValueError(f"Config.{name}: no such field (fields: {', '.join(sorted(names))})")


# The Params fields' names, registered by nmmo_jax.params (which imports this module),
# so that a number given to Config is named as a Params field.
PARAMS_FIELDS: set[str] = set()


# Fields each preset changes from the defaults (the noise frequency, a Params field,
# scales with the map: nmmo_jax.default_params).
_PRESETS = {
    "small": dict(map_size=32, border=4, num_agents=16, num_populations=4, max_entities=8),
    "default": {},
    "large": dict(map_size=256, border=9, num_agents=1024, num_populations=16),
    # nmmo 2.1.2's Default (Medium + AllGameSystems): MAP_SIZE 160, MAP_CENTER 128,
    # PLAYER_N 128, NPC_N 128, ITEM_INVENTORY_CAPACITY 12, every item system on;
    # populations and entity rows: docs/rules.md §10.10.
    "nmmo2": dict(map_size=160, border=16, num_agents=128, num_populations=8, max_entities=16,
                  num_npcs=128, inventory_slots=12, professions=True),
}


_INT32_MAX = 2 ** 31 - 1
_LIMIT = 2 ** 30  # any two such int32 values add or subtract without overflow
# name: (kind, low, high); every field is an int, or a flag (a bool; 0 and 1 count). Ranges that depend on other fields
# are checked in _check_between_fields.
_FIELDS: dict[str, tuple[str, int, int]] = {
    "map_size": ("int", 1, 46340),  # cell indices row * map_size + col fit int32
    "border": ("int", 0, _LIMIT),
    "noise_octaves": ("int", 1, 24),
    "num_agents": ("int", 1, _LIMIT),
    "num_populations": ("int", 1, _LIMIT),
    "spawn_per_tick": ("int", 0, _LIMIT),  # 0: nobody spawns (scenes built by hand)
    "max_level": ("int", 1, 99),  # the experience table ends at level 99
    "vision": ("int", 0, _LIMIT),
    "max_entities": ("int", 1, _LIMIT),
    "num_npcs": ("int", 0, _LIMIT),  # 0: no NPCs (v1.3)
    "inventory_slots": ("int", 0, 1024),  # 0: no items (v1.3)
    "professions": ("flag", 0, 1),
}


def _checked(name: str, value, kind: str, low: int, high: int) -> int:
    """value as a Python int (a flag as a bool), or ValueError naming the field."""
    if kind == "flag":
        if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral)
                                                   and int(value) in (0, 1)):
            return bool(value)
        raise ValueError(f"Config.{name}={value!r}: must be True or False")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"Config.{name}={value!r}: must be an integer, not {type(value).__name__}")
    value = int(value)
    if value < low or value > high:
        raise ValueError(f"Config.{name}={value!r}: must be >= {low} and <= {high}")
    return value
