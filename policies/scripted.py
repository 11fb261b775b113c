"""Scripted, jittable baselines with the learned policy's call shape: (key, obs) -> Actions.

Each takes ONE world's observation (leaves [A, ...]) and is vmappable over
worlds. They read only the observation, like a learned policy would:

* `random_policy` (alias `random`): uniform over valid moves, styles and that
  style's valid targets.
* `forager`: walks the shortest path inside its window (around water, stone
  and lava) to the nearest forest or water edge, whichever of food and water
  is lower; never steps onto lava; wanders when neither is in sight.
* `careful_forager`: eats only at half food or less, keeps off forests on
  the way to water, walks away from lava when nothing is in sight.
* `yielding_forager`: `forager` that leaves a forest to an agent already
  standing on it.
* `combat`: `forager` that also attacks the valid target with the lowest
  health, with the style most likely to still reach after this tick's moves.

Two more know NPCs (docs/rules.md §9; the kind and level columns of the
entity rows). With NPCs off they play exactly as `careful_forager`:

* `wary_forager`: `careful_forager` that never steps where a hostile NPC in
  view could reach it after its next step, when any move avoids that.
* `hunter`: `wary_forager` that attacks the weakest passive or neutral NPC
  in reach whose level is at most its own (never an agent), and walks
  towards the nearest such NPC while its food, water and health are above half.

One uses items (docs/rules.md §10; the inventory rows and masks of the
observation). With items off it plays exactly as `wary_forager`:

* `gear_forager`: `wary_forager` that drinks a potion when hurt, eats a
  ration when hungry or thirsty, else puts on the best gear it can wear
  (the tool of the resource it harvests in the held slot), destroys spare
  duplicates when its inventory is full, and steps onto a resource tile
  next to it while fed and watered (`item_choice`, `gear_forager`).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

import nmmo_jax as nj
from nmmo_jax import Actions, Obs
from nmmo_jax.systems.inventory import is_kind

_FOOD = nj.ENTITY_FEATURES.index("food")
_WATER = nj.ENTITY_FEATURES.index("water")
_HEALTH = nj.ENTITY_FEATURES.index("health")
_REL_ROW = nj.ENTITY_FEATURES.index("rel_row")
_REL_COL = nj.ENTITY_FEATURES.index("rel_col")
_FAR = 10_000  # distance of an unreachable cell
# Columns that rows have only with NPCs on (nj.entity_feature_names(num_npcs > 0)).
_WITH_NPCS = nj.entity_feature_names(1)
_PASSIVE, _NEUTRAL, _HOSTILE, _LEVEL = (_WITH_NPCS.index(n) for n in nj.NPC_ENTITY_FEATURES)
# The game's default style ranges (melee, range, mage); `combat` takes others.
DEFAULT_RANGES = tuple(nj.params.V13[f"{s}_range"] for s in ("melee", "range", "mage"))


def masked_choice(key: jax.Array, mask: jnp.ndarray) -> jnp.ndarray:
    """Uniform index over the True entries of mask [..., N] (int32 [...])."""
    return jax.random.categorical(key, jnp.where(mask, 0.0, -jnp.inf)).astype(jnp.int32)


def random_policy(key: jax.Array, obs: Obs) -> Actions:
    """Uniform over valid moves, styles and that style's valid targets."""
    k_move, k_style, k_target = jax.random.split(key, 3)
    a = obs.move_mask.shape[0]
    move = masked_choice(k_move, obs.move_mask)
    style = jax.random.randint(k_style, (a,), 0, obs.target_mask.shape[1], jnp.int32)
    rows = jnp.take_along_axis(obs.target_mask, style[:, None, None], 1)[:, 0]
    index = masked_choice(k_target, rows)
    target = jnp.take_along_axis(obs.entity_slot, index[:, None], 1)[:, 0]
    return Actions(move=move, style=style, target=target)




