"""The viewer with items on (docs/rules.md §10): recordings keep each agent's inventory,
gold and equipment level; the page shows them; the resource tiles have colours of their own."""
from __future__ import annotations

import functools
import json
import shutil
import subprocess

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import nmmo_jax as nj
from policies.scripted import gear_forager, hunter
from scripts import replay as replay_script
from tests.test_viz_page import page_data, unpack
from viz.draw import (NPC_COLORS, POPULATION_COLORS, PROFESSION_TILE_COLORS, STYLE_COLORS,
                      TILE_COLORS, render_arrays, tile_colors)
from viz.images import write_gif
from viz.page import replay_data, to_html, write_html
from viz.record import AGENT_COLUMNS, ITEM_AGENT_COLUMNS, ITEM_COLUMNS, record

ITEMS = nj.Config.small(inventory_slots=4, professions=True)
TICKS, SEED = 16, 1
SLOT_NAMES = ("kind", "level", "quantity", "equipped")


@functools.lru_cache(maxsize=1)
def start_state() -> nj.State:
    """The world of reset(PRNGKey(SEED)) with the first living agent given a hat (level 3,
    worn), 30 arrows (level 2, ready) and a ration (level 1, in the pack)."""
    _, state = nj.jit_reset(jax.random.PRNGKey(SEED), ITEMS)
    a = int(np.flatnonzero(np.asarray(state.agents.alive))[0])
    items = state.items
    for i, (kind, lvl, qty, worn) in enumerate([(nj.HAT, 3, 1, True), (nj.ARROW, 2, 30, True),
                                                (nj.RATION, 1, 1, False)]):
        items = items.replace(kind=items.kind.at[a, i].set(kind), level=items.level.at[a, i].set(lvl),
                              quantity=items.quantity.at[a, i].set(qty),
                              equipped=items.equipped.at[a, i].set(worn))
    state = state.replace(items=items)
    nj.check_state(state, ITEMS)
    return state


@functools.lru_cache(maxsize=1)
def item_recording():
    """`gear_forager` for 16 ticks on the small preset with items and professions, from
    start_state()."""
    return record(gear_forager, ITEMS, TICKS, SEED, state=start_state(), name="gear")


# ----------------------------------------------------------------------------- record
@pytest.mark.slow
def test_an_item_recording_holds_the_item_arrays():
    rec = item_recording()
    f = rec.num_frames
    assert rec.item_off.shape == (f + 1,) and rec.item_off[0] == 0
    assert (np.diff(rec.item_off) >= 0).all()
    assert set(rec.items) == set(ITEM_COLUMNS)
    assert all(v.shape == (rec.item_off[-1],) for v in rec.items.values())
    assert set(rec.agents) == set(AGENT_COLUMNS) | set(ITEM_AGENT_COLUMNS)
    assert (rec.items["kind"] > 0).all() and (rec.items["quantity"] > 0).all()  # no empty slots
    for frame in range(f):
        rows, agents = rec.items_at(frame), rec.agents_at(frame)
        assert set(rows["slot"].tolist()) <= set(agents["slot"].tolist())  # held by agent rows
        order = rows["slot"] * ITEMS.inventory_slots + rows["index"]
        assert (np.diff(order) > 0).all()  # by agent slot, then inventory slot
    # Frame 0 is the start state: the three items given to the first agent.
    a = int(np.flatnonzero(np.asarray(start_state().agents.alive))[0])
    first = {k: v.tolist() for k, v in rec.items_at(0).items()}
    assert first == {"slot": [a] * 3, "index": [0, 1, 2], "kind": [nj.HAT, nj.ARROW, nj.RATION],
                     "level": [3, 2, 1], "quantity": [1, 30, 1], "equipped": [1, 1, 0]}
    row = rec.agents_at(0)["slot"].tolist().index(a)
    assert rec.agents_at(0)["item_level"][row] == 3 + 2  # the worn hat and the arrows


