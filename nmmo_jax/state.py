"""The pytrees of the game: State (with Agents and, when on, Npcs), Obs and Actions.

Every per-agent array has a leading agent-slot axis of size
`config.num_agents` (A), every per-NPC array one of `config.num_npcs` (N).
A variable population is these padded slots plus `alive`. Nothing derived
(levels, occupancy, entity lists) is stored: any state built with
`.replace(...)` on these fields is valid to step from.

Attacks and entity rows name a body by its index in one space of
A + N slots (`Config.num_slots`): agent slot i is i, NPC slot j is A + j.
With N = 0 that is v1.3's space of agent slots.
"""
from __future__ import annotations

import jax.numpy as jnp
from flax import struct

# Tile types (docs/rules.md §1).
LAVA, WATER, GRASS, SCRUB, FOREST, STONE = range(6)
NUM_TILE_TYPES = 6
TILE_NAMES = ("lava", "water", "grass", "scrub", "forest", "stone")
# Resource tiles with professions on (docs/rules.md §10.6), each full kind followed
# by its harvested (depleted) kind, after nmmo 2.1.2's materials; fish and ocean
# are water-like and block movement.
ORE, SLAG, TREE, STUMP, CRYSTAL, FRAGMENT, HERB, WEEDS, FISH, OCEAN = range(6, 16)
NUM_PROFESSION_TILE_TYPES = 16
PROFESSION_TILE_NAMES = TILE_NAMES + ("ore", "slag", "tree", "stump", "crystal", "fragment",
                                      "herb", "weeds", "fish", "ocean")

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
# Columns appended to Obs.entities when NPCs are on (Config.num_npcs > 0): the
# row's kind as one-hot (all 0 for an agent) and its combat level / max_level.
NPC_ENTITY_FEATURES = ("npc_passive", "npc_neutral", "npc_hostile", "level")
# The column appended to Obs.entities when items are on (Config.inventory_slots > 0):
# the levels of the equipment worn and held, summed, / (NUM_EQUIP_SLOTS *
# Params.item_level_max) (0 for an NPC; docs/rules.md §10.8).
ITEM_ENTITY_FEATURES = ("item_level",)

# Npcs.kind values (nmmo 2.x's npc_type numbers; 0 is an agent in its tables).
PASSIVE, NEUTRAL, HOSTILE = 1, 2, 3
NPC_KIND_NAMES = ("agent", "passive", "neutral", "hostile")

# info["death_cause"] values.
# CAUSE_NPC (killed mostly by NPCs) occurs only with NPCs on (docs/rules.md §9.5).
CAUSE_NONE, CAUSE_LAVA, CAUSE_STARVATION, CAUSE_COMBAT, CAUSE_NPC = range(5)
CAUSE_NAMES = ("none", "lava", "starvation", "combat", "npc")


# Item kinds (docs/rules.md §10): nmmo 2.1.2's ITEM_TYPE_IDs (nmmo/systems/item.py);
# 0 is an empty inventory slot (nmmo's id 1 is unused).
(HAT, TOP, BOTTOM, SPEAR, BOW, WAND, ROD, GLOVES, PICKAXE, AXE, CHISEL,
 WHETSTONE, ARROW, RUNES, RATION, POTION) = range(2, 18)
NUM_ITEM_KINDS = 18
ITEM_NAMES = ("empty", "unused", "hat", "top", "bottom", "spear", "bow", "wand", "rod",
              "gloves", "pickaxe", "axe", "chisel", "whetstone", "arrow", "runes", "ration",
              "potion")
ARMOR_KINDS, WEAPON_KINDS = (HAT, TOP, BOTTOM), (SPEAR, BOW, WAND)  # weapons by style
TOOL_KINDS = (ROD, GLOVES, PICKAXE, AXE, CHISEL)  # by profession
AMMUNITION_KINDS = (WHETSTONE, ARROW, RUNES)  # by style; the only kinds that stack
CONSUMABLE_KINDS = (RATION, POTION)
# Equipment slots an item goes to when used: hat, top, bottom, held (weapon or
# tool), ammunition; NO_EQUIP_SLOT for consumables.
HAT_SLOT, TOP_SLOT, BOTTOM_SLOT, HELD_SLOT, AMMUNITION_SLOT = range(5)
NUM_EQUIP_SLOTS, NO_EQUIP_SLOT = 5, -1
EQUIP_SLOT_OF = ((NO_EQUIP_SLOT, NO_EQUIP_SLOT, HAT_SLOT, TOP_SLOT, BOTTOM_SLOT)
                 + (HELD_SLOT,) * 8 + (AMMUNITION_SLOT,) * 3 + (NO_EQUIP_SLOT,) * 2)