def _neighbour(grid: jnp.ndarray, d_row: int, d_col: int, fill) -> jnp.ndarray:
    """grid[..., r + d_row, c + d_col] for every cell (fill outside the window)."""
    pad = [(0, 0)] * (grid.ndim - 2) + [(1, 1), (1, 1)]
    padded = jnp.pad(grid, pad, constant_values=fill)
    v_r, v_c = grid.shape[-2:]
    return padded[..., 1 + d_row: 1 + d_row + v_r, 1 + d_col: 1 + d_col + v_c]


def _distance_to(goals: jnp.ndarray, walkable: jnp.ndarray, steps: int) -> jnp.ndarray:
    """Walking distance (4-neighbour moves over walkable cells) from every cell
    to the nearest goal cell, exact up to `steps`; _FAR beyond that.
    goals, walkable bool [..., V, V] -> int32 [..., V, V]."""
    start = jnp.where(goals & walkable, 0, _FAR).astype(jnp.int32)

    def relax(_, dist):
        best = dist
        for d_row, d_col in nj.MOVE_DELTAS[1:]:
            best = jnp.minimum(best, _neighbour(dist, d_row, d_col, _FAR) + 1)
        return jnp.where(walkable, jnp.minimum(best, _FAR), _FAR)

    return jax.lax.fori_loop(0, steps, relax, start)


def _safe_moves(obs: Obs) -> jnp.ndarray:
    """Valid moves that do not end on lava, bool [A, 5] (stay is always safe)."""
    v = obs.tiles.shape[-1] // 2
    dest = jnp.stack([obs.tiles[:, v + dr, v + dc] for dr, dc in nj.MOVE_DELTAS], axis=-1)
    return (obs.move_mask & (dest != nj.LAVA)).at[:, 0].set(True)


def _water_edge(tiles: jnp.ndarray) -> jnp.ndarray:
    """Cells 4-adjacent to water, bool [A, V, V]."""
    water = tiles == nj.WATER
    edge = jnp.zeros_like(water)
    for d_row, d_col in nj.MOVE_DELTAS[1:]:
        edge = edge | _neighbour(water, d_row, d_col, False)
    return edge


def _by_move(dist: jnp.ndarray) -> jnp.ndarray:
    """dist [..., V, V] at the cell each move reaches: [..., 5] (MOVE_DELTAS order)."""
    v = dist.shape[-1] // 2
    return jnp.stack([dist[..., v + dr, v + dc] for dr, dc in nj.MOVE_DELTAS], axis=-1)


def _seek(key: jax.Array, obs: Obs, first: jnp.ndarray, second: jnp.ndarray,
          wander: jnp.ndarray, allowed: jnp.ndarray | None = None) -> jnp.ndarray:
    """Per agent, the safe move that shortens the way to the `first` goal, or to
    the `second` if the first is out of reach (distances by move [A, 5]);
    `wander` [A] when neither is reachable. allowed bool [A, 5]: the moves to
    choose from (default `_safe_moves`). Random jitter < 1 breaks ties only."""
    allowed = _safe_moves(obs) if allowed is None else allowed
    pick = jnp.where((first[:, 0] < _FAR)[:, None], first, second)
    score = jnp.where(allowed, pick, 2 * _FAR) + jax.random.uniform(
        key, pick.shape, maxval=0.5)
    seek = jnp.argmin(score, axis=-1).astype(jnp.int32)
    return jnp.where(pick[:, 0] < _FAR, seek, wander)


