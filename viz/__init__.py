"""Watching the game: recordings, the HTML replay, GIF/PNG pictures and the drawing code.

    from viz import record, write_html, write_gif, render
    rec = record(policy, config, ticks=1000, seed=0, name="random")
    write_html(rec, "replay.html")        # one self-contained page (viz/viewer.html + the data)
    write_gif(rec, "replay.gif", scale=4)
    frame = render(state, config)          # uint8 [H*8, W*8, 3] of one world

Modules: draw (the palette and state -> RGB), record (a policy's play as a
compact Recording), page (the HTML replay), images (GIF and PNG frames).
With NPCs on (`Config.num_npcs` > 0) all four show them: by kind (passive
square, neutral diamond, hostile triangle), with their attacks and deaths,
and each agent's NPC kills; with NPCs off everything is as it was. With
items on (`Config.inventory_slots` > 0) the recording and the page keep each
agent's inventory (kind, level, quantity, equipped), gold and equipment
level, shown in its panel; with professions the ten resource tiles have
colours of their own (draw.PROFESSION_TILE_COLORS) in the page and pictures.
Everything here runs on the host; the game core (nmmo_jax) draws nothing.
"""
from __future__ import annotations

from .draw import render, render_arrays
from .images import write_gif, write_pngs
from .page import to_html, write_html
from .record import Recording, record

__all__ = ["render", "render_arrays", "record", "Recording", "to_html", "write_html", "write_gif",
           "write_pngs"]
