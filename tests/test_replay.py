"""The replay recorder, the HTML writer, GIF/PNG output and scripts/replay.py."""
from __future__ import annotations

import base64
import functools
import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import nmmo_jax as nj
from envs.replay import (AGENT_COLUMNS, DIED, SPAWNED, Recording, record, replay_data, to_html,
                         write_gif, write_html, write_pngs)
from nmmo_jax.render import TILE_COLORS, levels_from_xp
from policies.scripted import random_policy
from scripts import replay as replay_script
from tests.conftest import scene

SMALL = nj.Config.small()
TICKS, SEED = 40, 3


@functools.lru_cache(maxsize=1)
def small_recording() -> Recording:
    """random_policy on Config.small() for 40 ticks (also used by the browser test)."""
    return record(random_policy, SMALL, TICKS, SEED, name="random")


def unpack(p: dict) -> np.ndarray:
    """Decode the viewer's packed arrays the way the page does."""
    dtypes = {"u1": "<u1", "i1": "<i1", "u2": "<u2", "i2": "<i2", "u4": "<u4", "i4": "<i4"}
    return np.frombuffer(base64.b64decode(p["b"]), dtypes[p["t"]])


# ----------------------------------------------------------------------------- the recording
def test_recording_matches_the_game_tick_by_tick():
    """Replaying the documented key scheme by hand gives the recorded frames exactly."""
    from tests.conftest import jit_reset, jit_step
    rec = small_recording()
    assert rec.num_frames == TICKS + 1 and rec.meta == {"policy": "random", "seed": SEED,
                                                       "ticks": TICKS, "start_tick": 0}
    key = jax.random.PRNGKey(SEED)
    obs, state = jit_reset(key, SMALL)
    policy = jax.jit(random_policy)
    done = np.zeros(SMALL.num_agents, bool)
    info = {"spawned": np.asarray(state.agents.alive), "death_cause": np.zeros(16, int)}
    ended = life = 0
    for f in range(rec.num_frames):
        if f:
            k_act, k_step = jax.random.split(jax.random.fold_in(key, f))
            obs, state, _, done, info = jit_step(k_step, state, policy(k_act, obs), SMALL)
            done = np.asarray(done)
            ended += int(done.sum())
            life += int(np.asarray(info["lifetime"]).sum())
        ag = jax.tree.map(np.asarray, state.agents)
        assert (rec.tiles_at(f) == np.asarray(state.tiles)).all(), f
        rows = rec.agents_at(f)
        present = np.flatnonzero(ag.alive | done)
        assert rows["slot"].tolist() == present.tolist(), f
        for name in ("population", "health", "food", "water", "time_alive", "damage", "immune",
                     "freeze", "uid"):
            assert (rows[name] == getattr(ag, name)[present]).all(), (f, name)
        assert (rows["row"] == ag.pos[present, 0]).all() and (rows["col"] == ag.pos[present, 1]).all()
        assert (rows["levels"] == levels_from_xp(ag.xp[present])).all()
        flags = np.where(np.asarray(info["spawned"]), SPAWNED, 0) | np.where(done, DIED, 0)
        assert (rows["flags"] == flags[present]).all(), f
        assert (rows["cause"] == np.asarray(info["death_cause"])[present]).all()
        assert rec.alive[f] == ag.alive.sum()
        assert (rec.lives_ended[f], rec.lifetime_sum[f]) == (ended, life)
    assert ended > 0  # random play on the small map kills agents within 40 ticks
    assert np.isclose(rec.mean_lifetime[-1], life / ended)


SURE = nj.Config.small(spawn_per_tick=0, hit_base=1.0)  # a hand-built scene where every attack hits