def forager_moves(key: jax.Array, obs: Obs, yielding: bool = False) -> jnp.ndarray:
    """The forager's move per agent, int32 [A] (see `forager`); with `yielding`,
    forests another agent stands on are not goals (see `yielding_forager`)."""
    tiles, v = obs.tiles, obs.tiles.shape[-1] // 2
    walkable = (tiles == nj.GRASS) | (tiles == nj.SCRUB) | (tiles == nj.FOREST)
    food = tiles == nj.FOREST
    if yielding:  # the count includes the observer itself on the centre cell
        food = food & (obs.tile_agents.at[:, v, v].add(-1) == 0)
    goals = jnp.stack([food, _water_edge(tiles)], axis=1)  # [A, 2 (food, water), V, V]
    reached = _by_move(_distance_to(goals, walkable[:, None], steps=2 * v))  # [A, 2, 5]
    me = obs.entities[:, 0]
    need = jnp.where(me[:, _FOOD] <= me[:, _WATER], 0, 1)  # the lower of food and water first
    first = jnp.take_along_axis(reached, need[:, None, None], 1)[:, 0]
    second = jnp.take_along_axis(reached, 1 - need[:, None, None], 1)[:, 0]
    k_seek, k_wander = jax.random.split(key)
    return _seek(k_seek, obs, first, second, masked_choice(k_wander, _safe_moves(obs)))


def careful_forager_moves(key: jax.Array, obs: Obs) -> jnp.ndarray:
    """The careful forager's move per agent, int32 [A] (see `careful_forager`)."""
    return _seek(*_careful_plan(key, obs))


