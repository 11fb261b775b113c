"""The HTML replay in a real browser: headless Chromium driven over the DevTools protocol.

The system's `chromium` (Debian package; .ci/run installs it) is started with
--remote-debugging-pipe, and a few lines of stdlib code speak the protocol
over that pipe, so nothing is downloaded. Skips only when no chromium exists.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nmmo_jax as nj
from tests.test_viz_record import small_recording, synthetic_recording
from viz.draw import POPULATION_COLORS, TILE_COLORS
from viz.page import write_html
from viz.record import DIED

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(BROWSER is None, reason="no chromium on PATH (apt-get install chromium)")]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--mute-audio", "--hide-scrollbars", "--window-size=1300,900",
         "--remote-debugging-pipe"]


class Chromium:
    """Headless Chromium with one page, driven by CDP over the debugging pipe (fds 3 and 4)."""

    def __init__(self, timeout: float = 30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="nmmo-chromium-")
        self._log = open(Path(self.profile) / "stderr.log", "w+b")  # a full pipe would block it
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # The browser's ends go to fds >= 10 (no clash with 3 and 4), then the shell puts
        # them on 3 and 4 for it (no preexec_fn: this process runs threads).
        child_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
        for fd in (to_child_r, from_child_w):
            os.close(fd)
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{child_r} 4>&{child_w} {child_r}<&- {child_w}>&-', "bash",
             BROWSER, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
            pass_fds=(child_r, child_w))
        os.close(child_r)
        os.close(child_w)
        self._buf = b""
        self._id = 0
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1300, "height": 900, "deviceScaleFactor": 1, "mobile": False})

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.time()
            if left <= 0 or not select.select([self._from_child], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                self._log.seek(0)
                raise RuntimeError("chromium closed the pipe: " + self._log.read().decode()[-2000:])
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None) -> dict:
        """Send one command and return its result (events in between are dropped)."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if self.session is not None and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + self.timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def js(self, expression: str):
        """Evaluate JavaScript in the page and return its (JSON-able) value."""
        out = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True})
        if "exceptionDetails" in out:
            raise RuntimeError(f"page error: {out['exceptionDetails']}")
        return out["result"].get("value")

    def open(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})
        deadline = time.time() + self.timeout
        while not self.js("document.readyState === 'complete' && !!window.nmmoReplay"):
            if time.time() > deadline:
                raise TimeoutError(f"page {url} did not load; console: {self.js('document.body.innerText')}")
            time.sleep(0.05)

    def click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent",
                      {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"]))
        return path

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            os.close(fd)
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    rec = small_recording()
    path = write_html(rec, tmp_path_factory.mktemp("replay") / "replay.html")
    browser = Chromium()
    try:
        browser.open(path.as_uri())
        yield browser, rec, path
    finally:
        browser.close()


def canvas_state(browser: Chromium) -> dict:
    """Distinct colours and a checksum of the map canvas, and the tick label."""
    return browser.js("""(() => {
        const c = document.getElementById('map');
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set(); let sum = 0;
        for (let i = 0; i < px.length; i += 4) {
            seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
            sum = (sum * 31 + px[i] + 7 * px[i + 1] + 13 * px[i + 2]) % 1000000007;
        }
        return {colors: seen.size, checksum: sum, w: c.width, h: c.height,
                tick: document.getElementById('tick').textContent, frame: window.nmmoReplay.frame};
    })()""")


def pixel(browser: Chromium, x: int, y: int) -> list[int]:
    return browser.js(f"Array.from(document.getElementById('map').getContext('2d')"
                      f".getImageData({x}, {y}, 1, 1).data.slice(0, 3))")


def lone_agent(rec, frame: int) -> int:
    """Index (within the frame's rows) of a living agent alone on its tile."""
    rows = rec.agents_at(frame)
    cells = list(zip(rows["row"].tolist(), rows["col"].tolist()))
    for i, cell in enumerate(cells):
        if cells.count(cell) == 1 and not rows["flags"][i] & DIED:
            return i
    raise AssertionError(f"no agent alone on its tile in frame {frame}")


def test_page_draws_the_recording(page):
    browser, rec, _ = page
    state = canvas_state(browser)
    h = rec.config.map_size
    cell = browser.js("window.nmmoReplay.cell")
    assert state["w"] == state["h"] == h * cell
    assert state["frame"] == 0 and state["tick"] == f"tick 0 / {rec.num_frames - 1}"
    assert state["colors"] >= 6  # terrain kinds plus agents, not a blank canvas
    # A tile with no agent near it shows exactly its terrain colour; an agent's centre its population's.
    tiles = rec.tiles_at(0)
    rows = rec.agents_at(0)
    free = np.ones_like(tiles, bool)
    for r, c in zip(rows["row"], rows["col"]):
        free[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2] = False
    r, c = np.argwhere(free)[len(np.argwhere(free)) // 2]
    assert pixel(browser, int(c * cell + cell // 2), int(r * cell + cell // 2)) == TILE_COLORS[tiles[r, c]].tolist()
    i = lone_agent(rec, 0)
    centre = (int(rows["col"][i] * cell + cell // 2), int(rows["row"][i] * cell + cell // 2))
    assert pixel(browser, *centre) == POPULATION_COLORS[rows["population"][i] % 16].tolist()


def test_scrub_bar_changes_picture_and_tick(page):
    browser, rec, _ = page
    browser.js("window.nmmoReplay.setFrame(0)")
    before = canvas_state(browser)
    box = browser.js("(() => { const r = document.getElementById('scrub').getBoundingClientRect();"
                     " return [r.left, r.top, r.width, r.height]; })()")
    browser.click(box[0] + 0.75 * box[2], box[1] + box[3] / 2)  # a real click on the slider's track
    after = canvas_state(browser)
    last = rec.num_frames - 1
    assert 0.6 * last <= after["frame"] <= 0.9 * last, after
    assert after["tick"] == f"tick {after['frame']} / {last}"
    assert after["checksum"] != before["checksum"]
    assert browser.js("Number(document.getElementById('scrub').value)") == after["frame"]


def test_click_on_agent_opens_its_panel(page, tmp_path):
    browser, rec, _ = page
    frame = rec.num_frames // 2
    browser.js(f"window.nmmoReplay.setFrame({frame})")
    rows = rec.agents_at(frame)
    i = lone_agent(rec, frame)
    rect = browser.js("(() => { const r = document.getElementById('map').getBoundingClientRect();"
                      " return [r.left, r.top, r.width / document.getElementById('map').width]; })()")
    cell = browser.js("window.nmmoReplay.cell") * rect[2]
    x = rect[0] + (rows["col"][i] + 0.5) * cell
    y = rect[1] + (rows["row"][i] + 0.5) * cell
    browser.click(float(x), float(y))
    uid = int(rows["uid"][i])
    assert browser.js("document.getElementById('panel').dataset.uid") == str(uid)
    text = browser.js("document.getElementById('panel').innerText")
    assert f"uid {uid}" in text and f"population {rows['population'][i]}" in text
    assert f"health {rows['health'][i]}/{rows['levels'][i][0]}" in " ".join(text.split())
    assert f"lifetime {rows['time_alive'][i]} ticks" in text
    # Clicking empty ground clears the panel again.
    tiles = rec.tiles_at(frame)
    empty = next((r, c) for r in range(tiles.shape[0]) for c in range(tiles.shape[1])
                 if np.abs(rows["row"] - r).min(initial=99) > 2 or np.abs(rows["col"] - c).min(initial=99) > 2)
    shot = browser.screenshot(tmp_path / "replay_selected.png")
    browser.click(rect[0] + (empty[1] + 0.5) * cell, rect[1] + (empty[0] + 0.5) * cell)
    assert browser.js("document.getElementById('panel').dataset.uid") == ""
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape == (900, 1300, 3) and len(np.unique(image.reshape(-1, 3), axis=0)) > 50


def test_play_advances_and_step_buttons(page):
    browser, rec, _ = page
    browser.js("window.nmmoReplay.setFrame(0); document.getElementById('speed').value = '60'")
    browser.js("document.getElementById('play').click()")
    deadline = time.time() + 10
    while browser.js("window.nmmoReplay.frame") < 5 and time.time() < deadline:
        time.sleep(0.05)
    browser.js("document.getElementById('play').click()")  # pause
    frame = browser.js("window.nmmoReplay.frame")
    assert frame >= 5
    browser.js("document.getElementById('next').click()")
    assert browser.js("window.nmmoReplay.frame") == min(frame + 1, rec.num_frames - 1)
    browser.js("document.getElementById('prev').click(); document.getElementById('prev').click()")
    assert browser.js("window.nmmoReplay.frame") == min(frame + 1, rec.num_frames - 1) - 2


def test_full_size_page_plays_every_frame(page, tmp_path):
    """1,000 ticks of 128 agents on the default map: every frame draws, the scrub bar reaches the end."""
    browser, _, _ = page
    rec = synthetic_recording(nj.Config(), 1000)
    browser.open(write_html(rec, tmp_path / "full.html").as_uri())
    try:
        ms = browser.js("""(() => { const t = performance.now();
            for (let f = 0; f < window.nmmoReplay.frames; f++) window.nmmoReplay.setFrame(f);
            return (performance.now() - t) / window.nmmoReplay.frames; })()""")
        print(f"full-size page: {ms:.2f} ms per frame drawn")  # information only, never asserted
        state = canvas_state(browser)
        assert state["frame"] == 1000 and state["tick"] == "tick 1000 / 1000" and state["colors"] > 8
        assert len(browser.js("window.nmmoReplay.agentsAt(1000)")) == 128
    finally:
        browser.open(write_html(small_recording(), tmp_path / "small.html").as_uri())


def test_npc_page_draws_npcs_by_kind_and_opens_their_panels(page, tmp_path):
    """With NPCs on: an NPC alone on the map shows its kind's colour, a click on it
    opens its panel, an agent's panel counts its NPC kills, the legend names the kinds."""
    from tests.test_viz_npcs import npc_recording
    from viz.draw import NPC_COLORS
    browser, _, _ = page
    rec = npc_recording()
    browser.open(write_html(rec, tmp_path / "npcs.html").as_uri())
    try:
        assert browser.js("window.nmmoReplay.numNpcs") == rec.config.num_npcs
        frame = rec.num_frames // 2
        browser.js(f"window.nmmoReplay.setFrame({frame})")
        npcs, agents = rec.npcs_at(frame), rec.agents_at(frame)
        assert len(browser.js(f"window.nmmoReplay.npcsAt({frame})")) == len(npcs["slot"])
        att = rec.attacks_at(frame)
        fighting = set(att["src"].tolist()) | set(att["dst"].tolist())
        cells = lambda rows, skip: {(r + dr, c + dc) for k, (r, c) in enumerate(zip(rows["row"], rows["col"]))
                                    if k != skip for dr in (-1, 0, 1) for dc in (-1, 0, 1)}
        lone = next(k for k in range(len(npcs["slot"]))
                    if not npcs["flags"][k] & DIED and int(npcs["slot"][k]) not in fighting
                    and (npcs["row"][k], npcs["col"][k]) not in cells(agents, -1) | cells(npcs, k))
        cell = browser.js("window.nmmoReplay.cell")
        x, y = int(npcs["col"][lone] * cell + cell // 2), int(npcs["row"][lone] * cell + cell // 2)
        kind = int(npcs["kind"][lone])
        assert pixel(browser, x, y) == NPC_COLORS[kind - nj.PASSIVE].tolist()
        left, top, ratio = browser.js("(() => { const r = document.getElementById('map').getBoundingClientRect();"
                                      " return [r.left, r.top, r.width / document.getElementById('map').width]; })()")
        browser.click(left + x * ratio, top + y * ratio)
        assert browser.js("document.getElementById('panel').dataset.npc") == str(npcs["slot"][lone])
        text = " ".join(browser.js("document.getElementById('panel').innerText").split())
        assert f"{nj.NPC_KIND_NAMES[kind]} NPC" in text and f"level {npcs['level'][lone]}" in text
        i = next(k for k in range(len(agents["slot"])) if not agents["flags"][k] & DIED)
        browser.click(left + (agents["col"][i] + 0.5) * cell * ratio,
                      top + (agents["row"][i] + 0.5) * cell * ratio)
        text = " ".join(browser.js("document.getElementById('panel').innerText").split())
        assert "NPC kills" in text
        legend = browser.js("document.getElementById('legend').innerText")
        assert all(f"{k} NPC" in legend for k in ("passive", "neutral", "hostile"))
    finally:
        browser.open(write_html(small_recording(), tmp_path / "small.html").as_uri())


def test_item_page_draws_resource_tiles_and_lists_inventories(page, tmp_path):
    """With items and professions on, in a real browser: every frame draws, a resource
    tile alone shows its colour, and itemsAt gives the recorded inventory rows."""
    from tests.test_viz_items import item_recording
    from viz.draw import tile_colors
    browser, _, _ = page
    rec = item_recording()
    browser.open(write_html(rec, tmp_path / "items.html").as_uri())
    try:
        assert browser.js("window.nmmoReplay.inventorySlots") == rec.config.inventory_slots
        last = rec.num_frames - 1
        browser.js(f"for (let f = 0; f <= {last}; f++) window.nmmoReplay.setFrame(f)")
        assert canvas_state(browser)["tick"] == f"tick {last} / {last}"
        browser.js("window.nmmoReplay.setFrame(0)")
        tiles, rows = rec.tiles_at(0), rec.agents_at(0)
        near = {(r + dr, c + dc) for r, c in zip(rows["row"], rows["col"])
                for dr in (-1, 0, 1) for dc in (-1, 0, 1)}
        r, c = next((r, c) for r, c in np.argwhere(tiles >= nj.NUM_TILE_TYPES)
                    if (r, c) not in near)
        cell = browser.js("window.nmmoReplay.cell")
        assert pixel(browser, int(c * cell + cell // 2), int(r * cell + cell // 2)) == \
            tile_colors(rec.config)[tiles[r, c]].tolist()
        held = rec.items_at(0)
        a = int(held["slot"][0])
        shown = browser.js(f"window.nmmoReplay.itemsAt(0, {a})")
        assert [(x["kind"], x["level"], x["quantity"]) for x in shown] == [
            (int(k), int(lv), int(q)) for s, k, lv, q in zip(held["slot"], held["kind"],
                                                             held["level"], held["quantity"]) if s == a]
    finally:
        browser.open(write_html(small_recording(), tmp_path / "small.html").as_uri())