@pytest.mark.slow
def test_recorded_inventories_match_the_game_tick_by_tick():
    rec = item_recording()
    key = jax.random.PRNGKey(SEED)
    state = start_state()
    obs = jax.jit(nj.observe, static_argnames="config")(state, config=ITEMS)
    policy = jax.jit(gear_forager)
    done = np.zeros(ITEMS.num_agents, bool)
    seen = 0
    for f in range(rec.num_frames):
        if f:
            k_act, k_step = jax.random.split(jax.random.fold_in(key, int(start_state().tick) + f))
            obs, state, _, done, _ = nj.jit_step(k_step, state, policy(k_act, obs), ITEMS)
            done = np.asarray(done)
        items = jax.tree.map(np.asarray, state.items)
        present = np.asarray(state.agents.alive) | done
        inv = rec.inventory_at(f)
        for name in SLOT_NAMES:
            want = np.where(present[:, None], getattr(items, name), 0).astype(np.int64)
            assert (inv[name] == want).all(), (f, name)
        agents = rec.agents_at(f)
        slots = agents["slot"]
        assert (agents["gold"] == items.gold[slots]).all(), f
        worn = np.where(items.equipped, items.level, 0).sum(1)
        assert (agents["item_level"] == worn[slots]).all(), f
        seen += int((inv["kind"] > 0).sum())
    assert seen > 0


@pytest.mark.slow
def test_inventory_at_needs_items_and_items_at_is_empty_without():
    rec = record(hunter, nj.Config.small(), 2, 0)
    assert all(len(v) == 0 for v in rec.items_at(1).values())
    try:
        rec.inventory_at(0)
    except ValueError as e:
        assert "no items" in str(e)
    else:
        raise AssertionError("inventory_at answered without items")


def test_without_items_the_format_is_as_before():
    rec = record(hunter, nj.Config.small(), 3, 0)
    assert rec.items is None and rec.item_off is None
    assert set(rec.agents) == set(AGENT_COLUMNS)
    data = replay_data(rec)
    assert not {"item_off", "items"} & set(data) and "inventory_slots" not in data["meta"]
    assert "items" not in data["names"] and data["names"]["tiles"] == list(nj.TILE_NAMES)
    assert len(data["colors"]["tiles"]) == nj.NUM_TILE_TYPES


# ----------------------------------------------------------------------------- tiles
def test_the_tile_colour_table_covers_all_16_kinds():
    assert PROFESSION_TILE_COLORS.shape == (nj.NUM_PROFESSION_TILE_TYPES, 3)
    assert len(nj.PROFESSION_TILE_NAMES) == nj.NUM_PROFESSION_TILE_TYPES
    assert len({tuple(c) for c in PROFESSION_TILE_COLORS.tolist()}) == 16  # all different
    assert (TILE_COLORS == PROFESSION_TILE_COLORS[:nj.NUM_TILE_TYPES]).all()  # one table
    others = {tuple(c) for c in np.concatenate([POPULATION_COLORS, STYLE_COLORS, NPC_COLORS]).tolist()}
    assert not others & {tuple(c) for c in PROFESSION_TILE_COLORS.tolist()}
    assert tile_colors(ITEMS) is PROFESSION_TILE_COLORS and tile_colors(nj.Config.small()) is TILE_COLORS
    tiles = np.arange(16, dtype=np.int8).reshape(4, 4)
    img = render_arrays(tiles, np.zeros((0, 2)), [], scale=2)
    assert (img[::2, ::2].reshape(16, 3) == PROFESSION_TILE_COLORS).all()


# ----------------------------------------------------------------------------- page, GIF
def test_the_page_holds_inventories_and_shows_them_in_the_panel():
    rec = item_recording()
    text = to_html(rec)
    data = page_data(text)
    assert data["meta"]["inventory_slots"] == 4
    assert data["names"]["items"] == list(nj.ITEM_NAMES)
    assert data["names"]["tiles"] == list(nj.PROFESSION_TILE_NAMES)
    assert len(data["colors"]["tiles"]) == 16
    assert (unpack(data["item_off"]) == rec.item_off).all()
    for name in ITEM_COLUMNS:
        assert (unpack(data["items"][name]) == rec.items[name]).all(), name
    for name in ITEM_AGENT_COLUMNS:
        assert (unpack(data["agents"][name]) == rec.agents[name]).all(), name
    # The agent panel's item fields and the script view of them.
    for field in ('id="panel-inventory"', 'id="panel-gold"', 'id="panel-item-level"', "equipped",
                  "N.items[it.kind[j]]", "it.level[j]", "it.quantity[j]", "itemsAt(f, slot)"):
        assert field in text, field


