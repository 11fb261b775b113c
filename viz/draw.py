"""State -> RGB frame as a numpy array (outside `jit`): pictures for papers and GIFs.

    frame = render(state, config, scale=8)                  # uint8 [H*8, W*8, 3]
    frame = render(state, config, attacks=[(0, 3, MAGE)])   # attacker slot, target slot, style

Each tile is a `scale` x `scale` block in its PROFESSION_TILE_COLORS colour
(its first six rows, TILE_COLORS, are v1.3's tiles; the other ten the
resource tiles of professions). A living agent is a disc in its
population's colour (POPULATION_COLORS, cycled) with a health bar along the
top of its tile (from scale 4 up) and a dark outline (from scale 6 up); an
agent that died this tick is a dark cross; an attack is a line from the
attacker's tile centre to the target's in its STYLE_COLORS colour. With NPCs on, a living NPC is a shape of its kind (passive: square,
neutral: diamond, hostile: triangle) in NPC_COLORS, with a health bar and
outline like an agent's; an NPC that died this tick is a dark cross; its
attacks are lines like the agents'. The same colours drive the HTML replay
viewer (viz/page.py). The one palette of the project: nothing else defines
tile, agent or NPC colours.
"""
from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp
import numpy as np

from nmmo_jax.config import Config
from nmmo_jax.params import Params, resolve
from nmmo_jax.state import (HOSTILE, NEUTRAL, NUM_PROFESSION_TILE_TYPES, NUM_TILE_TYPES, PASSIVE,
                            State)
from nmmo_jax.systems.skills import level, max_vitals

# Indexed by tile type (nmmo_jax.state.PROFESSION_TILE_NAMES): the six of v1.3, then the
# ten resource tiles of professions (docs/rules.md §10.6), each material saturated and
# the kind it becomes when harvested a duller shade of it.
PROFESSION_TILE_COLORS = np.array([
    (207, 72, 34),    # lava
    (52, 108, 196),   # water
    (116, 172, 80),   # grass
    (168, 150, 96),   # scrub (a depleted forest)
    (30, 100, 44),    # forest
    (126, 126, 130),  # stone
    (196, 160, 72),   # ore
    (92, 84, 74),     # slag (harvested ore)
    (0, 128, 96),     # tree
    (120, 92, 60),    # stump (harvested tree)
    (110, 60, 160),   # crystal
    (170, 150, 185),  # fragment (harvested crystal)
    (210, 110, 150),  # herb
    (120, 130, 70),   # weeds (harvested herb)
    (60, 170, 190),   # fish
    (24, 52, 120),    # ocean (fished out)
], np.uint8)
# v1.3's six (TILE_NAMES): the first rows of the same table.
TILE_COLORS = PROFESSION_TILE_COLORS[:NUM_TILE_TYPES]

# Population p is drawn in POPULATION_COLORS[p % 16]: bright colours that
# stand out on every tile colour above.
POPULATION_COLORS = np.array([
    (255, 221, 0), (0, 234, 255), (255, 92, 178), (250, 250, 250),
    (176, 108, 255), (255, 150, 40), (0, 255, 150), (255, 255, 140),
    (120, 180, 255), (200, 255, 60), (255, 170, 200), (150, 255, 255),
    (230, 140, 255), (255, 200, 120), (180, 240, 180), (210, 210, 255),
], np.uint8)

# Attack lines by style: melee, range, mage.
STYLE_COLORS = np.array([(240, 30, 30), (255, 140, 0), (70, 110, 255)], np.uint8)

# NPCs by kind: passive, neutral, hostile (Npcs.kind 1, 2, 3); dark and saturated,
# apart from the bright population colours and from every tile colour.
NPC_COLORS = np.array([(150, 95, 40), (150, 0, 140), (205, 0, 45)], np.uint8)
# Their shapes, in the same order (agents are discs).
NPC_SHAPES = ("square", "diamond", "triangle")

OUTLINE_COLOR = np.array((20, 20, 20), np.uint8)
DEATH_COLOR = np.array((25, 25, 25), np.uint8)
HEALTH_FULL_COLOR = np.array((40, 220, 40), np.uint8)
HEALTH_EMPTY_COLOR = np.array((130, 0, 0), np.uint8)

def tile_colors(config) -> np.ndarray:
    """uint8 [T, 3]: the colours of the tile kinds a world of `config` has (the 16 of
    PROFESSION_TILE_COLORS with professions on, else v1.3's 6 TILE_COLORS)."""
    return PROFESSION_TILE_COLORS if config.professions else TILE_COLORS