def test_scene_records_attacks_deaths_and_tile_changes():
    lava_cell, forest_cell = (0, 5), (12, 12)
    start = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11)),   # 0 melees 1
                   dict(slot=2, pos=lava_cell),                             # dies in lava, tick 1
                   dict(slot=3, pos=forest_cell),                           # eats the forest
                   dict(slot=4, pos=(16, 16)), dict(slot=5, pos=(16, 20)),  # mage out of range (4)
                   dict(slot=6, pos=(20, 10)), dict(slot=7, pos=(20, 13), immune=5)],  # immune target
                  tiles={forest_cell: nj.FOREST, lava_cell: nj.LAVA}, config=SURE)
    target = np.arange(16, dtype=np.int32)
    style = np.zeros(16, np.int32)
    target[[0, 4, 6]] = [1, 5, 7]
    style[[4, 6]] = nj.MAGE
    fixed = nj.Actions(move=jnp.zeros(16, jnp.int32), style=jnp.asarray(style), target=jnp.asarray(target))
    rec = record(lambda key, obs: fixed, SURE, 4, state=start, name="scene")

    first = rec.agents_at(0)
    assert first["slot"].tolist() == list(range(8)) and (first["flags"] == SPAWNED).all()
    attacks = [{k: v.tolist() for k, v in rec.attacks_at(f).items()} for f in range(rec.num_frames)]
    hit_1 = {"src": [0], "dst": [1], "style": [nj.MELEE], "hit": [1]}
    assert attacks == [{"src": [], "dst": [], "style": [], "hit": []}, hit_1, hit_1,
                       {"src": [], "dst": [], "style": [], "hit": []}, {"src": [], "dst": [], "style": [], "hit": []}]

    def row(f, slot):
        rows = rec.agents_at(f)
        i = rows["slot"].tolist().index(slot)
        return {k: v[i].tolist() for k, v in rows.items()}

    assert row(1, 2)["flags"] == DIED and row(1, 2)["cause"] == nj.CAUSE_LAVA
    assert (row(1, 2)["row"], row(1, 2)["col"]) == lava_cell
    assert 2 not in rec.agents_at(2)["slot"].tolist()
    assert row(1, 1)["damage"] == 5 and row(1, 1)["health"] == 5  # 10 - 5 melee, no heal
    assert row(2, 1)["flags"] == DIED and row(2, 1)["cause"] == nj.CAUSE_COMBAT
    assert rec.alive.tolist() == [8, 7, 6, 6, 6]
    assert rec.lives_ended.tolist() == [0, 1, 2, 2, 2] and rec.lifetime_sum.tolist() == [0, 1, 3, 3, 3]
    # The forest under slot 3 turned to scrub in tick 1.
    lo, hi = rec.tile_off[1], rec.tile_off[2]
    changes = dict(zip(rec.tile_idx[lo:hi].tolist(), rec.tile_val[lo:hi].tolist()))
    assert changes[forest_cell[0] * SURE.map_size + forest_cell[1]] == nj.SCRUB
    assert rec.tiles_at(1)[forest_cell] == nj.SCRUB and rec.tiles_at(0)[forest_cell] == nj.FOREST
    # frame_image draws it with nmmo_jax.render: the attack line and the cross are there.
    img = rec.frame_image(1, scale=8)
    assert img.shape == (256, 256, 3)
    assert img[lava_cell[0] * 8, lava_cell[1] * 8].tolist() != TILE_COLORS[nj.LAVA].tolist()  # cross


def test_record_refuses_bad_arguments():
    with pytest.raises(ValueError, match="ticks"):
        record(random_policy, SMALL, 0)
    with pytest.raises(ValueError, match="ticks"):
        record(random_policy, SMALL, "5")
    with pytest.raises(ValueError, match="policy"):
        record("random", SMALL, 5)
    with pytest.raises(ValueError, match="config"):
        record(random_policy, {"map_size": 32}, 5)
    with pytest.raises(ValueError, match="frame 41"):
        small_recording().agents_at(41)


# ----------------------------------------------------------------------------- the page
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


# ----------------------------------------------------------------------------- pictures
def test_gif_and_pngs_hold_the_rendered_frames(tmp_path):
    rec = small_recording()
    gif = Image.open(write_gif(rec, tmp_path / "r.gif", scale=3, every=5))
    assert gif.n_frames == 9  # frames 0, 5, ..., 40
    gif.seek(2)
    assert (np.asarray(gif.convert("RGB")) == rec.frame_image(10, scale=3)).all()
    paths = write_pngs(rec, tmp_path / "png", every=15, scale=2)
    assert [p.name for p in paths] == ["tick_000000.png", "tick_000015.png", "tick_000030.png",
                                       "tick_000040.png"]
    assert (np.asarray(Image.open(paths[1]).convert("RGB")) == rec.frame_image(15, scale=2)).all()
    with pytest.raises(ValueError, match="every"):
        write_gif(rec, tmp_path / "x.gif", every=0)


