"""The game's numbers as data: `Params`, a pytree of scalars (docs/rules.md).

`Config` holds what sets array shapes or compiled structure and is static
under jit; every other number of the rules is a field of `Params`, an
ordinary argument of `reset` and `step`. Changing a value does not
recompile, and stacked params under `vmap` give each world its own numbers:

    params = nmmo_jax.default_params(config, regrow_prob=0.01)
    batch = jax.tree.map(lambda *x: jnp.stack(x), params_a, params_b)   # [2]
    jax.vmap(nmmo_jax.step, in_axes=(0, 0, 0, None, 0))(keys, states, actions, config, batch)

Each leaf is a float32 or int32 scalar, or float32 [2] for the damage pairs
(base, per_level); stacked params add leading axes. `default_params` and
`check_params` check values where they are known (outside jit); inside jit
values are the caller's responsibility, as with actions.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from . import config as config_module
from .config import Config

_LIMIT = 2 ** 30  # any two such int32 values add or subtract without overflow
_OPEN = "open"  # a low bound that the value must exceed
# name: (kind, low, high). kind int (int32), real (float32) or pair (float32 [2]).
FIELDS: dict[str, tuple[str, float | str, float]] = {
    # World (docs/rules.md §1): map generation
    "noise_frequency": ("real", _OPEN, math.inf),
    "noise_persistence": ("real", 0.0, 1.0),
    "noise_scale": ("real", _OPEN, math.inf),
    "water_threshold": ("real", _OPEN, 1.0),
    "grass_threshold": ("real", 0.0, 1.0),
    "forest_threshold": ("real", 0.0, 1.0),
    "regrow_prob": ("real", 0.0, 1.0),
    # Agents (§2)
    "spawn_immunity": ("int", 0, _LIMIT),
    "constitution_start_level": ("int", 1, 99),
    "fishing_start_level": ("int", 1, 99),
    "hunting_start_level": ("int", 1, 99),
    "combat_start_level": ("int", 1, 99),
    # Experience (§2 table)
    "xp_constitution_per_damage": ("int", 0, _LIMIT),
    "xp_combat_per_damage": ("int", 0, _LIMIT),
    "xp_defense_per_damage": ("int", 0, _LIMIT),
    "xp_fishing_per_water": ("int", 0, _LIMIT),
    "xp_hunting_per_food": ("int", 0, _LIMIT),
    # Resources (§3.3-4)
    "food_decay": ("int", 0, _LIMIT),
    "water_decay": ("int", 0, _LIMIT),
    "eat_fraction": ("real", 0.0, 1.0),
    "drink_fraction": ("real", 0.0, 1.0),
    "heal_fraction": ("real", 0.0, 1.0),
    "starve_damage": ("int", 0, _LIMIT),
    "thirst_damage": ("int", 0, _LIMIT),
    # Combat (§3.6); a range is at most the vision radius (checked with the config)
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
    # NPCs (§9), read only when Config.num_npcs > 0; levels <= Config.max_level and
    # sight <= Config.vision (checked with the config)
    "npc_spawn_attempts": ("int", 0, _LIMIT),
    "npc_passive_danger": ("real", 0.0, 1.0),
    "npc_neutral_danger": ("real", 0.0, 1.0),
    "npc_hostile_danger": ("real", 0.0, 1.0),
    "npc_level_min": ("int", 1, 99),
    "npc_level_max": ("int", 1, 99),
    "npc_health": ("int", 1, _LIMIT),
    "npc_heal": ("int", 0, _LIMIT),
    "npc_sight": ("int", 0, _LIMIT),
    # Items (§10), read only when Config.inventory_slots > 0: gold, equipment, consumables
    "gold_start": ("int", 0, _LIMIT),
    "item_level_max": ("int", 1, 99),
    "weapon_damage": ("pair", 0.0, math.inf),
    "ammunition_damage": ("pair", 0.0, math.inf),
    "armor_defense": ("pair", 0.0, math.inf),
    "tool_defense": ("pair", 0.0, math.inf),
    "min_damage_fraction": ("real", 0.0, 1.0),
    "consumable_restore": ("pair", 0.0, math.inf),
    "npc_gold_per_level": ("int", 0, _LIMIT),
    # Professions (§10), read only when Config.professions is on: resource tiles, harvest
    "resource_cluster_density": ("real", 0.0, 1.0),
    "herb_density": ("real", 0.0, 1.0),
    "fish_density": ("real", 0.0, 1.0),
    "tree_respawn": ("real", 0.0, 1.0),
    "ore_respawn": ("real", 0.0, 1.0),
    "crystal_respawn": ("real", 0.0, 1.0),
    "herb_respawn": ("real", 0.0, 1.0),
    "fish_respawn": ("real", 0.0, 1.0),
    "weapon_drop_prob": ("real", 0.0, 1.0),
    "xp_ammunition_harvest": ("int", 0, _LIMIT),
    "xp_consumable_harvest": ("int", 0, _LIMIT),
    "profession_xp_base": ("real", _OPEN, math.inf),
}

# Neural MMO v1.3's values; noise_frequency scales with the map (see `default_params`).
V13 = {
    "noise_frequency": 16.0, "noise_persistence": 0.5, "noise_scale": 0.89,
    "water_threshold": 0.3, "grass_threshold": 0.57, "forest_threshold": 0.715,
    "regrow_prob": 0.025,
    "spawn_immunity": 10, "constitution_start_level": 10, "fishing_start_level": 10,
    "hunting_start_level": 10, "combat_start_level": 1,
    "xp_constitution_per_damage": 20, "xp_combat_per_damage": 40, "xp_defense_per_damage": 40,
    "xp_fishing_per_water": 10, "xp_hunting_per_food": 10,
    "food_decay": 1, "water_decay": 1, "eat_fraction": 0.5, "drink_fraction": 0.5,
    "heal_fraction": 0.1, "starve_damage": 1, "thirst_damage": 1,
    "melee_range": 1, "range_range": 2, "mage_range": 3,
    "hit_base": 0.5, "hit_level_divisor": 200.0,
    "melee_damage": (5.0, 45.0), "range_damage": (3.0, 32.0), "mage_damage": (1.0, 24.0),
    "damage_level_divisor": 99.0, "freeze_ticks": 3,
}
V13_MAP_SIZE = 80  # the map v1.3's noise frequency was set for
# nmmo 2.1.2's NPC numbers (nmmo/core/config.py, class NPC; docs/rules.md §9). An
# NPC's health is a new player's (PLAYER_BASE_HEALTH), here v1.3's 10; its sight is
# the players' vision radius (PLAYER_VISION_RADIUS, 7), so it defaults to Config.vision.
NPC_DEFAULTS = {
    "npc_spawn_attempts": 25, "npc_passive_danger": 0.0, "npc_neutral_danger": 0.5,
    "npc_hostile_danger": 0.8, "npc_level_min": 1, "npc_level_max": 10,
    "npc_health": 10, "npc_heal": 1, "npc_sight": 7,
}
# nmmo 2.1.2's item, equipment and profession numbers (nmmo/core/config.py classes
# Item, Equipment, Profession, Progression, Exchange; docs/rules.md §10). Damage and
# defence pairs are (base, per item level); consumable_restore is (base, per level) in
# percent of the maximum (nmmo: points of a 100-point bar). The densities are nmmo's
# Medium map counts (64 clusters of each of ore, tree, crystal; 256 herbs; 256 fish)
# per cell of its 128x128 interior.
ITEM_DEFAULTS = {
    "gold_start": 1, "item_level_max": 10, "weapon_damage": (5.0, 5.0),
    "ammunition_damage": (5.0, 10.0), "armor_defense": (0.0, 3.0), "tool_defense": (15.0, 0.0),
    "min_damage_fraction": 0.25, "consumable_restore": (50.0, 5.0), "npc_gold_per_level": 1,
    "resource_cluster_density": 64 / 128 ** 2, "herb_density": 256 / 128 ** 2,
    "fish_density": 256 / 128 ** 2, "tree_respawn": 0.105, "ore_respawn": 0.10,
    "crystal_respawn": 0.10, "herb_respawn": 0.02, "fish_respawn": 0.02,
    "weapon_drop_prob": 0.025, "xp_ammunition_harvest": 15, "xp_consumable_harvest": 30,
    "profession_xp_base": 90.0,
}
DEFAULTS = {**V13, **NPC_DEFAULTS, **ITEM_DEFAULTS}  # every field's default on v1.3's default preset
# Fields whose values must not decrease along the chain, with how a message names it.
_CHAINS = ((("water_threshold", "grass_threshold", "forest_threshold"),
            "0 < water <= grass <= forest <= 1", "water <= grass <= forest"),
           (("npc_passive_danger", "npc_neutral_danger", "npc_hostile_danger"),
            "passive <= neutral <= hostile", "passive <= neutral <= hostile"),
           (("npc_level_min", "npc_level_max"), "min <= max", "min <= max"))
# draw_params: each later group of fields draws from fold_in(key, its tag), so adding
# a group changes no earlier draw.
_DRAW_GROUPS = ((tuple(NPC_DEFAULTS), 1), (tuple(ITEM_DEFAULTS), 2))
config_module.PARAMS_FIELDS.update(FIELDS)


@struct.dataclass
class Params:
    """The numbers of the rules (docs/rules.md), one field per number.

    Leaves: float32 or int32 scalars, float32 [2] (base, per_level) for
    melee_damage, range_damage and mage_damage; any leading batch axes
    (one set per world under vmap). See `FIELDS` for kinds and ranges.
    """

    noise_frequency: Any
    noise_persistence: Any
    noise_scale: Any
    water_threshold: Any
    grass_threshold: Any
    forest_threshold: Any
    regrow_prob: Any
    spawn_immunity: Any
    constitution_start_level: Any
    fishing_start_level: Any
    hunting_start_level: Any
    combat_start_level: Any
    xp_constitution_per_damage: Any
    xp_combat_per_damage: Any
    xp_defense_per_damage: Any
    xp_fishing_per_water: Any
    xp_hunting_per_food: Any
    food_decay: Any
    water_decay: Any
    eat_fraction: Any
    drink_fraction: Any
    heal_fraction: Any
    starve_damage: Any
    thirst_damage: Any
    melee_range: Any
    range_range: Any
    mage_range: Any
    hit_base: Any
    hit_level_divisor: Any
    melee_damage: Any
    range_damage: Any
    mage_damage: Any
    damage_level_divisor: Any
    freeze_ticks: Any
    npc_spawn_attempts: Any
    npc_passive_danger: Any
    npc_neutral_danger: Any
    npc_hostile_danger: Any
    npc_level_min: Any
    npc_level_max: Any
    npc_health: Any
    npc_heal: Any
    npc_sight: Any
    gold_start: Any
    item_level_max: Any
    weapon_damage: Any
    ammunition_damage: Any
    armor_defense: Any
    tool_defense: Any
    min_damage_fraction: Any
    consumable_restore: Any
    npc_gold_per_level: Any
    resource_cluster_density: Any
    herb_density: Any
    fish_density: Any
    tree_respawn: Any
    ore_respawn: Any
    crystal_respawn: Any
    herb_respawn: Any
    fish_respawn: Any
    weapon_drop_prob: Any
    xp_ammunition_harvest: Any
    xp_consumable_harvest: Any
    profession_xp_base: Any

    @property
    def style_ranges(self) -> jnp.ndarray:
        """int32 [..., 3]: the melee, range and mage reach."""
        return jnp.stack([self.melee_range, self.range_range, self.mage_range], axis=-1)

    @property
    def style_damage(self) -> jnp.ndarray:
        """float32 [..., 3, 2]: (base, per_level) of each style's damage."""
        return jnp.stack([self.melee_damage, self.range_damage, self.mage_damage], axis=-2)


