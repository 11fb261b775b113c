"""Game configuration: every number of docs/rules.md is a field with v1.3's default.

`Config` is a frozen, hashable dataclass so it can be a static argument of
`jax.jit`; every array shape in the game comes from it.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class Config:
    """Static game parameters (docs/rules.md numbers; defaults are Neural MMO v1.3)."""

    # World (docs/rules.md §1)
    map_size: int = 80
    border: int = 9  # lava rows/cols on each side; the spawn ring sits just inside
    noise_octaves: int = 8
    noise_frequency: float = 16.0  # octave-0 frequency over the whole map
    noise_persistence: float = 0.5  # amplitude ratio between octaves
    noise_scale: float = 0.89  # calibrates our simplex spread to the v1.3 interior mix
    water_threshold: float = 0.3
    grass_threshold: float = 0.57
    forest_threshold: float = 0.715
    regrow_prob: float = 0.025  # scrub -> forest per tick

    # Agents (docs/rules.md §2)
    num_agents: int = 128
    num_populations: int = 8
    spawn_per_tick: int = 1
    spawn_immunity: int = 10
    constitution_start_level: int = 10
    fishing_start_level: int = 10
    hunting_start_level: int = 10
    combat_start_level: int = 1  # melee, range, mage and defense
    max_level: int = 99

    # Experience (docs/rules.md §2 table)
    xp_constitution_per_damage: int = 20  # dealt and received
    xp_combat_per_damage: int = 40  # style used, per damage dealt
    xp_defense_per_damage: int = 40  # per damage received
    xp_fishing_per_water: int = 10
    xp_hunting_per_food: int = 10

    # Resources (docs/rules.md §3.3-4)
    food_decay: int = 1
    water_decay: int = 1
    eat_fraction: float = 0.5  # food gained = floor(eat_fraction * hunting level)
    drink_fraction: float = 0.5  # water gained = floor(drink_fraction * fishing level)
    heal_fraction: float = 0.1  # health gained = floor(heal_fraction * constitution level)
    starve_damage: int = 1
    thirst_damage: int = 1

    # Combat (docs/rules.md §3.6)
    melee_range: int = 1
    range_range: int = 2
    mage_range: int = 3
    hit_base: float = 0.5
    hit_level_divisor: float = 200.0  # chance = base + (L_att - L_def) / divisor
    melee_damage: tuple[float, float] = (5.0, 45.0)  # floor(a + b * level / 99)
    range_damage: tuple[float, float] = (3.0, 32.0)
    mage_damage: tuple[float, float] = (1.0, 24.0)
    damage_level_divisor: float = 99.0
    freeze_ticks: int = 3  # set by a mage hit: cannot move for freeze_ticks - 1 ticks

    # Observation (docs/rules.md §5)
    vision: int = 7  # window radius: (2 * vision + 1) ** 2 tiles
    max_entities: int = 16

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ presets
    PRESETS: ClassVar[tuple[str, ...]] = ("small", "default", "large")

    @classmethod
    def preset(cls, name: str, **overrides) -> "Config":
        """The named scale preset (docs/rules.md §6) with some fields overridden.

        small: 32x32 map, 16 agents in 4 populations (compiles in seconds, for
        tests); default: v1.3's 80x80 map, 128 agents in 8 populations; large:
        256x256 map, 1024 agents in 16 populations.
        """
        if name not in _PRESETS:
            raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(cls.PRESETS)}")
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
        return dataclasses.replace(self, **changes)

    # --------------------------------------------------------------- derived
    @property
    def window(self) -> int:
        """Side of the square observation window (15 for vision 7)."""
        return 2 * self.vision + 1

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

    @property
    def style_ranges(self) -> tuple[int, int, int]:
        return (self.melee_range, self.range_range, self.mage_range)

    @property
    def style_damage(self) -> tuple[tuple[float, float], ...]:
        return (self.melee_damage, self.range_damage, self.mage_damage)

    # ------------------------------------------------------------- validation
    def validate(self) -> None:
        """Raise ValueError naming the first field that makes no sense.

        Each field is checked for type (numpy numbers count as numbers and are
        stored as Python ones; bools and strings are refused), finiteness and
        range, then the rules between fields; together they keep every int32
        quantity of a tick (damage, XP, entity keys, cell indices) from
        overflowing.
        """
        for name, (kind, low, high) in _FIELDS.items():
            object.__setattr__(self, name, _checked(name, getattr(self, name), kind, low, high))
        self._check_between_fields()

    def _bad(self, name: str, why: str) -> ValueError:
        return ValueError(f"Config.{name}={getattr(self, name)!r}: {why}")

    def _check_between_fields(self) -> None:
        for name in ("constitution_start_level", "fishing_start_level",
                     "hunting_start_level", "combat_start_level"):
            if getattr(self, name) > self.max_level:
                raise self._bad(name, f"must be a level <= max_level={self.max_level}")
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
        chain = ("water_threshold", "grass_threshold", "forest_threshold")
        for lower, upper in zip(chain, chain[1:]):
            if getattr(self, lower) > getattr(self, upper):
                raise self._bad(lower, f"must be <= {upper}={getattr(self, upper)!r} "
                                "(0 < water <= grass <= forest <= 1)")
        top = self.noise_frequency * 2.0 ** (self.noise_octaves - 1)
        if top > 2 ** 24:
            raise self._bad("noise_frequency", f"the top octave's frequency noise_frequency * "
                            f"2**(noise_octaves - 1) = {top:g} is above 2**24")
        if (self.vision + 1) << max(self.num_agents.bit_length(), 1) > _INT32_MAX:
            raise self._bad("num_agents", f"with vision={self.vision}, entity keys "
                            "(distance, slot) overflow int32")
        # A tick's damage: every agent hits one target with the strongest style at max level.
        hits = [base + per_level * self.max_level / self.damage_level_divisor
                for base, per_level in self.style_damage]
        for name, hit in zip(("melee_damage", "range_damage", "mage_damage"), hits):
            if self.num_agents * hit > _LIMIT:
                raise self._bad(name, f"num_agents * the hit at max level ({hit:g}) is above "
                                "2**30: a tick's damage would overflow int32")
        tick_damage = 2 * self.num_agents * max(hits)  # dealt + received
        for name in ("xp_constitution_per_damage", "xp_combat_per_damage", "xp_defense_per_damage"):
            if getattr(self, name) * tick_damage > _LIMIT:
                raise self._bad(name, f"times a tick's damage (up to {tick_damage:g}) is above "
                                "2**30: XP would overflow int32")
        for name in ("xp_fishing_per_water", "xp_hunting_per_food"):
            if getattr(self, name) * self.max_level > _LIMIT:
                raise self._bad(name, "times max_level is above 2**30: XP would overflow int32")


# Fields each preset changes from the defaults; the noise frequency scales with the
# map so that features keep their size in tiles.
_PRESETS = {
    "small": dict(map_size=32, border=4, num_agents=16, num_populations=4,
                  noise_frequency=16.0 * 32 / 80, max_entities=8),
    "default": {},
    "large": dict(map_size=256, border=9, num_agents=1024, num_populations=16,
                  noise_frequency=16.0 * 256 / 80),
}


_INT32_MAX = 2 ** 31 - 1
_LIMIT = 2 ** 30  # any two such int32 values add or subtract without overflow
_OPEN = "open"  # a low bound that the value must exceed

# name: (kind, low, high); kind int, real (finite) or pair (base, per_level: two finite
# reals >= 0). Ranges that depend on other fields are checked in _check_between_fields.
_FIELDS: dict[str, tuple[str, float | str, float]] = {
    "map_size": ("int", 1, 46340),  # cell indices row * map_size + col fit int32
    "border": ("int", 0, _LIMIT),
    "noise_octaves": ("int", 1, 24),
    "noise_frequency": ("real", _OPEN, math.inf),
    "noise_persistence": ("real", 0.0, 1.0),
    "noise_scale": ("real", _OPEN, math.inf),
    "water_threshold": ("real", _OPEN, 1.0),
    "grass_threshold": ("real", 0.0, 1.0),
    "forest_threshold": ("real", 0.0, 1.0),
    "regrow_prob": ("real", 0.0, 1.0),
    "num_agents": ("int", 1, _LIMIT),
    "num_populations": ("int", 1, _LIMIT),
    "spawn_per_tick": ("int", 0, _LIMIT),  # 0: nobody spawns (scenes built by hand)
    "spawn_immunity": ("int", 0, _LIMIT),
    "constitution_start_level": ("int", 1, 99),
    "fishing_start_level": ("int", 1, 99),
    "hunting_start_level": ("int", 1, 99),
    "combat_start_level": ("int", 1, 99),
    "max_level": ("int", 1, 99),  # the experience table ends at level 99
    "xp_constitution_per_damage": ("int", 0, _LIMIT),
    "xp_combat_per_damage": ("int", 0, _LIMIT),
    "xp_defense_per_damage": ("int", 0, _LIMIT),
    "xp_fishing_per_water": ("int", 0, _LIMIT),
    "xp_hunting_per_food": ("int", 0, _LIMIT),
    "food_decay": ("int", 0, _LIMIT),
    "water_decay": ("int", 0, _LIMIT),
    "eat_fraction": ("real", 0.0, 1.0),
    "drink_fraction": ("real", 0.0, 1.0),
    "heal_fraction": ("real", 0.0, 1.0),
    "starve_damage": ("int", 0, _LIMIT),
    "thirst_damage": ("int", 0, _LIMIT),
    "melee_range": ("int", 0, _LIMIT),
    "range_range": ("int", 0, _LIMIT),
    "mage_range": ("int", 0, _LIMIT),
    "hit_base": ("real", 0.0, 1.0),
    "hit_level_divisor": ("real", _OPEN, math.inf),
    "melee_damage": ("pair", 0.0, math.inf),
    "range_damage": ("pair", 0.0, math.inf),
    "mage_damage": ("pair", 0.0, math.inf),
    "damage_level_divisor": ("real", _OPEN, math.inf),
    "freeze_ticks": ("int", 1, _LIMIT),
    "vision": ("int", 0, _LIMIT),
    "max_entities": ("int", 1, _LIMIT),
}


def _checked(name: str, value, kind: str, low: float | str, high: float):
    """value as a Python int, float or pair of floats, or ValueError naming the field."""
    def bad(why: str) -> ValueError:
        return ValueError(f"Config.{name}={value!r}: {why}")

    is_bool = isinstance(value, (bool, np.bool_))
    if kind == "int":
        if is_bool or not isinstance(value, numbers.Integral):
            raise bad(f"must be an integer, not {type(value).__name__}")
        value = int(value)
    elif kind == "real":
        if is_bool or not isinstance(value, numbers.Real):
            raise bad(f"must be a number, not {type(value).__name__}")
        value = float(value)
        if not math.isfinite(value):
            raise bad("must be finite")
    else:
        pair = "must be a pair (base, per_level) of finite numbers >= 0"
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
            raise bad(pair)
        try:
            return tuple(_checked(name, v, "real", low, high) for v in value)
        except ValueError:
            raise bad(pair) from None
    if (value <= 0 if low == _OPEN else value < low) or value > high:
        floor = "> 0" if low == _OPEN else f">= {low}"
        raise bad(f"must be {floor} and <= {high}" if high != math.inf else f"must be {floor}")
    return value
