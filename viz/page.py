"""The self-contained HTML replay: a Recording embedded in viz/viewer.html.

    write_html(rec, "replay.html")   # one file, no network: open it in any browser

The page's JavaScript reads `replay_data(rec)`: integer arrays packed into
their smallest dtype and base64'd, plus the palette of viz/draw.py so the
page and the pictures use the same colours.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np

import nmmo_jax as nj

from .draw import (DEATH_COLOR, HEALTH_EMPTY_COLOR, HEALTH_FULL_COLOR, NPC_COLORS, NPC_SHAPES,
                   OUTLINE_COLOR, STYLE_COLORS, population_colors, tile_colors)
from .record import Recording

VIEWER_TEMPLATE = Path(__file__).with_name("viewer.html")
DATA_MARK = "/*__REPLAY_DATA__*/"


def _pack(x: np.ndarray) -> dict:
    """A compact JSON form of an integer array: its smallest dtype, little-endian, base64."""
    x = np.asarray(x).reshape(-1)
    lo, hi = (int(x.min()), int(x.max())) if x.size else (0, 0)
    for code, dtype in (("u1", "<u1"), ("i1", "<i1"), ("u2", "<u2"), ("i2", "<i2"),
                        ("u4", "<u4"), ("i4", "<i4")):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            break
    else:
        raise ValueError(f"array values {lo}..{hi} do not fit 32 bits")
    return {"t": code, "b": base64.b64encode(x.astype(dtype).tobytes()).decode("ascii")}


def _rgb(colors: np.ndarray) -> list[str]:
    return ["#%02x%02x%02x" % tuple(int(v) for v in c) for c in np.asarray(colors).reshape(-1, 3)]


def replay_data(rec: Recording) -> dict:
    """The JSON-able payload the viewer reads (integer arrays packed by `_pack`).

    With NPCs on it also holds meta num_npcs and npc_health, names npc_kinds
    and npc_shapes, colors npcs (passive, neutral, hostile), and the arrays
    npc_off, npcs (NPC_COLUMNS) and npc_alive; with NPCs off none of them.
    With items on it also holds meta inventory_slots, names items (ITEM_NAMES)
    and the arrays item_off and items (ITEM_COLUMNS); the agents then carry
    gold and item_level. With professions on, names and colors tiles cover the
    16 kinds of PROFESSION_TILE_NAMES (else v1.3's 6).
    """
    cfg = rec.config
    mean = rec.mean_lifetime
    data = {
        "version": 1,
        "meta": {**rec.meta, "map_size": cfg.map_size, "num_agents": cfg.num_agents,
                 "num_populations": cfg.num_populations, "frames": rec.num_frames},
        "names": {"tiles": list(nj.PROFESSION_TILE_NAMES if cfg.professions else nj.TILE_NAMES), "skills": list(nj.SKILL_NAMES),
                  "styles": ["melee", "range", "mage"], "causes": list(nj.CAUSE_NAMES)},
        "colors": {"tiles": _rgb(tile_colors(cfg)), "populations": _rgb(population_colors(cfg.num_populations)),
                   "styles": _rgb(STYLE_COLORS), "outline": _rgb(OUTLINE_COLOR)[0],
                   "death": _rgb(DEATH_COLOR)[0], "health": _rgb(HEALTH_FULL_COLOR)[0],
                   "health_empty": _rgb(HEALTH_EMPTY_COLOR)[0]},
        "tiles0": _pack(rec.tiles0),
        "tile_off": _pack(rec.tile_off), "tile_idx": _pack(rec.tile_idx), "tile_val": _pack(rec.tile_val),
        "agent_off": _pack(rec.agent_off),
        "agents": {k: _pack(v) for k, v in rec.agents.items()},
        "levels": _pack(rec.levels),
        "attack_off": _pack(rec.attack_off),
        "attacks": {k: _pack(v) for k, v in rec.attacks.items()},
        "alive": _pack(rec.alive),
        "mean_lifetime": [None if np.isnan(m) else round(float(m), 2) for m in mean],
    }
    if rec.npcs is not None:
        data["meta"].update(num_npcs=cfg.num_npcs, npc_health=rec.meta["npc_health"])
        data["names"].update(npc_kinds=list(nj.NPC_KIND_NAMES[1:]), npc_shapes=list(NPC_SHAPES))
        data["colors"]["npcs"] = _rgb(NPC_COLORS)
        data.update(npc_off=_pack(rec.npc_off), npcs={k: _pack(v) for k, v in rec.npcs.items()},
                    npc_alive=_pack(rec.npc_alive))
    if rec.items is not None:
        data["meta"]["inventory_slots"] = cfg.inventory_slots
        data["names"]["items"] = list(nj.ITEM_NAMES)
        data.update(item_off=_pack(rec.item_off), items={k: _pack(v) for k, v in rec.items.items()})
    return data


def to_html(rec: Recording, title: str | None = None) -> str:
    """The viewer page with the recording embedded: one file, no network access."""
    try:
        page = VIEWER_TEMPLATE.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise FileNotFoundError(f"viewer template {VIEWER_TEMPLATE} is missing from the install") from e
    if page.count(DATA_MARK) != 1:
        raise ValueError(f"viewer template {VIEWER_TEMPLATE} must hold {DATA_MARK} exactly once")
    data = json.dumps(replay_data(rec), separators=(",", ":"), allow_nan=False)
    data = data.replace("</", "<\\/")  # never close the script element early
    title = title or f"nmmo-jax replay: {rec.meta.get('policy', '')}, {rec.meta.get('ticks', '')} ticks"
    return page.replace("__TITLE__", html.escape(title)).replace(DATA_MARK, data)


def write_html(rec: Recording, path: str | Path, title: str | None = None) -> Path:
    """Write the self-contained replay page; returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_html(rec, title), encoding="utf-8")
    return path