def dtype_of(name: str) -> np.dtype:
    """The dtype of a field's leaves: int32 for integer fields, else float32."""
    return np.dtype(np.int32 if FIELDS[name][0] == "int" else np.float32)


def shape_of(name: str) -> tuple[int, ...]:
    """A field's shape per world: (2,) for the damage pairs, () otherwise."""
    return (2,) if FIELDS[name][0] == "pair" else ()


def default_params(config: Config, **changes) -> Params:
    """v1.3's numbers (and nmmo 2.1.2's for NPCs) for `config`, with some fields
    changed (checked).

    The noise frequency scales with the map (16 on v1.3's 80x80 map, 6.4 on
    the small preset's 32x32), so that features keep their size in tiles; an
    NPC sees as far as an agent (npc_sight = Config.vision).
    Raises ValueError naming the first unknown field or bad value.
    """
    _check_config(config)
    values = dict(DEFAULTS, noise_frequency=V13["noise_frequency"] * config.map_size / V13_MAP_SIZE,
                  npc_sight=config.vision)
    for name, value in changes.items():
        if name not in FIELDS:
            raise ValueError(unknown_field_message(name))
        values[name] = _checked(name, value)
    params = Params(**{name: np.asarray(value, dtype_of(name)) for name, value in values.items()})
    _check_between(params, config)
    return params


