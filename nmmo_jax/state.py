"""The pytrees of the game: State (with Agents), Obs and Actions.

Every per-agent array has a leading agent-slot axis of size
`config.num_agents` (A). A variable population is these padded slots plus
`agents.alive`. Nothing derived (levels, occupancy, entity lists) is stored:
any state built with `.replace(...)` on these fields is valid to step from.
"""
from __future__ import annotations

import jax.numpy as jnp
from flax import struct

# Tile types (docs/rules.md §1).
LAVA, WATER, GRASS, SCRUB, FOREST, STONE = range(6)
NUM_TILE_TYPES = 6
TILE_NAMES = ("lava", "water", "grass", "scrub", "forest", "stone")

# Moves: stay, N, S, E, W as (d_row, d_col).
STAY, NORTH, SOUTH, EAST, WEST = range(5)
NUM_MOVES = 5
MOVE_DELTAS = ((0, 0), (-1, 0), (1, 0), (0, 1), (0, -1))

# Combat styles.
MELEE, RANGE, MAGE = range(3)
NUM_STYLES = 3

# Columns of Agents.xp.
CONSTITUTION, MELEE_SKILL, RANGE_SKILL, MAGE_SKILL, DEFENSE, FISHING, HUNTING = range(7)
SKILL_NAMES = ("constitution", "melee", "range", "mage", "defense", "fishing", "hunting")
NUM_SKILLS = 7

# Columns of Obs.entities (all float32, normalised to about [-1, 1]).
ENTITY_FEATURES = (
    "is_self", "same_population", "rel_row", "rel_col", "damage", "time_alive",
    "food", "water", "health", "freeze", "immune",
    "melee_level", "range_level", "mage_level", "defense_level",
)
NUM_ENTITY_FEATURES = len(ENTITY_FEATURES)

# info["death_cause"] values.
CAUSE_NONE, CAUSE_LAVA, CAUSE_STARVATION, CAUSE_COMBAT = range(4)
CAUSE_NAMES = ("none", "lava", "starvation", "combat")


@struct.dataclass
class Agents:
    """Struct-of-arrays over A agent slots (all int32 unless noted).

    alive [A] bool; pos [A, 2] (row, col); population [A]; health, food,
    water [A]; immune, freeze [A] (ticks left); time_alive [A]; damage [A]
    (combat damage received this tick); xp [A, 7] in SKILL_NAMES order;
    uid [A] (tick * num_agents + slot at spawn; unique up to tick
    `Config.max_tick`, past which int32 would overflow).
    """

    alive: jnp.ndarray
    pos: jnp.ndarray
    population: jnp.ndarray
    health: jnp.ndarray
    food: jnp.ndarray
    water: jnp.ndarray
    immune: jnp.ndarray
    freeze: jnp.ndarray
    time_alive: jnp.ndarray
    damage: jnp.ndarray
    xp: jnp.ndarray
    uid: jnp.ndarray


@struct.dataclass
class State:
    """One world: tiles [H, W] int8 (tile types), agents, tick (int32 scalar)."""

    tiles: jnp.ndarray
    agents: Agents
    tick: jnp.ndarray


@struct.dataclass
class Obs:
    """Per-slot observation (docs/rules.md §5); V = 2 * vision + 1, K = max_entities.

    tiles [A, V, V] int8 tile types (off-map reads as lava);
    tile_agents [A, V, V] int8 living agents per tile (clipped at 127);
    entities [A, K, F] float32 features (ENTITY_FEATURES), row 0 = the observer;
    entity_mask [A, K] bool real rows; entity_slot [A, K] int32 slot of each
    row (padding rows carry the observer's slot); move_mask [A, 5] bool;
    target_mask [A, 3, K] bool per style (row 0, no attack, always valid).
    """

    tiles: jnp.ndarray
    tile_agents: jnp.ndarray
    entities: jnp.ndarray
    entity_mask: jnp.ndarray
    entity_slot: jnp.ndarray
    move_mask: jnp.ndarray
    target_mask: jnp.ndarray


@struct.dataclass
class Actions:
    """int32 [A] each: move 0..4 (stay N S E W), style 0..2 (melee range mage),
    target = slot of the agent to attack (own slot = no attack)."""

    move: jnp.ndarray
    style: jnp.ndarray
    target: jnp.ndarray

    @classmethod
    def noop(cls, num_agents: int) -> "Actions":
        """Everyone stays and attacks nobody."""
        slots = jnp.arange(num_agents, dtype=jnp.int32)
        zeros = jnp.zeros(num_agents, jnp.int32)
        return cls(move=zeros, style=zeros, target=slots)
