"""viz.page: the self-contained HTML replay and its size."""
from __future__ import annotations

import base64
import json
import re

import numpy as np

import nmmo_jax as nj
from tests.test_viz_record import small_recording
from viz.page import replay_data, to_html, write_html
from viz.record import AGENT_COLUMNS, Recording


def unpack(p: dict) -> np.ndarray:
    """Decode the viewer's packed arrays the way the page does."""
    dtypes = {"u1": "<u1", "i1": "<i1", "u2": "<u2", "i2": "<i2", "u4": "<u4", "i4": "<i4"}
    return np.frombuffer(base64.b64decode(p["b"]), dtypes[p["t"]])



def page_data(text: str) -> dict:
    m = re.search(r'<script id="replay-data" type="application/json">(.*?)</script>', text, re.S)
    assert m, "no embedded recording"
    return json.loads(m.group(1))


def test_html_is_self_contained_and_holds_the_recording(tmp_path):
    rec = small_recording()
    path = write_html(rec, tmp_path / "sub" / "replay.html", title="a <b>title</b>")
    text = path.read_text()
    assert "<title>a &lt;b&gt;title&lt;/b&gt;</title>" in text
    for needle in ("http:", "https:", "<link", " src=", "import ", "fetch(", "XMLHttpRequest"):
        assert needle not in text, needle  # nothing loads from anywhere else
    data = page_data(text)
    assert data["meta"]["frames"] == rec.num_frames and data["meta"]["map_size"] == 32
    assert (unpack(data["tiles0"]) == rec.tiles0.reshape(-1)).all()
    for name in ("tile_off", "tile_idx", "tile_val", "agent_off", "attack_off", "alive", "levels"):
        assert (unpack(data[name]) == getattr(rec, name).reshape(-1)).all(), name
    for name in AGENT_COLUMNS:
        assert (unpack(data["agents"][name]) == rec.agents[name]).all(), name
    for name, values in rec.attacks.items():
        assert (unpack(data["attacks"][name]) == values).all(), name
    assert data["agents"]["row"]["t"] == "u1" and data["agents"]["uid"]["t"] in ("u1", "u2")
    life = [m for m in data["mean_lifetime"]]
    assert life[-1] == round(float(rec.mean_lifetime[-1]), 2) and life[0] is None
    assert len(data["colors"]["populations"]) == 4


def synthetic_full_recording(ticks: int = 1000) -> Recording:
    """A worst case for size on the default preset: all 128 agents alive every tick."""
    config = nj.Config()
    rng = np.random.default_rng(0)
    frames, a = ticks + 1, config.num_agents
    n = frames * a
    frame_of = np.repeat(np.arange(frames), a)
    agents = {"slot": np.tile(np.arange(a), frames), "row": rng.integers(9, 71, n),
              "col": rng.integers(9, 71, n), "population": np.tile(np.arange(a) % 8, frames),
              "health": rng.integers(0, 11, n), "food": rng.integers(0, 11, n),
              "water": rng.integers(0, 11, n), "time_alive": np.minimum(frame_of, rng.integers(0, 1000, n)),
              "damage": rng.integers(0, 10, n), "immune": rng.integers(0, 11, n),
              "freeze": rng.integers(0, 3, n), "uid": frame_of * a + np.tile(np.arange(a), frames),
              "flags": rng.integers(0, 4, n), "cause": rng.integers(0, 4, n)}
    changes, attacks = 40, 20  # per tick: forests eaten or regrown; attacks
    return Recording(
        config=config, meta={"policy": "synthetic", "seed": 0, "ticks": ticks, "start_tick": 0},
        tiles0=rng.integers(0, 6, (80, 80)).astype(np.uint8),
        tile_off=np.arange(frames + 1) * changes, tile_idx=rng.integers(0, 6400, frames * changes),
        tile_val=rng.integers(3, 5, frames * changes).astype(np.uint8),
        agent_off=np.arange(frames + 1) * a, agents=agents,
        levels=rng.integers(1, 30, (n, 7)), attack_off=np.arange(frames + 1) * attacks,
        attacks={"src": rng.integers(0, a, frames * attacks), "dst": rng.integers(0, a, frames * attacks),
                 "style": rng.integers(0, 3, frames * attacks), "hit": rng.integers(0, 2, frames * attacks)},
        alive=np.full(frames, a), lives_ended=np.arange(frames) * 2, lifetime_sum=np.arange(frames) * 60)


def test_thousand_ticks_of_the_default_preset_fit_in_10_mb():
    text = to_html(synthetic_full_recording(1000))
    assert len(text.encode()) < 10_000_000, len(text.encode())