def unknown_field_message(name: str) -> str:
    """The one-line error for a name that is no Params field (a Config field is named as one)."""
    if name in {f.name for f in dataclasses.fields(Config)}:
        return (f"{name}: a Config field (it sets shapes or compiled structure), not a "
                "Params field")
    return f"{name}: not a Params field (fields: {', '.join(FIELDS)})"


def resolve(params: Params | None, config: Config) -> Params:
    """`params`, or the defaults for `config` when None, with each leaf cast to
    its dtype (so `params.replace(food_decay=2)` is fine). Traceable."""
    if params is None:
        return default_params(config)
    if not isinstance(params, Params):
        raise ValueError(f"params: expected a nmmo_jax.Params (from default_params), got "
                         f"{type(params).__name__}")
    return Params(**{name: jnp.asarray(getattr(params, name), dtype_of(name)) for name in FIELDS})


def values(params: Params | None, config: Config) -> dict:
    """{field: value} of every field (None: the defaults) as JSON numbers, a damage
    pair as [base, per_level]."""
    params = default_params(config) if params is None else params
    return {name: np.asarray(getattr(params, name)).tolist() for name in FIELDS}


def changes(params: Params | None, config: Config) -> dict:
    """{field: value} of the fields that differ from `default_params(config)` ({} for
    None or the defaults): what a result records of the numbers it was played with."""
    defaults = values(None, config)
    return {name: v for name, v in values(params, config).items() if v != defaults[name]}


