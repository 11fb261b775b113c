"""viz.page: the self-contained HTML replay and its size."""
from __future__ import annotations

import base64
import json
import re

import numpy as np

import nmmo_jax as nj
from tests.test_viz_record import synthetic_recording
from viz.page import to_html, write_html
from viz.record import AGENT_COLUMNS


def unpack(p: dict) -> np.ndarray:
    """Decode the viewer's packed arrays the way the page does."""
    dtypes = {"u1": "<u1", "i1": "<i1", "u2": "<u2", "i2": "<i2", "u4": "<u4", "i4": "<i4"}
    return np.frombuffer(base64.b64decode(p["b"]), dtypes[p["t"]])


def page_data(text: str) -> dict:
    m = re.search(r'<script id="replay-data" type="application/json">(.*?)</script>', text, re.S)
    assert m, "no embedded recording"
    return json.loads(m.group(1))


def test_html_is_self_contained_and_holds_the_recording(tmp_path):
    rec = synthetic_recording(nj.Config.small(), 40)
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
    assert data["agents"]["row"]["t"] == "u1" and data["agents"]["uid"]["t"] == "u2"
    life = [m for m in data["mean_lifetime"]]
    assert life[-1] == round(float(rec.mean_lifetime[-1]), 2) and life[0] is None
    assert len(data["colors"]["populations"]) == 4


def test_thousand_ticks_of_the_default_preset_fit_in_5_mb():
    """The README's promise: 1,000 ticks with every slot alive stay under 5 MB."""
    text = to_html(synthetic_recording(nj.Config(), 1000))
    assert len(text.encode()) < 5_000_000, len(text.encode())