def _careful_plan(key: jax.Array, obs: Obs, ground: tuple[int, ...] = ()
                  ) -> tuple[jax.Array, Obs, jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """The careful forager's `_seek` arguments: (key, obs, first [A, 5], second
    [A, 5], wander [A]); the NPC-aware yardsticks change them before seeking.
    ground: more tile kinds that paths may cross like grass (none for the
    careful forager itself; `gear_forager` adds the walkable resource tiles)."""
    tiles, v = obs.tiles, obs.tiles.shape[-1] // 2
    open_ground = (tiles == nj.GRASS) | (tiles == nj.SCRUB)
    for kind in ground:
        open_ground = open_ground | (tiles == kind)
    walkable = open_ground | (tiles == nj.FOREST)
    edge = _water_edge(tiles)
    # To food over any ground; to water around forests (stepping on one eats it), or
    # across them when that is the only way.
    goals = jnp.stack([tiles == nj.FOREST, edge, edge], axis=1)
    ground = jnp.stack([walkable, open_ground, walkable], axis=1)
    food, around, across = jnp.moveaxis(_by_move(_distance_to(goals, ground, steps=2 * v)), 1, 0)
    water = jnp.where((around[:, 0] < _FAR)[:, None], around, across)
    hungry = (obs.entities[:, 0, _FOOD] <= 0.5)[:, None]

    # Nothing in sight: step away from the lava in view (the spawn ring borders it).
    lava = (tiles == nj.LAVA).astype(jnp.float32)
    north, south = lava[:, :v].sum((1, 2)), lava[:, v + 1:].sum((1, 2))
    west, east = lava[:, :, :v].sum((1, 2)), lava[:, :, v + 1:].sum((1, 2))
    k_seek, k_wander = jax.random.split(key)
    away = jnp.stack([jnp.zeros_like(north), south - north, north - south,
                      west - east, east - west], axis=-1)  # stay, N, S, E, W
    away = away + jax.random.uniform(k_wander, away.shape, maxval=0.5)
    wander = jnp.argmax(jnp.where(_safe_moves(obs), away, -jnp.inf), axis=-1).astype(jnp.int32)
    return (k_seek, obs, jnp.where(hungry, food, water), jnp.where(hungry, water, food),
            wander)


def _without_attacks(move: jnp.ndarray, obs: Obs) -> Actions:
    """Actions [A] that make `move` [A] and attack nobody (each agent targets itself)."""
    return Actions(move=move, style=jnp.zeros_like(move), target=obs.entity_slot[:, 0])


def forager(key: jax.Array, obs: Obs) -> Actions:
    """Seek food or water (whichever is lower; the other if that is out of
    reach) along the shortest in-window path, never onto lava; wander among
    safe moves when nothing is reachable. Never attacks. obs [A, ...] -> Actions [A]."""
    return _without_attacks(forager_moves(key, obs), obs)


def careful_forager(key: jax.Array, obs: Obs) -> Actions:
    """A forager that wastes less: it seeks a forest only at half food or less
    (a forest gives at most half of max food, so one eaten above half food is
    partly wasted), otherwise the water edge, walking around forests on the
    way; it steps away from the lava in view when nothing is in sight, and
    never attacks. obs [A, ...] -> Actions [A]."""
    return _without_attacks(careful_forager_moves(key, obs), obs)


def yielding_forager(key: jax.Array, obs: Obs) -> Actions:
    """`forager` that leaves a forest to an agent already standing on it (only
    one agent eats a forest per tick; a forest it shares with another agent
    counts as taken too), so foragers that meet stop walking in step to the
    same forest. It keeps more agents alive than `forager` on
    fresh maps. obs [A, ...] -> Actions [A]."""
    return _without_attacks(forager_moves(key, obs, yielding=True), obs)


def weakest_target(obs: Obs, ranges: tuple[int, int, int] = DEFAULT_RANGES,
                   rows: jnp.ndarray | None = None) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(style [A], target row [A]) of the valid target with the lowest health.

    Among the styles valid for it, prefer one that would still reach if
    either side steps away (range > distance), then the stronger one (melee >
    range > mage). Row 0 (no attack) when nothing is valid. rows bool [A, K]:
    only these rows are candidates (default: every row).
    """
    v = obs.tiles.shape[-1] // 2
    valid = obs.target_mask.at[:, :, 0].set(False)  # [A, 3, K]
    if rows is not None:
        valid = valid & rows[:, None, :]
    any_style = valid.any(axis=1)
    health = jnp.where(any_style, obs.entities[..., _HEALTH], jnp.inf)
    row = jnp.where(any_style.any(axis=-1), jnp.argmin(health, axis=-1), 0).astype(jnp.int32)

    rel = jnp.take_along_axis(obs.entities[..., (_REL_ROW, _REL_COL)], row[:, None, None], 1)[:, 0]
    dist = jnp.round(jnp.abs(rel) * v).max(axis=-1)  # Chebyshev distance in tiles
    styles = jnp.take_along_axis(valid, row[:, None, None], 2)[..., 0]  # [A, 3]
    slack = jnp.asarray(ranges, jnp.float32)[None, :] > dist[:, None]
    strength = jnp.asarray([0.2, 0.1, 0.0])  # melee, range, mage
    score = jnp.where(styles, 1.0 + slack + strength, 0.0)
    return jnp.argmax(score, axis=-1).astype(jnp.int32), row


def combat(key: jax.Array, obs: Obs, ranges: tuple[int, int, int] = DEFAULT_RANGES) -> Actions:
    """`forager` moves plus an attack on the weakest valid target (see
    `weakest_target`). obs [A, ...] -> Actions [A]."""
    style, row = weakest_target(obs, ranges)
    target = jnp.take_along_axis(obs.entity_slot, row[:, None], 1)[:, 0]
    return Actions(move=forager_moves(key, obs), style=style, target=target)


# ----------------------------------------------------------------------------- NPCs
def npcs_on(obs: Obs) -> bool:
    """Whether the rows carry the NPC columns (Config.num_npcs > 0); static under jit.
    With items on the rows end with one more column (nj.entity_feature_names)."""
    with_items = obs.inventory is not None
    return obs.entities.shape[-1] == len(nj.entity_feature_names(1, int(with_items)))


def _npc_kind(obs: Obs, column: int) -> jnp.ndarray:
    """bool [A, K]: listed rows that are NPCs of the kind of `column`; all False
    when NPCs are off (the rows have no kind columns)."""
    if not npcs_on(obs):
        return jnp.zeros(obs.entity_mask.shape, bool)
    return obs.entity_mask & (obs.entities[..., column] > 0.5)


def _offsets(obs: Obs) -> jnp.ndarray:
    """int32 [A, K, 2]: each row's (row, col) offset from the observer in tiles."""
    v = obs.tiles.shape[-1] // 2
    return jnp.round(obs.entities[..., (_REL_ROW, _REL_COL)] * v).astype(jnp.int32)


def hostile_threat(obs: Obs, ranges: tuple[int, int, int] = DEFAULT_RANGES) -> jnp.ndarray:
    """int32 [A, 5]: per move, how far inside a listed hostile NPC's reach its
    cell lies, 0 where none reaches it.

    The reach is one step (the hostile moves before attacks resolve) plus the
    longest style range, since a row does not say which style an NPC uses: a
    cell at Chebyshev distance d <= R = max(ranges) + 1 from a hostile scores
    R + 1 - d; the largest over the hostiles counts. All 0 with NPCs off.
    """
    hostile = _npc_kind(obs, _HOSTILE)  # [A, K]
    deltas = jnp.asarray(nj.MOVE_DELTAS, jnp.int32)  # [5, 2]
    gap = jnp.max(jnp.abs(_offsets(obs)[:, None] - deltas[None, :, None]), axis=-1)  # [A, 5, K]
    reach = max(ranges) + 1
    inside = jnp.where(hostile[:, None], jnp.maximum(reach + 1 - gap, 0), 0)
    return jnp.max(inside, axis=-1)


def _wary_plan(key: jax.Array, obs: Obs, ranges: tuple[int, int, int],
               ground: tuple[int, ...] = ()):
    """`_careful_plan` (with `ground`) and the moves to choose from, (key, obs,
    first, second, wander, allowed [A, 5]): the safe moves (`_safe_moves`) least
    inside a hostile's reach (`hostile_threat`), every safe move with no hostile
    in view; a wander move that is not allowed becomes the first allowed one."""
    k_seek, obs, first, second, wander = _careful_plan(key, obs, ground)
    safe = _safe_moves(obs)
    threat = jnp.where(safe, hostile_threat(obs, ranges), _FAR)
    allowed = safe & (threat == jnp.min(threat, axis=-1, keepdims=True))
    wander = jnp.where(jnp.take_along_axis(allowed, wander[:, None], 1)[:, 0], wander,
                       jnp.argmax(allowed, axis=-1).astype(jnp.int32))
    return k_seek, obs, first, second, wander, allowed


def wary_forager(key: jax.Array, obs: Obs,
                 ranges: tuple[int, int, int] = DEFAULT_RANGES) -> Actions:
    """`careful_forager` that keeps out of hostile NPCs' reach: it chooses only
    among the safe moves whose cell is least inside a listed hostile's reach
    (`hostile_threat`), so it steps away from a hostile that closes in even
    when food lies behind it. Never attacks. With NPCs off, or no hostile in
    view, it is `careful_forager` exactly. obs [A, ...] -> Actions [A]."""
    if not npcs_on(obs):
        return careful_forager(key, obs)
    return _without_attacks(_seek(*_wary_plan(key, obs, ranges)), obs)


def prey(obs: Obs) -> jnp.ndarray:
    """bool [A, K]: listed passive and neutral NPCs whose level is at most the
    observer's (the `level` column, its highest combat level); all False with
    NPCs off."""
    kind = _npc_kind(obs, _PASSIVE) | _npc_kind(obs, _NEUTRAL)
    if not npcs_on(obs):
        return kind
    level = obs.entities[..., _LEVEL]  # the same normalisation for agents and NPCs
    return kind & (level <= level[:, :1])


def hunter(key: jax.Array, obs: Obs, ranges: tuple[int, int, int] = DEFAULT_RANGES) -> Actions:
    """`wary_forager` that hunts NPCs for XP: it attacks the weakest `prey` in
    reach (`weakest_target` over those rows: the style that still reaches
    if either steps away, then the stronger), never an agent or a hostile;
    while its food, water and health are all above half it walks towards
    the nearest prey (to a cell within melee range of it), else it forages.
    With NPCs off it is `careful_forager` exactly. obs [A, ...] -> Actions [A]."""
    if not npcs_on(obs):
        return careful_forager(key, obs)
    k_seek, obs, first, second, wander, allowed = _wary_plan(key, obs, ranges)
    quarry = prey(obs)
    tiles, v = obs.tiles, obs.tiles.shape[-1] // 2
    nearest = jnp.argmax(quarry, axis=-1)  # rows come nearest first
    at = jnp.take_along_axis(_offsets(obs), nearest[:, None, None], 1)[:, 0] + v  # [A, 2]
    cells = jnp.arange(tiles.shape[-1])
    near = lambda axis: jnp.abs(cells[None, :] - at[:, axis:axis + 1]) <= ranges[nj.MELEE]
    goal = near(0)[:, :, None] & near(1)[:, None, :]  # [A, V, V]
    walkable = (tiles == nj.GRASS) | (tiles == nj.SCRUB) | (tiles == nj.FOREST)
    chase = _by_move(_distance_to(goal, walkable, steps=2 * v))
    me = obs.entities[:, 0]
    fine = (me[:, _FOOD] > 0.5) & (me[:, _WATER] > 0.5) & (me[:, _HEALTH] > 0.5)
    hunting = (fine & quarry.any(axis=-1))[:, None]
    move = _seek(k_seek, obs, jnp.where(hunting, chase, first),
                 jnp.where(hunting, first, second), wander, allowed)

    style, row = weakest_target(obs, ranges, quarry)
    target = jnp.take_along_axis(obs.entity_slot, row[:, None], 1)[:, 0]
    return Actions(move=move, style=style, target=target)


# ---------------------------------------------------------------------------- items
# Thresholds of `gear_forager`, in fractions of the maximum (the entity row's food,
# water and health columns). A ration restores at least 55 % of both food and
# water (docs/rules.md §10.3): eaten when the lower of the two is at 40 % or less,
# that bar takes all of it, and rations (only fishing gives them) stay a reserve
# for when forests and water are out of reach. A potion restores at least 55 % of
# health: drunk at half health or less.
RATION_AT = 0.4
POTION_AT = 0.5
_KIND_COLUMNS = nj.NUM_ITEM_KINDS - 2  # Obs.inventory's kind one-hot: kinds 2 .. 17
_ITEM_LEVEL = nj.ITEM_FEATURES.index("level")
_ITEM_EQUIPPED = nj.ITEM_FEATURES.index("equipped")
# The tool that raises the drop of the resource tile an agent stands on (0: none),
# by tile kind (nj.PROFESSION_TILE_NAMES); a fish is harvested from next to it.
_TOOL_ON = tuple({nj.ORE: nj.PICKAXE, nj.TREE: nj.AXE, nj.CRYSTAL: nj.CHISEL,
                  nj.HERB: nj.GLOVES}.get(t, 0) for t in range(nj.NUM_PROFESSION_TILE_TYPES))
# Tiles a `gear_forager` path crosses like grass (the standing materials, full or
# harvested), and the ones it steps onto to harvest.
RESOURCE_GROUND = (nj.ORE, nj.SLAG, nj.TREE, nj.STUMP, nj.CRYSTAL, nj.FRAGMENT, nj.HERB,
                   nj.WEEDS)
_HARVESTABLE = (nj.ORE, nj.TREE, nj.CRYSTAL, nj.HERB)
# Which equipment to put on first when several could change (`item_choice`): the
# armour (hat, top, bottom), then the held slot, then ammunition.
_EQUIP_ORDER = (5, 4, 3, 2, 1)  # by equipment slot: hat, top, bottom, held, ammunition


def items_on(obs: Obs) -> bool:
    """Whether the observation carries an inventory (Config.inventory_slots > 0);
    static under jit."""
    return obs.inventory is not None


def inventory_items(obs: Obs) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """(kind [A, I] int32, 0 in an empty slot; level [A, I] float32 as observed,
    level / Params.item_level_max; equipped [A, I] bool), read from Obs.inventory."""
    one_hot = obs.inventory[..., :_KIND_COLUMNS]
    kind = jnp.where(one_hot.max(axis=-1) > 0.5, jnp.argmax(one_hot, axis=-1) + 2, 0)
    return (kind.astype(jnp.int32), obs.inventory[..., _ITEM_LEVEL],
            obs.inventory[..., _ITEM_EQUIPPED] > 0.5)


def wanted_tool(obs: Obs) -> jnp.ndarray:
    """int32 [A]: the tool kind that raises this tick's harvest: the one of the
    ore, tree, crystal or herb the agent stands on, else the rod next to a fish,
    else 0 (the harvest runs after this tick's use, at the position the tick
    starts from: docs/rules.md §10.4, §10.6)."""
    v = obs.tiles.shape[-1] // 2
    tiles = obs.tiles.astype(jnp.int32)
    standing = jnp.asarray(_TOOL_ON, jnp.int32)[jnp.clip(tiles[:, v, v], 0, len(_TOOL_ON) - 1)]
    fish = jnp.zeros(tiles.shape[:1], bool)
    for d_row, d_col in nj.MOVE_DELTAS[1:]:
        fish = fish | (tiles[:, v + d_row, v + d_col] == nj.FISH)
    return jnp.where(standing > 0, standing, jnp.where(fish, nj.ROD, 0)).astype(jnp.int32)


def _first_lowest(level: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """int32 [A]: the slot of the lowest level among mask [A, I] (ties: the lowest
    slot); -1 where mask has none."""
    slot = jnp.argmin(jnp.where(mask, level, jnp.inf), axis=-1).astype(jnp.int32)
    return jnp.where(mask.any(axis=-1), slot, -1)


def item_choice(obs: Obs) -> tuple[jnp.ndarray, jnp.ndarray]:
    """`gear_forager`'s (use [A], destroy [A]) inventory slots, -1 for none.

    Use, the first that applies: a potion at health <= POTION_AT; a ration at
    food or water <= RATION_AT (the lowest-level one usable, ties the lowest
    slot); else the equipment to put on. Per equipment slot the agent wears
    the usable item (`use_mask`) scoring highest, where the score is its
    level, plus 2 for a tool (a tool's 15 defence beats a weapon for an agent
    that never attacks), plus 4 for the tool `wanted_tool` names, ties kept
    by the item already equipped, then the lowest slot. An equipment slot
    whose best item is not on yet puts it on, the wanted tool first, then
    hat, top, bottom, the held slot, ammunition. An equipped item is never
    used again (using it would take it off).

    Destroy, only when no slot is empty: the lowest-level spare, an unequipped
    piece of equipment with a usable item of its kind at least as high
    (equal: equipped or in a lower slot), so harvests and drops find room.
    Consumables are never destroyed.
    """
    kind, level, equipped = inventory_items(obs)
    held = kind > 0
    usable = obs.use_mask & held
    equip_slot = jnp.asarray(nj.EQUIP_SLOT_OF, jnp.int32)[kind]  # -1: not equipment
    is_tool = is_kind(kind, nj.TOOL_KINDS)
    wanted = (kind == wanted_tool(obs)[:, None]) & is_tool
    candidate = usable & (equip_slot >= 0)
    score = level + 2.0 * is_tool + 4.0 * wanted + 1e-3 * equipped
    score = jnp.where(candidate, score, -jnp.inf)
    best = jnp.zeros_like(candidate)
    for e in range(nj.NUM_EQUIP_SLOTS):
        in_slot = jnp.where(equip_slot == e, score, -jnp.inf)
        top = jnp.argmax(in_slot, axis=-1)  # the first of the highest: the lowest slot
        here = jnp.arange(kind.shape[-1])[None, :] == top[:, None]
        best = best | (here & (equip_slot == e) & candidate)
    order = jnp.asarray(_EQUIP_ORDER, jnp.int32)[jnp.maximum(equip_slot, 0)] + 10 * wanted
    put_on = best & ~equipped
    equip = jnp.argmax(jnp.where(put_on, order, -1), axis=-1).astype(jnp.int32)
    equip = jnp.where(put_on.any(axis=-1), equip, -1)

    me = obs.entities[:, 0]
    potion = _first_lowest(level, usable & (kind == nj.POTION))
    ration = _first_lowest(level, usable & (kind == nj.RATION))
    hurt = me[:, _HEALTH] <= POTION_AT
    hungry = jnp.minimum(me[:, _FOOD], me[:, _WATER]) <= RATION_AT
    use = jnp.where(hurt & (potion >= 0), potion, jnp.where(hungry & (ration >= 0), ration, equip))

    same = kind[:, :, None] == kind[:, None, :]  # [A, i, j]
    slots = jnp.arange(kind.shape[-1])
    higher = (level[:, None, :] > level[:, :, None]) | (
        (level[:, None, :] == level[:, :, None])
        & (equipped[:, None, :] | (slots[None, :] < slots[:, None])[None]))
    beaten = same & usable[:, None, :] & higher & ~jnp.eye(kind.shape[-1], dtype=bool)[None]
    spare = obs.destroy_mask & (equip_slot >= 0) & beaten.any(axis=-1)
    full = held.all(axis=-1)
    destroy = jnp.where(full, _first_lowest(level, spare), -1)
    return use, destroy


def gear_forager(key: jax.Array, obs: Obs,
                 ranges: tuple[int, int, int] = DEFAULT_RANGES) -> Actions:
    """`wary_forager` (`careful_forager` with NPCs off) that uses its items
    (docs/rules.md §10): each tick it uses and destroys by `item_choice`
    (a potion when hurt, a ration when hungry or thirsty, else the best
    gear it can wear, the tool of the resource it harvests; spare
    duplicates destroyed when the inventory is full). Its paths cross the
    walkable resource tiles (ore, tree, crystal, herb and their harvested
    kinds) like grass, and while its food and water are both above half it
    steps onto a full ore, tree, crystal or herb next to it (the first of
    N, S, E, W among the allowed moves), to harvest it in the next tick;
    fish it harvests by standing next to them, as the game does. Never
    attacks. With items off (no inventory in the observation) it is
    `wary_forager` exactly. obs [A, ...] -> Actions [A] with use and destroy."""
    if not items_on(obs):
        return wary_forager(key, obs, ranges)
    k_seek, obs, first, second, wander, allowed = _wary_plan(key, obs, ranges, RESOURCE_GROUND)
    move = _seek(k_seek, obs, first, second, wander, allowed)
    me = obs.entities[:, 0]
    fine = (me[:, _FOOD] > 0.5) & (me[:, _WATER] > 0.5)
    onto = _by_move(jnp.isin(obs.tiles, jnp.asarray(_HARVESTABLE, obs.tiles.dtype)))
    onto = (onto & allowed).at[:, 0].set(False)
    move = jnp.where(fine & onto.any(axis=-1), jnp.argmax(onto, axis=-1).astype(jnp.int32), move)
    use, destroy = item_choice(obs)
    return _without_attacks(move, obs).replace(use=use, destroy=destroy)


# The yardsticks every evaluation and tournament reports, by name.
SCRIPTED = {"random": random_policy, "forager": forager, "yielding_forager": yielding_forager,
            "careful_forager": careful_forager, "combat": combat,
            "wary_forager": wary_forager, "hunter": hunter, "gear_forager": gear_forager}
# The ones that know NPCs: with NPCs off both play exactly as careful_forager.
NPC_AWARE = ("wary_forager", "hunter")
# The ones that use items: with items off gear_forager plays exactly as wary_forager.
ITEM_AWARE = ("gear_forager",)