def stack(params: list[Params]) -> Params:
    """One Params with a leading axis over the given sets (one per world)."""
    return jax.tree.map(lambda *x: np.stack([np.asarray(v) for v in x]), *params)


def check_params(params: Any, config: Config, batch: tuple[int, ...] = (),
                 values: bool = True) -> None:
    """Raise ValueError naming the first field of `params` that is wrong for `config`.

    batch: leading axes of stacked params (e.g. (W,) for one set per world).
    Checks type, dtype and shape of every field, then (outside jit, where
    values are known) each value's range and the rules between fields:
    water <= grass <= forest thresholds, passive <= neutral <= hostile NPC
    dangers, npc_level_min <= npc_level_max, start and NPC levels <=
    config.max_level, ranges and NPC sight <= config.vision, and no int32
    overflow of a tick's damage or XP.
    values=False checks only what shapes and dtypes say: for a per-tick door
    whose numbers were checked once already (no host transfer every tick).
    """
    _check_config(config)
    if not isinstance(params, Params):
        raise ValueError(f"params: expected a nmmo_jax.Params (from default_params), got "
                         f"{type(params).__name__}")
    traced = False
    for name in FIELDS:
        value = getattr(params, name)
        shape = (*batch, *shape_of(name))
        if not hasattr(value, "shape") or tuple(np.shape(value)) != shape:
            raise ValueError(f"Params.{name}: expected shape {shape}, got "
                             f"{tuple(np.shape(value)) if hasattr(value, 'shape') else type(value).__name__}")
        got = np.dtype(value.dtype)
        want = dtype_of(name)
        if want == np.int32 and not np.issubdtype(got, np.integer) or \
                want == np.float32 and not np.issubdtype(got, np.floating):
            raise ValueError(f"Params.{name}: expected {want.name} values, got {got.name}")
        traced |= isinstance(value, jax.core.Tracer)  # values are the caller's inside jit
        if traced or not values:
            continue
        for v in np.asarray(value).reshape(-1, *shape_of(name)):
            _checked(name, v.tolist())
    if values:
        _check_between(params, config)


def _check_config(config: Any) -> None:
    if not isinstance(config, Config):
        raise ValueError(f"config: expected a nmmo_jax.Config, got {type(config).__name__}")


def _checked(name: str, value):
    """value as a Python int, float or pair of floats, or ValueError naming the field."""
    kind, low, high = FIELDS[name]

    def bad(why: str) -> ValueError:
        return ValueError(f"Params.{name}={value!r}: {why}")

    is_bool = isinstance(value, (bool, np.bool_))
    if kind == "pair":
        pair = "must be a pair (base, per_level) of finite numbers >= 0"
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
            raise bad(pair)
        try:
            return tuple(_checked_real(name, v, low, high) for v in value)
        except ValueError:
            raise bad(pair) from None
    if kind == "int":
        if is_bool or not isinstance(value, (int, np.integer)):
            if isinstance(value, (float, np.floating)) and float(value).is_integer():
                value = int(value)  # 2.0 from a command line or an array is 2
            else:
                raise bad(f"must be an integer, not {type(value).__name__}")
        value = int(value)
        if value < low or value > high:
            raise bad(f"must be >= {low} and <= {high}")
        return value
    return _checked_real(name, value, low, high)


