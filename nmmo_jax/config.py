"""Game configuration: every number of RULES.md is a field with v1.3's default.

`Config` is a frozen, hashable dataclass so it can be a static argument of
`jax.jit`; every array shape in the game comes from it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Config:
    """Static game parameters (RULES.md numbers; defaults are Neural MMO v1.3)."""

    # World (RULES.md §1)
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

    # Agents (RULES.md §2)
    num_agents: int = 128
    num_populations: int = 8
    spawn_per_tick: int = 1
    spawn_immunity: int = 10
    constitution_start_level: int = 10
    fishing_start_level: int = 10
    hunting_start_level: int = 10
    combat_start_level: int = 1  # melee, range, mage and defense
    max_level: int = 99

    # Experience (RULES.md §2 table)
    xp_constitution_per_damage: int = 20  # dealt and received
    xp_combat_per_damage: int = 40  # style used, per damage dealt
    xp_defense_per_damage: int = 40  # per damage received
    xp_fishing_per_water: int = 10
    xp_hunting_per_food: int = 10

    # Resources (RULES.md §3.3-4)
    food_decay: int = 1
    water_decay: int = 1
    eat_fraction: float = 0.5  # food gained = floor(eat_fraction * hunting level)
    drink_fraction: float = 0.5  # water gained = floor(drink_fraction * fishing level)
    heal_fraction: float = 0.1  # health gained = floor(heal_fraction * constitution level)
    starve_damage: int = 1
    thirst_damage: int = 1

    # Combat (RULES.md §3.6)
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

    # Observation (RULES.md §5)
    vision: int = 7  # window radius: (2 * vision + 1) ** 2 tiles
    max_entities: int = 16

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ presets
    PRESETS: ClassVar[tuple[str, ...]] = ("small", "default", "large")

    @classmethod
    def preset(cls, name: str, **overrides) -> "Config":
        """The named scale preset (RULES.md §6) with some fields overridden.

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
    def style_ranges(self) -> tuple[int, int, int]:
        return (self.melee_range, self.range_range, self.mage_range)

    @property
    def style_damage(self) -> tuple[tuple[float, float], ...]:
        return (self.melee_damage, self.range_damage, self.mage_damage)

    # ------------------------------------------------------------- validation
    def validate(self) -> None:
        """Raise ValueError naming the first field that makes no sense."""

        def bad(name: str, why: str) -> None:
            raise ValueError(f"Config.{name}={getattr(self, name)!r}: {why}")

        for name in ("map_size", "num_agents", "num_populations", "noise_octaves",
                     "max_entities", "max_level", "freeze_ticks"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                bad(name, "must be an integer >= 1")
        for name in ("border", "vision", "spawn_per_tick", "spawn_immunity",
                     "food_decay", "water_decay", "starve_damage", "thirst_damage",
                     "melee_range", "range_range", "mage_range",
                     "xp_constitution_per_damage", "xp_combat_per_damage",
                     "xp_defense_per_damage", "xp_fishing_per_water",
                     "xp_hunting_per_food"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                bad(name, "must be an integer >= 0")
        for name in ("constitution_start_level", "fishing_start_level",
                     "hunting_start_level", "combat_start_level"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= self.max_level:
                bad(name, f"must be an integer level in [1, max_level={self.max_level}]")
        if self.max_level > 99:
            bad("max_level", "the experience table ends at level 99")
        if self.ring_side < 3:
            bad("border", f"leaves no interior on a {self.map_size}x{self.map_size} map")
        if self.window > self.map_size:
            bad("vision", f"window {self.window} is larger than the map ({self.map_size})")
        if self.num_populations > self.num_agents:
            bad("num_populations", "more populations than agent slots")
        if self.spawn_per_tick > self.num_agents:
            bad("spawn_per_tick", "more than num_agents")
        for name in ("regrow_prob", "hit_base", "eat_fraction", "drink_fraction",
                     "heal_fraction", "noise_persistence"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                bad(name, "must be a probability/fraction in [0, 1]")
        if not 0.0 < self.water_threshold <= self.grass_threshold <= self.forest_threshold <= 1.0:
            bad("water_threshold", "need 0 < water <= grass <= forest thresholds <= 1")
        for name in ("noise_frequency", "noise_scale", "hit_level_divisor",
                     "damage_level_divisor"):
            if not float(getattr(self, name)) > 0:
                bad(name, "must be > 0")
        for name in ("melee_damage", "range_damage", "mage_damage"):
            value = getattr(self, name)
            if not (isinstance(value, tuple) and len(value) == 2 and all(v >= 0 for v in value)):
                bad(name, "must be a tuple (base, per_level) of two numbers >= 0")


# Fields each preset changes from the defaults; the noise frequency scales with the
# map so that features keep their size in tiles.
_PRESETS = {
    "small": dict(map_size=32, border=4, num_agents=16, num_populations=4,
                  noise_frequency=16.0 * 32 / 80, max_entities=8),
    "default": {},
    "large": dict(map_size=256, border=9, num_agents=1024, num_populations=16,
                  noise_frequency=16.0 * 256 / 80),
}