# The page's script run by node with a stand-in DOM (canvases draw nothing): what the panel
# of the agent opened by the page's #tick=T&uid=U holds, and nmmoReplay.itemsAt(T, slot).
NODE = shutil.which("node")
PANEL_JS = r'''
const fs = require("fs");
const [file, tick, uid, slot] = process.argv.slice(1);
const html = fs.readFileSync(file, "utf8");
const data = html.match(/<script id="replay-data" type="application\/json">([\s\S]*?)<\/script>/)[1];
const code = html.match(/<script>\n([\s\S]*?)<\/script>/)[1];
const nothing = new Proxy(function () {}, {get: (t, k) => k === "data" ? new Uint8ClampedArray(1 << 20) : nothing,
                                           apply: () => nothing, set: () => true});
const els = {};
const el = id => els[id] || (els[id] = {innerHTML: "", textContent: "", dataset: {}, value: "0",
  width: 100, height: 100, addEventListener() {}, getContext: () => nothing,
  getBoundingClientRect: () => ({left: 0, top: 0, width: 1, height: 1})});
el("replay-data").textContent = data;
Object.assign(global, {document: {getElementById: el, createElement: () => el(Math.random()),
                                  addEventListener() {}},
                       location: {hash: `#tick=${tick}&uid=${uid}`}, window: {},
                       atob: s => Buffer.from(s, "base64").toString("binary"),
                       requestAnimationFrame: () => 0, performance: {now: () => 0}});
eval(code);
console.log(JSON.stringify({panel: els.panel.innerHTML, items: window.nmmoReplay.itemsAt(Number(tick), Number(slot))}));
'''


@pytest.mark.skipif(NODE is None, reason="no node on PATH")
def test_the_panel_lists_the_selected_agents_items(tmp_path):
    rec = item_recording()
    page = write_html(rec, tmp_path / "items.html")
    agents = rec.agents_at(0)
    a = int(rec.items_at(0)["slot"][0])  # the agent given three items
    row = agents["slot"].tolist().index(a)
    uid, gold = int(agents["uid"][row]), int(agents["gold"][row])
    out = subprocess.run([NODE, "-e", PANEL_JS, str(page), "0", str(uid), str(a)],
                         capture_output=True, text=True, timeout=60, check=True)
    shown = json.loads(out.stdout)
    panel = shown["panel"]
    assert f"uid {uid}" in panel and f'id="panel-gold">{gold}<' in panel
    assert 'id="panel-item-level">5<' in panel and "inventory 3/4 slots" in panel
    rows = panel.split('<table id="panel-inventory">')[1].split("</table>")[0].split("<tr")
    worn = [r for r in rows if 'class="eq"' in r]
    assert len(worn) == 2 and "hat" in worn[0] and "arrow" in worn[1] and ">30<" in worn[1]
    assert any("ration" in r and "equipped" not in r for r in rows)
    assert shown["items"] == [
        {"index": 0, "kind": nj.HAT, "name": "hat", "level": 3, "quantity": 1, "equipped": 1},
        {"index": 1, "kind": nj.ARROW, "name": "arrow", "level": 2, "quantity": 30, "equipped": 1},
        {"index": 2, "kind": nj.RATION, "name": "ration", "level": 1, "quantity": 1, "equipped": 0}]


def test_the_gif_draws_resource_tiles_exactly(tmp_path):
    rec = item_recording()
    assert (rec.tiles0 >= nj.NUM_TILE_TYPES).any()  # the world has resource tiles
    gif = Image.open(write_gif(rec, tmp_path / "items.gif", scale=2, every=8))
    gif.seek(1)
    assert (np.asarray(gif.convert("RGB")) == rec.frame_image(8, scale=2)).all()


# ----------------------------------------------------------------------------- script
def test_the_script_records_an_nmmo2_world(tmp_path, capsys, monkeypatch):
    """--preset nmmo2 keeps the preset's NPCs, items and professions; the page shows items.
    (Recording is replaced by the small item recording: nmmo2's world is large.)"""
    seen = {}

    def fake_record(policy, config, ticks, seed, **kw):
        seen.update(policy=policy, config=config)
        return item_recording()
    monkeypatch.setattr("viz.record", fake_record)
    out = tmp_path / "items.html"
    assert replay_script.main(["--policy", "gear_forager", "--preset", "nmmo2", "--ticks", "3",
                               "--out", str(out)]) == 0
    assert seen["policy"] is gear_forager and seen["config"] == nj.Config.preset("nmmo2")
    assert page_data(out.read_text())["meta"]["inventory_slots"] == 4
    assert "items: " in capsys.readouterr().out
    assert replay_script.item_summary(record(hunter, nj.Config.small(), 1, 0)) is None