def _checked_real(name: str, value, low, high) -> float:
    def bad(why: str) -> ValueError:
        return ValueError(f"Params.{name}={value!r}: {why}")

    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise bad(f"must be a number, not {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise bad("must be finite")
    if (value <= 0 if low == _OPEN else value < low) or value > high:
        floor = "> 0" if low == _OPEN else f">= {low}"
        raise bad(f"must be {floor} and <= {high}" if high != math.inf else f"must be {floor}")
    return value


def _check_between(params: Params, config: Config) -> None:
    """The rules between fields, and between fields and the config (known values only)."""
    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(params)):
        return
    v = {name: np.asarray(getattr(params, name)) for name in FIELDS}

    def bad(name: str, why: str) -> ValueError:
        shown = v[name].tolist()
        return ValueError(f"Params.{name}={shown!r}: {why}")

    for name in ("constitution_start_level", "fishing_start_level", "hunting_start_level",
                 "combat_start_level", "npc_level_min", "npc_level_max"):
        if np.any(v[name] > config.max_level):
            raise bad(name, f"must be a level <= Config.max_level={config.max_level}")
    for name in ("melee_range", "range_range", "mage_range"):
        if np.any(v[name] > config.vision):
            raise bad(name, f"must be <= Config.vision={config.vision}: a target is attacked "
                            "from the observation window")
    if np.any(v["npc_sight"] > config.vision):
        raise bad("npc_sight", f"must be <= Config.vision={config.vision}: an NPC looks for "
                               "agents in a window of that radius")
    for chain, rule, _ in _CHAINS:
        for lower, upper in zip(chain, chain[1:]):
            if np.any(v[lower] > v[upper]):
                raise bad(lower, f"must be <= {upper}={v[upper].tolist()!r} ({rule})")
    top = v["noise_frequency"].astype(np.float64) * 2.0 ** (config.noise_octaves - 1)
    if np.any(top > 2 ** 24):
        raise bad("noise_frequency", f"the top octave's frequency noise_frequency * "
                  f"2**(Config.noise_octaves - 1) = {float(np.max(top)):g} is above 2**24")
    # A tick's damage: every agent and NPC hits one target with the strongest style at
    # max level (num_slots = num_agents with NPCs off).
    hits = {name: v[name][..., 0].astype(np.float64) + v[name][..., 1].astype(np.float64)
            * config.max_level / v["damage_level_divisor"].astype(np.float64)
            for name in ("melee_damage", "range_damage", "mage_damage")}
    attackers = "Config.num_agents" if not config.num_npcs else "Config.num_slots"
    for name, hit in hits.items():
        if np.any(config.num_slots * hit > _LIMIT):
            raise bad(name, f"{attackers} * the hit at max level ({float(np.max(hit)):g}) "
                            "is above 2**30: a tick's damage would overflow int32")
    strongest = np.max(np.stack(list(hits.values())), axis=0)
    if config.inventory_slots:  # a held weapon and ammunition add to every hit (§10.2)
        for name in ("weapon_damage", "ammunition_damage"):
            strongest = strongest + v[name][..., 0].astype(np.float64) + v[name][..., 1].astype(
                np.float64) * v["item_level_max"]
            if np.any(config.num_slots * strongest > _LIMIT):
                raise bad(name, f"{attackers} * the hit at max level with weapon and ammunition "
                                f"of level item_level_max ({float(np.max(strongest)):g}) is above "
                                "2**30: a tick's damage would overflow int32")
    # dealt + received, per world: stacked params pair each world's XP with its own damage
    tick_damage = 2 * config.num_slots * strongest
    for name in ("xp_constitution_per_damage", "xp_combat_per_damage", "xp_defense_per_damage"):
        over = v[name].astype(np.float64) * tick_damage > _LIMIT
        if np.any(over):
            raise bad(name, f"times a tick's damage (up to {float(np.max(tick_damage[over])):g}) "
                            "is above 2**30: XP would overflow int32")
    for name in ("xp_fishing_per_water", "xp_hunting_per_food"):
        if np.any(v[name].astype(np.float64) * config.max_level > _LIMIT):
            raise bad(name, "times Config.max_level is above 2**30: XP would overflow int32")