# Columns of Obs.inventory (float32; docs/rules.md §10.8): the kind one-hot over
# ITEM_NAMES[2:] (all 0 in an empty slot), level / Params.item_level_max,
# quantity as min(log2(1 + quantity) / 10, 1) (1 item: 0.1; 1,023 or more: 1),
# equipped (0 or 1).
ITEM_FEATURES = ITEM_NAMES[2:] + ("level", "quantity", "equipped")
NUM_ITEM_FEATURES = len(ITEM_FEATURES)

# Professions (docs/rules.md §10), the columns of Items.prof_xp, each with the tool
# that raises its harvest's level: rod, gloves, pickaxe, axe, chisel.
FISHING_PROF, HERBALISM, PROSPECTING, CARVING, ALCHEMY = range(5)
PROFESSION_NAMES = ("fishing", "herbalism", "prospecting", "carving", "alchemy")
NUM_PROFESSIONS = 5


def entity_feature_names(num_npcs: int, inventory_slots: int = 0) -> tuple[str, ...]:
    """The columns of Obs.entities: ENTITY_FEATURES (v1.3's), plus
    NPC_ENTITY_FEATURES when NPCs are on (num_npcs > 0), plus
    ITEM_ENTITY_FEATURES when items are on (inventory_slots > 0)."""
    return (ENTITY_FEATURES + (NPC_ENTITY_FEATURES if num_npcs else ())
            + (ITEM_ENTITY_FEATURES if inventory_slots else ()))


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
class Npcs:
    """Struct-of-arrays over N NPC slots (all int32 unless noted; docs/rules.md §9).

    alive [N] bool; pos [N, 2] (row, col); kind [N] (PASSIVE, NEUTRAL,
    HOSTILE); level [N] (its attack style's level and its defense level,
    fixed at spawn); style [N] (the one style it attacks with); health [N];
    freeze [N] (ticks left); damage [N] (combat damage received this tick);
    time_alive [N]; target [N] (slot of the agent it pursues, -1 none);
    attacker [N] (slot of the agent that attacked it in the last tick, -1
    none); ring [N] (Chebyshev distance from the map's spawn ring of the cell
    it last spawned on, where the slot respawns; -1: anywhere).

    Memory (target, attacker) is forgotten in the tick its agent dies, so a
    slot refilled by a newcomer is never taken for the agent that held it.
    """

    alive: jnp.ndarray
    pos: jnp.ndarray
    kind: jnp.ndarray
    level: jnp.ndarray
    style: jnp.ndarray
    health: jnp.ndarray
    freeze: jnp.ndarray
    damage: jnp.ndarray
    time_alive: jnp.ndarray
    target: jnp.ndarray
    attacker: jnp.ndarray
    ring: jnp.ndarray


@struct.dataclass
class Items:
    """The item economy over A agent slots (docs/rules.md §10), I = Config.inventory_slots.

    kind [A, I] int32 (0: empty slot; else an ITEM_NAMES index); level [A, I]
    int32 (1 .. Params.item_level_max); quantity [A, I] int32 (0 exactly in
    empty slots; above 1 only for ammunition, which stacks by kind and
    level); equipped [A, I] bool (at most one item per equipment slot of
    EQUIP_SLOT_OF, never an empty slot); gold [A] int32; prof_xp [A, 5]
    int32 in PROFESSION_NAMES order (stays 0 without professions);
    npc_gold [N] int32, the gold each NPC slot carries (N = Config.num_npcs,
    possibly 0).

    Items live only in these rows: every item is in exactly one slot of one
    agent, and a dead agent's rows are empty (its items went to its killer
    or were destroyed in the tick it died).
    """

    kind: jnp.ndarray
    level: jnp.ndarray
    quantity: jnp.ndarray
    equipped: jnp.ndarray
    gold: jnp.ndarray
    prof_xp: jnp.ndarray
    npc_gold: jnp.ndarray