def population_colors(num_populations: int) -> np.ndarray:
    """uint8 [P, 3]: the colour of each population (the palette cycles past 16)."""
    return POPULATION_COLORS[np.arange(num_populations) % len(POPULATION_COLORS)]


def npc_colors(kind: np.ndarray) -> np.ndarray:
    """uint8 [N, 3]: the colour of each NPC kind [N] (PASSIVE, NEUTRAL, HOSTILE)."""
    return NPC_COLORS[np.clip(np.asarray(kind, np.int64) - PASSIVE, 0, len(NPC_COLORS) - 1)]


def _check_scale(scale: int) -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale={scale!r}: must be an integer >= 1 (pixels per tile)")
    return int(scale)


def _stamps(scale: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Pixel offsets (dy, dx) inside one tile for the disc, its outline and a cross,
    and for each NPC shape (`NPC_SHAPES`) and its outline (`<shape>_ring`)."""
    yy, xx = np.mgrid[0:scale, 0:scale]
    centre = scale / 2.0
    dy, dx = yy + 0.5 - centre, xx + 0.5 - centre
    dist = np.hypot(dy, dx)
    small = scale < 3  # too small for a shape: fill the tile
    full = np.ones((scale, scale), bool)
    half = 0.4 * scale
    shapes = {
        "disc": full if small else dist <= half,
        "square": full if small else np.maximum(np.abs(dy), np.abs(dx)) <= 0.75 * half,
        "diamond": full if small else np.abs(dy) + np.abs(dx) <= 1.1 * half,
        # apex up: rows widen from the top of the disc's box to its bottom
        "triangle": full if small else ((dy >= -half) & (dy <= half)
                                        & (np.abs(dx) <= (dy + half) / 2 + 0.5)),
    }
    masks = dict(shapes)
    disc = shapes["disc"]
    masks["ring"] = (dist <= half + 1.0) & ~disc if scale >= 6 else np.zeros_like(disc)
    for name in NPC_SHAPES:
        shape = shapes[name]
        ring = np.zeros_like(shape)
        if scale >= 6:  # one pixel around the shape, 8-neighbour
            padded = np.pad(shape, 1)
            for oy in (-1, 0, 1):
                for ox in (-1, 0, 1):
                    ring |= padded[1 + oy: 1 + oy + scale, 1 + ox: 1 + ox + scale]
            ring &= ~shape
        masks[f"{name}_ring"] = ring
    cross = (yy == xx) | (yy == scale - 1 - xx)
    if scale >= 6:  # two pixels wide so it reads at a glance
        cross |= (yy == xx + 1) | (yy + 1 == scale - 1 - xx)
    masks["cross"] = cross
    return {name: np.nonzero(m) for name, m in masks.items()}


def _stamp(img: np.ndarray, pos: np.ndarray, offsets: tuple[np.ndarray, np.ndarray],
           colors: np.ndarray, scale: int) -> None:
    """Paint the stamp at each tile pos [N, 2] in colors [N, 3] (later rows on top)."""
    if len(pos) == 0 or len(offsets[0]) == 0:
        return
    ys = pos[:, :1] * scale + offsets[0][None, :]
    xs = pos[:, 1:] * scale + offsets[1][None, :]
    img[ys, xs] = np.broadcast_to(colors[:, None, :], ys.shape + (3,))


def _health_bars(img: np.ndarray, pos: np.ndarray, frac: np.ndarray, scale: int) -> None:
    """A bar across the top of each tile: green for the health left, dark red for the rest."""
    thick = max(1, scale // 8)
    width = scale - 2
    filled = np.ceil(np.clip(frac, 0.0, 1.0) * width).astype(np.int64)  # any health shows
    dx = np.arange(width)
    for dy in range(thick):
        ys = np.broadcast_to(pos[:, :1] * scale + dy, (len(pos), width))
        xs = pos[:, 1:] * scale + 1 + dx[None, :]
        img[ys, xs] = np.where((dx[None, :] < filled[:, None])[..., None],
                               HEALTH_FULL_COLOR, HEALTH_EMPTY_COLOR)


def _lines(img: np.ndarray, lines: np.ndarray, scale: int) -> None:
    """Straight lines between tile centres: lines [N, 5] = (r0, c0, r1, c1, style)."""
    if len(lines) == 0:
        return
    p0 = lines[:, 0:2] * scale + scale // 2
    p1 = lines[:, 2:4] * scale + scale // 2
    steps = int(np.abs(p1 - p0).max()) + 1
    t = np.linspace(0.0, 1.0, steps)
    ys = np.rint(p0[:, :1] + (p1 - p0)[:, :1] * t[None, :]).astype(np.int64)
    xs = np.rint(p0[:, 1:] + (p1 - p0)[:, 1:] * t[None, :]).astype(np.int64)
    colors = STYLE_COLORS[np.clip(lines[:, 4], 0, len(STYLE_COLORS) - 1)]
    offsets = [(0, 0)] + ([(1, 0), (0, 1)] if scale >= 8 else [])  # thicker when big
    h, w = img.shape[:2]
    for oy, ox in offsets:
        yy, xx = np.clip(ys + oy, 0, h - 1), np.clip(xs + ox, 0, w - 1)
        img[yy, xx] = np.broadcast_to(colors[:, None, :], yy.shape + (3,))


def render_arrays(tiles: np.ndarray, pos: np.ndarray, population: np.ndarray,
                  health_frac: np.ndarray | None = None, died: np.ndarray | None = None,
                  lines: np.ndarray | None = None, scale: int = 8, *,
                  npc_pos: np.ndarray | None = None, npc_kind: np.ndarray | None = None,
                  npc_health_frac: np.ndarray | None = None,
                  npc_died: np.ndarray | None = None) -> np.ndarray:
    """Draw a frame from plain arrays; the replay recorder and `render` both use it.

    tiles [H, W] tile types; pos [N, 2] (row, col), population [N] and
    health_frac [N] (health / max health) of the N agents to draw (any order,
    later rows on top); died [N] bool draws those as crosses instead; lines
    [M, 5] int (r0, c0, r1, c1, style) are attacks. NPCs (drawn under the
    agents): npc_pos [Q, 2], npc_kind [Q] (PASSIVE, NEUTRAL, HOSTILE),
    npc_health_frac [Q] and npc_died [Q] bool, like the agents'. Returns
    uint8 [H*scale, W*scale, 3].
    """
    scale = _check_scale(scale)
    tiles = np.asarray(tiles)
    if tiles.ndim != 2:
        raise ValueError(f"tiles: expected a [H, W] array, got shape {tiles.shape}")
    img = PROFESSION_TILE_COLORS[np.clip(tiles, 0, NUM_PROFESSION_TILE_TYPES - 1).astype(np.int64)]
    img = np.ascontiguousarray(np.repeat(np.repeat(img, scale, 0), scale, 1))
    pos = _on_map(pos, tiles, "pos")
    population = np.asarray(population, np.int64).reshape(-1)
    died = np.zeros(len(pos), bool) if died is None else np.asarray(died, bool).reshape(-1)
    live = ~died
    stamps = _stamps(scale)
    if npc_pos is not None:
        _npcs(img, _on_map(npc_pos, tiles, "npc_pos"), npc_kind, npc_health_frac, npc_died,
              stamps, scale)
    pop_colors = POPULATION_COLORS[population % len(POPULATION_COLORS)]
    _stamp(img, pos[live], stamps["ring"], np.broadcast_to(OUTLINE_COLOR, (int(live.sum()), 3)), scale)
    _stamp(img, pos[live], stamps["disc"], pop_colors[live], scale)
    _stamp(img, pos[died], stamps["cross"], np.broadcast_to(DEATH_COLOR, (int(died.sum()), 3)), scale)
    if health_frac is not None and scale >= 4:
        _health_bars(img, pos[live], np.asarray(health_frac, np.float64).reshape(-1)[live], scale)
    if lines is not None:
        _lines(img, np.asarray(lines, np.int64).reshape(-1, 5), scale)
    return img


def _on_map(pos: np.ndarray, tiles: np.ndarray, name: str) -> np.ndarray:
    """pos as int64 [N, 2]; ValueError naming `name` when one lies off the map."""
    pos = np.asarray(pos, np.int64).reshape(-1, 2)
    if len(pos) and (pos.min() < 0 or pos[:, 0].max() >= tiles.shape[0]
                     or pos[:, 1].max() >= tiles.shape[1]):
        what = "agent" if name == "pos" else "NPC"
        raise ValueError(f"{name}: {what} positions must lie on the {tiles.shape} map")
    return pos


def _npcs(img: np.ndarray, pos: np.ndarray, kind: np.ndarray | None,
          health_frac: np.ndarray | None, died: np.ndarray | None,
          stamps: dict, scale: int) -> None:
    """Paint NPCs [Q]: each living one as its kind's shape, the dead as crosses."""
    if kind is None:
        raise ValueError("npc_kind: required with npc_pos (one kind per NPC)")
    kind = np.asarray(kind, np.int64).reshape(-1)
    died = np.zeros(len(pos), bool) if died is None else np.asarray(died, bool).reshape(-1)
    if not len(kind) == len(died) == len(pos):
        raise ValueError(f"npc_pos, npc_kind and npc_died must have one row per NPC "
                         f"(got {len(pos)}, {len(kind)}, {len(died)})")
    colors = npc_colors(kind)
    for k, shape in zip((PASSIVE, NEUTRAL, HOSTILE), NPC_SHAPES):
        these = ~died & (kind == k)
        n = int(these.sum())
        _stamp(img, pos[these], stamps[f"{shape}_ring"], np.broadcast_to(OUTLINE_COLOR, (n, 3)),
               scale)
        _stamp(img, pos[these], stamps[shape], colors[these], scale)
    _stamp(img, pos[died], stamps["cross"], np.broadcast_to(DEATH_COLOR, (int(died.sum()), 3)), scale)
    if health_frac is not None and scale >= 4:
        _health_bars(img, pos[~died], np.asarray(health_frac, np.float64).reshape(-1)[~died], scale)


def render(state: State, config: Config | None = None, scale: int = 8,
           attacks: Sequence[Sequence[int]] | np.ndarray | None = None,
           died: np.ndarray | None = None, npc_died: np.ndarray | None = None,
           params: Params | None = None) -> np.ndarray:
    """RGB frame uint8 [H*scale, W*scale, 3] of one world (not a batch).

    attacks: rows (attacker slot, target slot, style) drawn as lines, slots
    in the space of A + N (NPC j is A + j); died [A] bool: slots that died
    this tick (drawn as crosses at their last position, e.g. `done` from
    `step`); npc_died [N] bool: the same for NPCs (`info["npc_done"]`).
    `config` sets the level cap used for max health (the default Config's
    when None); `params` the NPCs' max health (None: the defaults). Runs on
    the host, never inside jit.
    """
    tiles = np.asarray(state.tiles)
    if tiles.ndim != 2:
        raise ValueError(f"state.tiles has shape {tiles.shape}: render one world, "
                         "not a batch (index it first, e.g. jax.tree.map(lambda x: x[0], states))")
    config = Config() if config is None else config
    ag = state.agents
    alive = np.asarray(ag.alive, bool)
    pos = np.asarray(ag.pos)
    levels = np.asarray(level(jnp.asarray(ag.xp), config))
    max_health = np.maximum(max_vitals(levels)[0], 1)
    frac = np.asarray(ag.health) / max_health
    dead_now = np.zeros_like(alive) if died is None else np.asarray(died, bool) & ~alive
    show = alive | dead_now
    npc = {}
    body_pos = pos
    if state.npcs is not None:
        n = state.npcs
        n_alive = np.asarray(n.alive, bool)
        n_dead = (np.zeros_like(n_alive) if npc_died is None
                  else np.asarray(npc_died, bool) & ~n_alive)
        n_show = n_alive | n_dead
        top = max(int(resolve(params, config).npc_health), 1)
        npc = dict(npc_pos=np.asarray(n.pos)[n_show], npc_kind=np.asarray(n.kind)[n_show],
                   npc_health_frac=np.asarray(n.health)[n_show] / top, npc_died=n_dead[n_show])
        body_pos = np.concatenate([pos, np.asarray(n.pos)])
    lines = None
    if attacks is not None and len(attacks):
        att = np.asarray(attacks, np.int64).reshape(-1, 3)
        slots = len(body_pos)
        if att[:, :2].min() < 0 or att[:, :2].max() >= slots:
            raise ValueError(f"attacks: slots must be in [0, {slots})")
        lines = np.concatenate([body_pos[att[:, 0]], body_pos[att[:, 1]], att[:, 2:3]], axis=1)
    return render_arrays(tiles, pos[show], np.asarray(ag.population)[show], frac[show],
                         dead_now[show], lines, scale, **npc)