# ------------------------------------------------------------------ from text
def parse_value(name: str, text: str):
    """A field's value from text: "0.4", "2", or "5,45" for a damage pair.
    ValueError naming the field when it is no Params field or not a number."""
    if name not in FIELDS:
        raise ValueError(unknown_field_message(name))
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"Params.{name}={text!r}: not a number"
                         + (" pair BASE,PER_LEVEL" if FIELDS[name][0] == "pair" else "")) from None
    if FIELDS[name][0] == "pair":
        return tuple(numbers) if len(numbers) == 2 else text  # _checked names a bad pair
    if len(numbers) != 1:
        raise ValueError(f"Params.{name}={text!r}: one number expected")
    return numbers[0]


def parse_assignments(texts: list[str] | tuple[str, ...]) -> dict:
    """{field: value} from "FIELD=VALUE" strings (a command line's --params), unchecked
    beyond syntax; `default_params(config, **result)` checks the values."""
    out = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep:
            raise ValueError(f"--params {text!r}: expected FIELD=VALUE")
        out[name.strip()] = parse_value(name.strip(), value.strip())
    return out


# ------------------------------------------------------------- randomisation
@struct.dataclass
class ParamRanges:
    """Per-field ranges [low, high] to draw a world's numbers from (`draw_params`).
    A field with low == high is fixed at that value."""

    low: Params
    high: Params


def param_ranges(params: Params, ranges: dict, config: Config) -> ParamRanges:
    """ParamRanges: the fields of `ranges` {field: (low, high)} vary, the others
    stay at `params`' values. Raises ValueError naming the field for an unknown
    or Config field, low > high, or a bound that `check_params` refuses."""
    low, high = {}, {}
    for name, bounds in ranges.items():
        if name not in FIELDS:
            raise ValueError(unknown_field_message(name))
        try:
            lo, hi = bounds
        except (TypeError, ValueError):
            raise ValueError(f"{name}: expected a range (LO, HI), got {bounds!r}") from None
        lo, hi = _checked(name, lo), _checked(name, hi)
        if np.any(np.asarray(lo) > np.asarray(hi)):
            raise ValueError(f"{name}: LO={lo!r} > HI={hi!r}")
        low[name], high[name] = lo, hi
    base = {name: np.asarray(getattr(params, name)).tolist() for name in FIELDS}
    both = (default_params(config, **{**base, **low}), default_params(config, **{**base, **high}))
    # Every draw must keep each chain (water <= grass <= forest, ...), not only the two ends.
    for chain, _, rule in _CHAINS:
        for lower, upper in zip(chain, chain[1:]):
            if getattr(both[1], lower) > getattr(both[0], upper):
                reach, lowest = getattr(both[1], lower).tolist(), getattr(both[0], upper).tolist()
                raise ValueError(f"{lower}: its range reaches {reach!r}, above the lowest "
                                 f"{upper} {lowest!r}; a draw could break {rule}")
    # A hit grows as damage_level_divisor shrinks: the worst draw for the damage and XP
    # overflow checks pairs the highest damage and XP with the lowest divisor, which
    # neither end holds.
    worst = {**base, **high, "damage_level_divisor":
             low.get("damage_level_divisor", base["damage_level_divisor"])}
    try:
        default_params(config, **worst)
    except ValueError as error:
        raise ValueError(f"{error} (the ranges' highest damage and XP with their lowest "
                         "damage_level_divisor: a draw could reach it)") from None
    return ParamRanges(*both)


def draw_params(key: jax.Array, ranges: ParamRanges) -> Params:
    """One world's numbers, each field uniform in its [low, high] (integers:
    each value equally likely). Traceable; vmap over keys for many worlds.

    v1.3's fields draw from one split of the key, the NPC fields from a split
    of `fold_in(key, 1)`, the item fields of `fold_in(key, 2)`: adding a
    group changed no earlier draw.
    """
    v13 = [name for name in FIELDS if name in V13]
    keys = dict(zip(v13, jax.random.split(key, len(v13))))
    for names, tag in _DRAW_GROUPS:
        keys.update(zip(names, jax.random.split(jax.random.fold_in(key, tag), len(names))))

    def one(k, name):
        lo, hi = getattr(ranges.low, name), getattr(ranges.high, name)
        u = jax.random.uniform(k, jnp.shape(lo))
        if dtype_of(name) == np.int32:
            return jnp.minimum(lo + jnp.floor(u * (hi - lo + 1)).astype(jnp.int32), hi)
        return jnp.where(lo == hi, lo, jnp.minimum(lo + u * (hi - lo), hi))

    return Params(**{name: one(keys[name], name) for name in FIELDS})