@struct.dataclass
class State:
    """One world: tiles [H, W] int8 (tile types), agents, tick (int32 scalar),
    npcs (an Npcs of `config.num_npcs` slots, or None when NPCs are off),
    items (Items when `config.inventory_slots` > 0, else None).

    NPCs are a field of their own rather than extra agent slots: the systems
    that only agents have (forage, starvation, spawn on the ring, rewards)
    keep their shapes, and with NPCs off `npcs` is None, a pytree without
    leaves, so State, its leaves and every compiled program are v1.3's.
    """

    tiles: jnp.ndarray
    agents: Agents
    tick: jnp.ndarray
    npcs: Npcs | None = None
    items: Items | None = None


@struct.dataclass
class Obs:
    """Per-slot observation (docs/rules.md §5); V = 2 * vision + 1, K = max_entities.

    tiles [A, V, V] int8 tile types (off-map reads as lava);
    tile_agents [A, V, V] int8 living agents per tile, and NPCs when they are
    on (clipped at 127);
    entities [A, K, F] float32 features (`entity_feature_names(num_npcs,
    inventory_slots)`: F = 15, 19 with NPCs, one more with items), row 0 =
    the observer;
    entity_mask [A, K] bool real rows; entity_slot [A, K] int32 slot of each
    row in the space of A + N slots (padding rows carry the observer's slot);
    move_mask [A, 5] bool; target_mask [A, 3, K] bool per style (row 0, no
    attack, always valid).

    With items on (I = Config.inventory_slots > 0; else these are None):
    inventory [A, I, NUM_ITEM_FEATURES] float32 (ITEM_FEATURES per slot);
    use_mask [A, I] bool (the slot holds an item the agent may use now);
    destroy_mask [A, I] bool (it holds an item that is not equipped, which is
    also what may be given); gold [A] int32 (the agent's gold, unscaled);
    give_mask [A, K] bool (the entity row is an agent on the observer's tile
    that may be given to). docs/rules.md §10.8.
    """

    tiles: jnp.ndarray
    tile_agents: jnp.ndarray
    entities: jnp.ndarray
    entity_mask: jnp.ndarray
    entity_slot: jnp.ndarray
    move_mask: jnp.ndarray
    target_mask: jnp.ndarray
    inventory: jnp.ndarray | None = None
    use_mask: jnp.ndarray | None = None
    destroy_mask: jnp.ndarray | None = None
    gold: jnp.ndarray | None = None
    give_mask: jnp.ndarray | None = None


# The optional fields of Actions, None unless items are on (docs/rules.md §10.4, §10.5a).
ITEM_ACTIONS = ("use", "destroy", "give", "give_to", "give_gold")


@struct.dataclass
class Actions:
    """int32 [A] each: move 0..4 (stay N S E W), style 0..2 (melee range mage),
    target = slot to attack: an agent's slot, or A + j for NPC j (own slot =
    no attack).

    With items on (docs/rules.md §10.4): use and destroy, the inventory slot
    (0 .. Config.inventory_slots - 1) to use or destroy; any other value, or
    None (the default, and the only value with items off), does nothing.
    give (an inventory slot) and give_gold (an amount) go to give_to, the
    slot of an agent on the giver's tile (§10.5a); None or a value out of
    range gives nothing.
    """

    move: jnp.ndarray
    style: jnp.ndarray
    target: jnp.ndarray
    use: jnp.ndarray | None = None
    destroy: jnp.ndarray | None = None
    give: jnp.ndarray | None = None
    give_to: jnp.ndarray | None = None
    give_gold: jnp.ndarray | None = None

    @classmethod
    def noop(cls, num_agents: int, inventory_slots: int = 0) -> "Actions":
        """Everyone stays and attacks nobody (and, with inventory_slots > 0, uses
        and destroys nothing: -1)."""
        slots = jnp.arange(num_agents, dtype=jnp.int32)
        zeros = jnp.zeros(num_agents, jnp.int32)
        if not inventory_slots:
            return cls(move=zeros, style=zeros, target=slots)
        none = jnp.full(num_agents, -1, jnp.int32)
        return cls(move=zeros, style=zeros, target=slots, use=none, destroy=none)
