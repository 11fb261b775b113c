"""The viewer with NPCs on (docs/rules.md §9): recordings keep the NPCs, their attacks,
deaths and the agents' NPC kills; pictures and the page draw them by kind."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import nmmo_jax as nj
from policies.scripted import hunter
from tests.test_systems_npc import A, NPC_SCENE, STILL, npc_scene
from tests.test_viz_page import page_data, unpack
from viz.draw import (DEATH_COLOR, HEALTH_EMPTY_COLOR, HEALTH_FULL_COLOR, NPC_COLORS,
                      OUTLINE_COLOR, POPULATION_COLORS, STYLE_COLORS, TILE_COLORS, render,
                      render_arrays)
from viz.images import write_gif
from viz.page import to_html
from viz.record import AGENT_COLUMNS, DIED, NPC_COLUMNS, NPC_KILLS, SPAWNED, record

S = 8
SMALL_NPCS = nj.Config.small(num_npcs=16)
TICKS, SEED = 24, 2


def centre(img: np.ndarray, r: int, c: int, scale: int = S) -> list[int]:
    return img[r * scale + scale // 2, c * scale + scale // 2].tolist()


@functools.lru_cache(maxsize=1)
def npc_recording():
    """`hunter` on the small preset with 16 NPC slots for 24 ticks."""
    return record(hunter, SMALL_NPCS, TICKS, SEED, name="hunter")


def fixed(**slots) -> nj.Actions:
    """Actions of NPC_SCENE: slot i attacks target (style, slot) of slots[f"a{i}"]."""
    style, target = np.zeros(A, np.int32), np.arange(A, dtype=np.int32)
    for name, (st, t) in slots.items():
        style[int(name[1:])], target[int(name[1:])] = st, t
    return nj.Actions(move=jnp.zeros(A, jnp.int32), style=jnp.asarray(style),
                      target=jnp.asarray(target))


# ----------------------------------------------------------------------------- record
@pytest.mark.slow
def test_an_npc_recording_holds_the_npc_arrays():
    rec = npc_recording()
    f, n = rec.num_frames, SMALL_NPCS.num_npcs
    assert rec.npc_off.shape == (f + 1,) and rec.npc_alive.shape == (f,)
    assert rec.npc_off[0] == 0 and (np.diff(rec.npc_off) >= 0).all()
    assert set(rec.npcs) == set(NPC_COLUMNS)
    assert all(v.shape == (rec.npc_off[-1],) for v in rec.npcs.values())
    assert set(rec.agents) == set(AGENT_COLUMNS) | {NPC_KILLS}
    assert rec.meta["npc_health"] == 10 and rec.meta["params"] == {}
    for frame in range(f):
        rows = rec.npcs_at(frame)
        assert ((rows["slot"] >= A) & (rows["slot"] < SMALL_NPCS.num_slots)).all()
        assert len(set(rows["slot"].tolist())) == len(rows["slot"])
        assert ((rows["flags"] & DIED) == 0).sum() == rec.npc_alive[frame] <= n
        assert set(rows["kind"].tolist()) <= {nj.PASSIVE, nj.NEUTRAL, nj.HOSTILE}
    assert (rec.npcs_at(0)["flags"] == SPAWNED).all() and rec.npc_alive[0] > 0
    # The hunter hits NPCs; every attack names bodies of the slot space.
    assert (rec.attacks["dst"] >= A).any()
    assert rec.attacks["src"].max() < SMALL_NPCS.num_slots


@pytest.mark.slow
def test_recorded_npcs_match_the_game_tick_by_tick():
    rec = npc_recording()
    key = jax.random.PRNGKey(SEED)
    obs, state = nj.jit_reset(key, SMALL_NPCS)
    policy = jax.jit(hunter)
    kills = np.zeros(SMALL_NPCS.num_agents, int)
    for f in range(1, 9):
        k_act, k_step = jax.random.split(jax.random.fold_in(key, f))
        obs, state, _, done, info = nj.jit_step(k_step, state, policy(k_act, obs), SMALL_NPCS)
        info, npcs = jax.tree.map(np.asarray, info), jax.tree.map(np.asarray, state.npcs)
        present = np.flatnonzero(info["npc_alive"] | info["npc_done"])
        rows = rec.npcs_at(f)
        assert rows["slot"].tolist() == (A + present).tolist(), f
        for name in ("kind", "level", "style", "health", "damage", "freeze"):
            assert (rows[name] == getattr(npcs, name)[present]).all(), (f, name)
        assert (rows["row"] == npcs.pos[present, 0]).all() and (rows["col"] == npcs.pos[present, 1]).all()
        flags = np.where(info["npc_spawned"], SPAWNED, 0) | np.where(info["npc_done"], DIED, 0)
        assert (rows["flags"] == flags[present]).all(), f
        att = rec.attacks_at(f)
        mine = att["src"] >= A  # the NPCs' attacks follow the agents'
        assert (np.diff(mine.astype(int)) >= 0).all()
        npc_target = info["npc_attack_target"]
        src = np.flatnonzero(npc_target != A + np.arange(SMALL_NPCS.num_npcs))
        assert att["src"][mine].tolist() == (A + src).tolist()
        assert att["dst"][mine].tolist() == npc_target[src].tolist()
        assert att["style"][mine].tolist() == npcs.style[src].tolist()
        kills = np.where(info["spawned"], 0, kills) + info["npc_kill"]
        agents = rec.agents_at(f)
        assert (agents[NPC_KILLS] == kills[agents["slot"]]).all(), f
        assert rec.npc_alive[f] == info["npc_alive"].sum()


@pytest.mark.slow
def test_a_scene_records_npc_attacks_deaths_and_kills():
    start = npc_scene([dict(slot=0, pos=(10, 10)), dict(slot=3, pos=(20, 20))],
                      # frozen, so neither moves: NPC 1 heals to 5 and agent 0's hit kills it;
                      # NPC 2 attacks agent 3 from where it stands
                      [dict(slot=1, pos=(10, 11), health=4, freeze=3),
                       dict(slot=2, pos=(20, 21), kind=nj.HOSTILE, level=3, freeze=3)])
    actions = fixed(a0=(nj.MELEE, A + 1))
    rec = record(lambda key, obs: actions, NPC_SCENE, 3, state=start, name="scene", params=STILL)
    assert rec.meta["params"]["npc_spawn_attempts"] == 0
    hits = {k: v.tolist() for k, v in rec.attacks_at(1).items()}
    assert hits == {"src": [0, A + 2], "dst": [A + 1, 3], "style": [nj.MELEE, nj.MELEE],
                    "hit": [1, 1]}
    died = rec.npcs_at(1)
    assert died["slot"].tolist() == [A + 1, A + 2] and died["flags"].tolist() == [DIED, 0]
    assert rec.npcs_at(2)["slot"].tolist() == [A + 2]  # gone from the next frame on
    kills = lambda f: dict(zip(rec.agents_at(f)["slot"].tolist(), rec.agents_at(f)[NPC_KILLS].tolist()))
    assert kills(0) == {0: 0, 3: 0} and kills(1) == {0: 1, 3: 0} and kills(3) == {0: 1}
    # Two melee hits of 5 kill agent 3 in tick 2, a death by an NPC.
    second = rec.agents_at(2)
    i = second["slot"].tolist().index(3)
    assert second["flags"][i] == DIED and second["cause"][i] == nj.CAUSE_NPC
    assert rec.npc_alive.tolist() == [2, 1, 1, 1]
    # Its frame shows the NPC's cross (off the attack line) and the hostile's attack line.
    img = rec.frame_image(1, scale=S)
    assert img[10 * S + 1, 11 * S + 1].tolist() == DEATH_COLOR.tolist()
    assert img[20 * S + S // 2, 21 * S].tolist() == STYLE_COLORS[nj.MELEE].tolist()
    assert img[20 * S + S - 2, 21 * S + S // 2].tolist() == NPC_COLORS[2].tolist()


def test_without_npcs_the_format_is_v13s():
    rec = record(hunter, nj.Config.small(), 3, 0)
    assert rec.npcs is None and rec.npc_off is None and rec.npc_alive is None
    assert set(rec.agents) == set(AGENT_COLUMNS) and "npc_health" not in rec.meta
    data = page_data(to_html(rec))
    assert not {"npc_off", "npcs", "npc_alive"} & set(data)
    assert "num_npcs" not in data["meta"] and "npcs" not in data["colors"]


# ----------------------------------------------------------------------------- draw
def test_npcs_are_drawn_by_kind_with_health_bars():
    state = npc_scene([dict(slot=0, pos=(5, 5))],
                      [dict(slot=0, pos=(10, 10), kind=nj.PASSIVE),
                       dict(slot=1, pos=(10, 14), kind=nj.NEUTRAL, health=5),
                       dict(slot=2, pos=(14, 10), kind=nj.HOSTILE),
                       dict(slot=3, pos=(20, 20), alive=False)])
    img = render(state, NPC_SCENE, scale=S, params=STILL)
    for (r, c), kind in (((10, 10), nj.PASSIVE), ((10, 14), nj.NEUTRAL), ((14, 10), nj.HOSTILE)):
        assert centre(img, r, c) == NPC_COLORS[kind - nj.PASSIVE].tolist(), nj.NPC_KIND_NAMES[kind]
    assert centre(img, 5, 5) == POPULATION_COLORS[0].tolist()  # the agent, as before
    assert centre(img, 20, 20) == TILE_COLORS[nj.GRASS].tolist()  # an empty NPC slot: nothing
    # Three shapes, told apart by a few pixels of their tiles.
    block = lambda r, c: img[r * S:(r + 1) * S, c * S:(c + 1) * S]
    assert block(10, 10)[3, 1].tolist() == OUTLINE_COLOR.tolist()     # the square's side
    assert block(10, 14)[3, 1].tolist() == NPC_COLORS[1].tolist()      # the diamond's tip
    assert block(14, 10)[1, 1].tolist() == TILE_COLORS[nj.GRASS].tolist()  # beside the apex
    assert block(14, 10)[S - 2, 1].tolist() == NPC_COLORS[2].tolist()  # the triangle's base
    # Health bars: full for the passive one, half for the neutral one.
    bar = lambda r, c: block(r, c)[0, 1:S - 1]
    assert (bar(10, 10) == HEALTH_FULL_COLOR).all()
    assert (bar(10, 14)[:3] == HEALTH_FULL_COLOR).all() and (bar(10, 14)[3:] == HEALTH_EMPTY_COLOR).all()


def test_npc_deaths_and_attacks_are_drawn():
    state = npc_scene([dict(slot=0, pos=(10, 10))],
                      [dict(slot=0, pos=(10, 13), kind=nj.HOSTILE),
                       dict(slot=1, pos=(20, 20), alive=False)])
    died = np.zeros(NPC_SCENE.num_npcs, bool)
    died[1] = True
    img = render(state, NPC_SCENE, scale=S, attacks=[(A + 0, 0, nj.MAGE)], npc_died=died,
                 params=STILL)
    assert centre(img, 20, 20) == DEATH_COLOR.tolist()
    assert img[10 * S + S // 2, 11 * S + S // 2].tolist() == STYLE_COLORS[nj.MAGE].tolist()


def test_npc_colours_stand_apart_and_arrays_are_checked():
    palette = {tuple(c) for c in np.concatenate([TILE_COLORS, POPULATION_COLORS, STYLE_COLORS])}
    assert len({tuple(c) for c in NPC_COLORS}) == 3 and not palette & {tuple(c) for c in NPC_COLORS}
    tiles = np.full((4, 4), nj.GRASS, np.int8)
    img = render_arrays(tiles, np.zeros((0, 2)), [], scale=4, npc_pos=[[1, 2]], npc_kind=[nj.NEUTRAL])
    assert centre(img, 1, 2, 4) == NPC_COLORS[1].tolist()
    for bad in (dict(npc_pos=[[4, 0]], npc_kind=[1]), dict(npc_pos=[[0, 0]]),
                dict(npc_pos=[[0, 0]], npc_kind=[1, 2])):
        try:
            render_arrays(tiles, np.zeros((0, 2)), [], scale=4, **bad)
        except ValueError as e:
            assert "npc_" in str(e)
        else:
            raise AssertionError(f"accepted {bad}")


# ----------------------------------------------------------------------------- page, GIF
def test_the_page_and_gif_hold_the_npcs(tmp_path):
    rec = npc_recording()
    data = page_data(to_html(rec))
    assert data["meta"]["num_npcs"] == 16 and data["meta"]["npc_health"] == 10
    assert data["names"]["npc_kinds"] == ["passive", "neutral", "hostile"]
    assert len(data["colors"]["npcs"]) == 3
    assert (unpack(data["npc_off"]) == rec.npc_off).all()
    assert (unpack(data["npc_alive"]) == rec.npc_alive).all()
    for name in NPC_COLUMNS:
        assert (unpack(data["npcs"][name]) == rec.npcs[name]).all(), name
    assert (unpack(data["agents"][NPC_KILLS]) == rec.agents[NPC_KILLS]).all()
    gif = Image.open(write_gif(rec, tmp_path / "npcs.gif", scale=4, every=8))
    gif.seek(1)
    assert (np.asarray(gif.convert("RGB")) == rec.frame_image(8, scale=4)).all()