# ----------------------------------------------------------------------------- the script
def test_script_writes_html_gif_and_pngs(tmp_path, capsys):
    out = tmp_path / "replay.html"
    assert replay_script.main(["--policy", "random", "--preset", "small", "--ticks", str(TICKS),
                               "--seed", str(SEED), "--out", str(out), "--gif", str(tmp_path / "r.gif"),
                               "--png-every", "20"]) == 0
    data = page_data(out.read_text())
    expected = replay_data(small_recording())  # same policy, preset and seed: the same recording
    assert data["alive"] == expected["alive"] and data["agents"] == expected["agents"]
    assert data["meta"]["policy"] == "random"
    assert Image.open(tmp_path / "r.gif").n_frames == TICKS + 1
    assert sorted(p.name for p in (tmp_path / "replay_frames").iterdir()) == [
        "tick_000000.png", "tick_000020.png", "tick_000040.png"]
    assert f"wrote {out}" in capsys.readouterr().out


def run_script_error(args: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        replay_script.main(args)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_script_missing_or_bad_checkpoint_fails_clearly(tmp_path, capsys):
    missing = tmp_path / "no_such_run"
    err = run_script_error(["--policy", str(missing), "--ticks", "5"], capsys)
    assert f"--policy {str(missing)!r}: no such checkpoint file or run directory" in err
    junk = tmp_path / "ckpt_0000001.npz"
    junk.write_bytes(b"this is not a checkpoint")
    err = run_script_error(["--policy", str(junk), "--ticks", "5"], capsys)
    assert "cannot load this checkpoint" in err and "corrupt or not a checkpoint" in err
    empty = tmp_path / "empty_run"
    empty.mkdir()
    err = run_script_error(["--policy", str(empty), "--ticks", "5"], capsys)
    assert "cannot load this checkpoint" in err and "no ckpt_*.npz" in err
    assert not (tmp_path / "replay.html").exists()


def test_script_pretrained_and_scripted_names(monkeypatch, tmp_path, capsys):
    from policies import scripted
    monkeypatch.setattr(replay_script, "pretrained_path",
                        lambda: tmp_path / "pretrained" / "default.npz")
    err = run_script_error(["--policy", "pretrained"], capsys)
    assert "no pretrained checkpoint at" in err and str(tmp_path / "pretrained") in err
    monkeypatch.delattr(scripted, "forager", raising=False)
    monkeypatch.delattr(scripted, "forager_policy", raising=False)
    err = run_script_error(["--policy", "forager"], capsys)
    assert "policies/scripted.py has no function 'forager'" in err
    assert replay_script.scripted_policy("random") is random_policy
    err = run_script_error(["--policy", "random", "--ticks", "0"], capsys)
    assert "--ticks must be >= 1" in err


def test_attacks_from_info_when_the_step_reports_them():
    """If step's info carries attack_target / attack_hit, the recorder takes them as they are."""
    from envs.replay import _attacks
    a = SMALL.num_agents
    agents = jax.tree.map(lambda x: np.asarray(x)[None], scene([dict(slot=0, pos=(5, 5))], config=SMALL).agents)
    actions = nj.Actions(move=np.zeros((1, a), int), style=np.full((1, a), nj.RANGE), target=np.zeros((1, a), int))
    target = np.arange(a)[None].copy()
    target[0, [3, 7]] = [9, 2]
    info = {"attack_target": target, "attack_hit": (np.arange(a) == 7)[None]}
    prev = np.zeros((1, a), bool)
    tick_i, rows = _attacks(prev, prev, actions, agents, info, SMALL)
    assert tick_i.tolist() == [0, 0] and rows.tolist() == [[3, 9, nj.RANGE, 0], [7, 2, nj.RANGE, 1]]
    # Without them: nobody alive, so no attack passes the combat test.
    assert len(_attacks(prev, prev, actions, agents, {}, SMALL)[0]) == 0
