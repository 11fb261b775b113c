"""Record a policy playing one world, compactly: a Recording of every frame.

    rec = record(policy, config, ticks=1000, seed=0, name="random")
    rec.frame_image(10)                       # RGB of frame 10, drawn by viz/draw.py

`policy(key, obs) -> Actions` is any jittable callable for one world (the
scripted baselines, a trained checkpoint's policy_fn). The recording keeps,
per frame (frame 0 = the world after reset, frame t = after tick t): the
tiles that changed, one row per agent that is alive or died that tick
(position, population, health/food/water, skill levels, time alive, damage,
immune, freeze, uid, spawned/died flags, cause of death) and the attacks.

Keys: tick t (1..ticks) uses `k_act, k_step = jax.random.split(jax.random.
fold_in(key, t))` with key = PRNGKey(seed); the world comes from
`nmmo_jax.reset(key, config, params)` unless a start state is given.
`params` (None: v1.3's numbers) plays every tick, and the fields it changes
from v1.3's are kept in `meta["params"]`.

Attacks are the step's own report: info["attack_target"] (the slot
attacked, own slot = none) and info["attack_hit"], with the style fed.
Levels are the game's (nmmo_jax.systems.skills.level), computed in the
jitted rollout.

With NPCs on (`Config.num_npcs` > 0) a recording also keeps, per frame, one
row per NPC that is alive or died that tick (NPC_COLUMNS: its slot A + j,
position, kind, level, style, health, damage, freeze, flags), the NPCs'
attacks among the attacks (src A + j; from info["npc_attack_target"] and
["npc_attack_hit"], with the NPC's style), each agent row's NPC kills in
its life so far (the `npc_kills` column, from info["npc_kill"]), the number
of living NPCs per frame and meta["npc_health"] (their maximum health).
With NPCs off none of this exists and the format is v1.3's.

With items on (`Config.inventory_slots` > 0) a recording also keeps, per
frame, one row per item of each agent row's inventory (ITEM_COLUMNS: the
agent's slot, the inventory slot index, kind, level, quantity, equipped;
empty slots have no row), and each agent row's gold and equipment level
(the ITEM_AGENT_COLUMNS `gold` and `item_level`, the levels of its equipped
items summed, as the observation's item_level). With items off none of this
exists and the format is as above. Resource tiles (professions) are tiles
like the others: their harvests and regrowth are tile changes.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

import nmmo_jax as nj
from nmmo_jax.params import resolve
from nmmo_jax.systems.skills import level, max_vitals

from .draw import render_arrays

Policy = Callable[[jax.Array, nj.Obs], nj.Actions]

# Per-agent-row columns of a Recording (levels [R, 7] is kept apart).
AGENT_COLUMNS = ("slot", "row", "col", "population", "health", "food", "water", "time_alive",
                 "damage", "immune", "freeze", "uid", "flags", "cause")
ATTACK_COLUMNS = ("src", "dst", "style", "hit")
SPAWNED, DIED = 1, 2  # bits of the flags column
# Per-NPC-row columns (NPCs on only); slot is in the space of A + N slots, like attacks.
NPC_COLUMNS = ("slot", "row", "col", "kind", "level", "style", "health", "damage", "freeze",
               "flags")
NPC_KILLS = "npc_kills"  # the agent column added with NPCs on
# Per-item rows (items on only): the agent's slot, the inventory slot (0 .. I - 1), the
# item (kind an ITEM_NAMES index, never 0), its level, quantity and equipped (0 or 1).
ITEM_COLUMNS = ("slot", "index", "kind", "level", "quantity", "equipped")
ITEM_AGENT_COLUMNS = ("gold", "item_level")  # the agent columns added with items on


@dataclasses.dataclass
class Recording:
    """A replay of F = ticks + 1 frames, all numpy.

    tiles0 [H, W] uint8: the map of frame 0. Frame f's tile changes are
    tile_idx/tile_val[tile_off[f]:tile_off[f+1]] (flat index r*W + c, new
    type); its agent rows are agents[col][agent_off[f]:agent_off[f+1]] and
    levels[...] ([R, 7], SKILL_NAMES order); its attacks are
    attacks[col][attack_off[f]:attack_off[f+1]] (slots and style). alive [F]
    counts living agents, lives_ended / lifetime_sum [F] are cumulative over
    lives that ended by that frame. With NPCs on (else None): frame f's NPC
    rows are npcs[col][npc_off[f]:npc_off[f+1]] (NPC_COLUMNS) and npc_alive
    [F] counts living NPCs; agents then also has the NPC_KILLS column. With
    items on (else None): frame f's item rows are items[col][item_off[f]:
    item_off[f+1]] (ITEM_COLUMNS, by agent slot then inventory slot), and
    agents also has the ITEM_AGENT_COLUMNS.
    """

    config: nj.Config
    meta: dict
    tiles0: np.ndarray
    tile_off: np.ndarray
    tile_idx: np.ndarray
    tile_val: np.ndarray
    agent_off: np.ndarray
    agents: dict[str, np.ndarray]
    levels: np.ndarray
    attack_off: np.ndarray
    attacks: dict[str, np.ndarray]
    alive: np.ndarray
    lives_ended: np.ndarray
    lifetime_sum: np.ndarray
    npc_off: np.ndarray | None = None
    npcs: dict[str, np.ndarray] | None = None
    npc_alive: np.ndarray | None = None
    item_off: np.ndarray | None = None
    items: dict[str, np.ndarray] | None = None

    @property
    def num_frames(self) -> int:
        return len(self.alive)

    @property
    def mean_lifetime(self) -> np.ndarray:
        """float [F]: mean length of the lives ended by each frame (NaN before the first)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.lives_ended > 0, self.lifetime_sum / np.maximum(self.lives_ended, 1),
                            np.nan)

    def _check_frame(self, f: int) -> int:
        if not 0 <= f < self.num_frames:
            raise ValueError(f"frame {f} is outside the recording's 0..{self.num_frames - 1}")
        return int(f)

    def agents_at(self, f: int) -> dict[str, np.ndarray]:
        """The agent rows of frame f: every column plus levels [n, 7]."""
        f = self._check_frame(f)
        lo, hi = self.agent_off[f], self.agent_off[f + 1]
        rows = {k: v[lo:hi] for k, v in self.agents.items()}
        rows["levels"] = self.levels[lo:hi]
        return rows

    def npcs_at(self, f: int) -> dict[str, np.ndarray]:
        """The NPC rows of frame f (every NPC_COLUMNS column; empty with NPCs off)."""
        return self._frame_rows(f, self.npcs, self.npc_off, NPC_COLUMNS)

    def items_at(self, f: int) -> dict[str, np.ndarray]:
        """The item rows of frame f (every ITEM_COLUMNS column; empty with items off)."""
        return self._frame_rows(f, self.items, self.item_off, ITEM_COLUMNS)

    def _frame_rows(self, f: int, table: dict[str, np.ndarray] | None, off: np.ndarray | None,
                    columns: tuple[str, ...]) -> dict[str, np.ndarray]:
        """Frame f's rows of a table stored flat with frame offsets `off` (no rows
        where the table is None: its system is off)."""
        f = self._check_frame(f)
        if table is None:
            return {k: np.zeros(0, np.int64) for k in columns}
        return {k: v[off[f]:off[f + 1]] for k, v in table.items()}

    def inventory_at(self, f: int) -> dict[str, np.ndarray]:
        """Frame f's inventories as int64 [A, I] arrays kind, level, quantity and equipped
        (like `State.items`; 0 in empty slots and for slots with no agent row); ValueError
        with items off."""
        if self.items is None:
            raise ValueError("inventory_at: this recording has no items (Config.inventory_slots=0)")
        rows = self.items_at(f)
        shape = (self.config.num_agents, self.config.inventory_slots)
        out = {}
        for name in ("kind", "level", "quantity", "equipped"):
            out[name] = np.zeros(shape, np.int64)
            out[name][rows["slot"], rows["index"]] = rows[name]
        return out

    def attacks_at(self, f: int) -> dict[str, np.ndarray]:
        """The attacks of frame f (src, dst slots; style; hit)."""
        f = self._check_frame(f)
        lo, hi = self.attack_off[f], self.attack_off[f + 1]
        return {k: v[lo:hi] for k, v in self.attacks.items()}

    def iter_tiles(self) -> Iterator[np.ndarray]:
        """The tiles [H, W] of frames 0, 1, ... (one array, updated in place)."""
        flat = self.tiles0.copy().reshape(-1)
        for f in range(self.num_frames):
            lo, hi = self.tile_off[f], self.tile_off[f + 1]
            flat[self.tile_idx[lo:hi]] = self.tile_val[lo:hi]
            yield flat.reshape(self.tiles0.shape)

    def tiles_at(self, f: int) -> np.ndarray:
        """A copy of the tiles [H, W] of frame f."""
        f = self._check_frame(f)
        flat = self.tiles0.copy().reshape(-1)
        hi = self.tile_off[f + 1]
        flat[self.tile_idx[:hi]] = self.tile_val[:hi]  # later changes overwrite earlier ones
        return flat.reshape(self.tiles0.shape)

    def frame_image(self, f: int, scale: int = 4, tiles: np.ndarray | None = None) -> np.ndarray:
        """RGB uint8 [H*scale, W*scale, 3] of frame f, drawn by viz/draw.py."""
        rows = self.agents_at(f)
        npcs = self.npcs_at(f)
        att = self.attacks_at(f)
        slot_pos = {int(s): (int(r), int(c)) for part in (rows, npcs)
                    for s, r, c in zip(part["slot"], part["row"], part["col"])}
        lines = [(*slot_pos[int(s)], *slot_pos[int(d)], int(st))
                 for s, d, st in zip(att["src"], att["dst"], att["style"])
                 if int(s) in slot_pos and int(d) in slot_pos]
        max_health = np.maximum(max_vitals(rows["levels"])[0], 1)
        npc = {}
        if self.npcs is not None:
            npc = dict(npc_pos=np.stack([npcs["row"], npcs["col"]], 1), npc_kind=npcs["kind"],
                       npc_health_frac=npcs["health"] / max(self.meta["npc_health"], 1),
                       npc_died=(npcs["flags"] & DIED) > 0)
        return render_arrays(self.tiles_at(f) if tiles is None else tiles,
                             np.stack([rows["row"], rows["col"]], 1), rows["population"],
                             rows["health"] / max_health, (rows["flags"] & DIED) > 0,
                             np.asarray(lines, np.int64).reshape(-1, 5), scale, **npc)


# ----------------------------------------------------------------------------- recording
_reset = jax.jit(nj.reset, static_argnames="config")
_observe = jax.jit(nj.observe, static_argnames="config")
_level = jax.jit(level, static_argnames="config")


def _rollout_fn(policy: Policy, config: nj.Config, length: int):
    """The jitted rollout, cached per (policy, config, length) when the policy is hashable
    (params are its data: other numbers reuse the compiled code)."""
    try:
        return _cached_rollout_fn(policy, config, length)
    except TypeError:  # an unhashable policy object: build it afresh
        return _build_rollout_fn(policy, config, length)


def _build_rollout_fn(policy: Policy, config: nj.Config, length: int):
    """jit(key, obs, state, first_tick, params) -> (obs, state, per-tick (state, levels,
    style, done, info))."""

    def tick(carry, t):
        obs, state, key, params = carry
        k_act, k_step = jax.random.split(jax.random.fold_in(key, t))
        actions = policy(k_act, obs)
        obs, state, _, done, info = nj.step(k_step, state, actions, config, params)
        return (obs, state, key, params), (state, level(state.agents.xp, config), actions.style,
                                           done, info)

    def run(key, obs, state, first_tick, params):
        (obs, state, _, _), out = jax.lax.scan(tick, (obs, state, key, params),
                                               first_tick + jnp.arange(length, dtype=jnp.int32))
        return obs, state, out

    return jax.jit(run)


_cached_rollout_fn = functools.lru_cache(maxsize=8)(_build_rollout_fn)  # compile once per process


def _attacks(style: np.ndarray, info: dict, npc_style: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """(tick index [n], rows [n, 4] = src, dst, style, hit) of the attacks of stacked ticks [T, A].

    style [T, A] is the style fed; info holds the step's attack_target and
    attack_hit [T, A]. With npc_style [T, N] (NPCs on) the NPCs' attacks
    (info's npc_attack_target, npc_attack_hit [T, N]) follow the agents' in
    each tick, their src in the slot space (A + j). Rows come tick by tick.
    """
    target, hit = info["attack_target"], info["attack_hit"]
    if npc_style is not None:
        target = np.concatenate([target, info["npc_attack_target"]], 1)
        hit = np.concatenate([hit, info["npc_attack_hit"]], 1)
        style = np.concatenate([style, npc_style], 1)
    tick_i, src = np.nonzero(target != np.arange(target.shape[1])[None])
    return tick_i, np.stack([src, target[tick_i, src], style[tick_i, src], hit[tick_i, src]], 1)


def _rows(present: np.ndarray, agents: nj.Agents, levels: np.ndarray, flags: np.ndarray,
          cause: np.ndarray, kills: np.ndarray | None = None, items: nj.Items | None = None
          ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """(tick index [R], columns, levels [R, 7]) of the present agents of stacked ticks [T, A];
    kills [T, A]: the NPC_KILLS column (NPCs on only); items (stacked [T, A, ...], items on
    only): the ITEM_AGENT_COLUMNS."""
    tick_i, slot = np.nonzero(present)
    pick = lambda x: np.asarray(x)[tick_i, slot]
    pos = pick(agents.pos)
    cols = {"slot": slot, "row": pos[:, 0], "col": pos[:, 1], "population": pick(agents.population),
            "health": pick(agents.health), "food": pick(agents.food), "water": pick(agents.water),
            "time_alive": pick(agents.time_alive), "damage": pick(agents.damage),
            "immune": pick(agents.immune), "freeze": pick(agents.freeze), "uid": pick(agents.uid),
            "flags": flags[tick_i, slot], "cause": cause[tick_i, slot]}
    if kills is not None:
        cols[NPC_KILLS] = kills[tick_i, slot]
    if items is not None:
        cols["gold"] = pick(items.gold)
        # equipped_level (nmmo_jax.systems.equipment) on the host
        cols["item_level"] = np.where(items.equipped, items.level, 0).sum(-1)[tick_i, slot]
    return tick_i, cols, levels[tick_i, slot]


def _item_rows(present: np.ndarray, items: nj.Items) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(tick index [R], ITEM_COLUMNS columns) of the items held by the present agents of
    stacked ticks [T, A] (items [T, A, I]), by tick, agent slot, then inventory slot."""
    kind = np.asarray(items.kind)
    tick_i, slot, index = np.nonzero(present[:, :, None] & (kind > 0))
    pick = lambda x: np.asarray(x)[tick_i, slot, index]
    return tick_i, {"slot": slot, "index": index, "kind": kind[tick_i, slot, index],
                    "level": pick(items.level), "quantity": pick(items.quantity),
                    "equipped": pick(items.equipped)}


def _npc_rows(present: np.ndarray, npcs: nj.Npcs, flags: np.ndarray, num_agents: int
              ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(tick index [R], NPC_COLUMNS columns) of the present NPCs of stacked ticks [T, N]."""
    tick_i, j = np.nonzero(present)
    pick = lambda x: np.asarray(x)[tick_i, j]
    pos = pick(npcs.pos)
    return tick_i, {"slot": num_agents + j, "row": pos[:, 0], "col": pos[:, 1],
                    "kind": pick(npcs.kind), "level": pick(npcs.level), "style": pick(npcs.style),
                    "health": pick(npcs.health), "damage": pick(npcs.damage),
                    "freeze": pick(npcs.freeze), "flags": flags[tick_i, j]}


def _kills_in_life(kills: np.ndarray, spawned: np.ndarray, info: dict) -> np.ndarray:
    """int64 [T, A]: each slot's NPC kills in its current life after each tick,
    from the count before the ticks, kills [A] (updated in place)."""
    out = np.zeros(spawned.shape, np.int64)
    for t in range(len(spawned)):  # a newcomer starts from 0
        kills[:] = np.where(spawned[t], 0, kills) + info["npc_kill"][t]
        out[t] = kills
    return out


def _offsets(tick_i: np.ndarray, frames: int) -> np.ndarray:
    """int64 [frames + 1]: where each frame's rows start in rows sorted by frame index tick_i."""
    return np.concatenate([[0], np.cumsum(np.bincount(tick_i, minlength=frames))]).astype(np.int64)


def record(policy: Policy, config: nj.Config, ticks: int, seed: int = 0, *,
           state: nj.State | None = None, name: str = "policy", chunk: int = 100,
           progress: Callable[[int, int], None] | None = None,
           params: nj.Params | None = None) -> Recording:
    """Play `policy` for `ticks` ticks on one world; a Recording of ticks + 1 frames.

    See the module docstring for what is kept and how keys are drawn. params:
    the game's numbers (`nmmo_jax.default_params`, checked here; None: v1.3's).
    state: start here instead of `reset(PRNGKey(seed), config, params)`. The
    ticks run in jitted chunks of `chunk` (compiled once; the params are data;
    the last chunk's extra ticks are dropped); progress(done_ticks, ticks) is
    called after each chunk.
    """
    if not callable(policy):
        raise ValueError(f"policy: expected a callable (key, obs) -> Actions, got {type(policy).__name__}")
    if not isinstance(config, nj.Config):
        raise ValueError(f"config: expected nmmo_jax.Config, got {type(config).__name__}")
    if isinstance(ticks, bool) or not isinstance(ticks, (int, np.integer)) or ticks < 1:
        raise ValueError(f"ticks={ticks!r}: must be an integer >= 1")
    if not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk={chunk!r}: must be an integer >= 1")
    if params is not None:
        nj.check_params(params, config)
    ticks = int(ticks)
    key = jax.random.PRNGKey(seed)
    if state is None:
        obs, state = _reset(key, config=config, params=params)
    else:
        if np.ndim(state.tiles) != 2 or np.shape(state.tiles) != (config.map_size,) * 2:
            raise ValueError(f"state: expected one world on a {config.map_size}x{config.map_size} map, "
                             f"got tiles of shape {np.shape(state.tiles)}")
        obs = _observe(state, config=config, params=params)
    a = config.num_agents
    npcs_on = bool(config.num_npcs)
    items_on = bool(config.inventory_slots)
    first_tick = int(state.tick) + 1
    start = jax.tree.map(np.asarray, state)

    # Frame 0: the start state; everyone in it counts as just spawned.
    alive0 = start.agents.alive
    tick_parts, row_parts, level_parts = [], [], []
    levels0 = np.asarray(_level(state.agents.xp, config=config))
    kills = np.zeros(a, np.int64)  # NPC kills in each slot's current life
    items0 = jax.tree.map(lambda x: x[None], start.items) if items_on else None
    ti, cols, lv = _rows(alive0[None], jax.tree.map(lambda x: x[None], start.agents), levels0[None],
                         np.where(alive0, SPAWNED, 0)[None], np.zeros((1, a), np.int64),
                         kills[None] if npcs_on else None, items0)
    tick_parts.append(ti), row_parts.append(cols), level_parts.append(lv)
    item_ticks, item_parts = [], []
    if items_on:
        ti, cols = _item_rows(alive0[None], items0)
        item_ticks.append(ti), item_parts.append(cols)
    npc_ticks, npc_parts, npc_alive = [], [], []
    if npcs_on:
        n_alive0 = start.npcs.alive
        ti, cols = _npc_rows(n_alive0[None], jax.tree.map(lambda x: x[None], start.npcs),
                             np.where(n_alive0, SPAWNED, 0)[None], a)
        npc_ticks.append(ti), npc_parts.append(cols), npc_alive.append(int(n_alive0.sum()))
    change_ticks, change_idx, change_val = [], [], []
    attack_ticks, attack_rows = [], []
    alive_count = [int(alive0.sum())]
    ended, life_sum = [0], [0]

    length = min(chunk, ticks)
    rollout = _rollout_fn(policy, config, length)
    prev_tiles = start.tiles
    done_ticks = 0
    while done_ticks < ticks:
        obs, state, out = rollout(key, obs, state, jnp.int32(first_tick + done_ticks), params)
        keep = min(length, ticks - done_ticks)
        states, levels, style, done, info = jax.tree.map(lambda x: np.asarray(x)[:keep], out)
        frame0 = 1 + done_ticks  # frame index of this chunk's first tick
        alive = info["alive"]
        flags = np.where(info["spawned"], SPAWNED, 0) | np.where(done, DIED, 0)
        chunk_kills = _kills_in_life(kills, info["spawned"], info) if npcs_on else None
        ti, cols, lv = _rows(alive | done, states.agents, levels, flags, info["death_cause"],
                             chunk_kills, states.items if items_on else None)
        tick_parts.append(ti + frame0), row_parts.append(cols), level_parts.append(lv)
        if items_on:
            ti, cols = _item_rows(alive | done, states.items)
            item_ticks.append(ti + frame0), item_parts.append(cols)
        if npcs_on:
            n_flags = (np.where(info["npc_spawned"], SPAWNED, 0)
                       | np.where(info["npc_done"], DIED, 0))
            ti, cols = _npc_rows(info["npc_alive"] | info["npc_done"], states.npcs, n_flags, a)
            npc_ticks.append(ti + frame0), npc_parts.append(cols)
            npc_alive += info["npc_alive"].sum(1).tolist()

        tiles = np.asarray(states.tiles)
        changed = tiles != np.concatenate([prev_tiles[None], tiles[:-1]], 0)
        t_i, r_i, c_i = np.nonzero(changed)
        change_ticks.append(t_i + frame0)
        change_idx.append(r_i * tiles.shape[2] + c_i)
        change_val.append(tiles[t_i, r_i, c_i])

        t_i, rows = _attacks(style, info, states.npcs.style if npcs_on else None)
        attack_ticks.append(t_i + frame0), attack_rows.append(rows)

        alive_count += alive.sum(1).tolist()
        lifetimes = np.asarray(info["lifetime"])
        ended += (ended[-1] + np.cumsum(done.sum(1))).tolist()
        life_sum += (life_sum[-1] + np.cumsum(np.where(done, lifetimes, 0).sum(1))).tolist()
        prev_tiles = tiles[-1]
        done_ticks += keep
        if progress is not None:
            progress(done_ticks, ticks)

    frames = ticks + 1
    columns = (AGENT_COLUMNS + ((NPC_KILLS,) if npcs_on else ())
               + (ITEM_AGENT_COLUMNS if items_on else ()))
    agents = {k: np.concatenate([p[k] for p in row_parts]).astype(np.int64) for k in columns}
    attack_rows = np.concatenate(attack_rows).astype(np.int64).reshape(-1, 4)
    meta = {"policy": str(name), "seed": int(seed), "ticks": ticks, "start_tick": first_tick - 1,
            "params": nj.params.changes(params, config)}
    npc = {}
    if npcs_on:
        meta["npc_health"] = int(np.asarray(resolve(params, config).npc_health))
        npc = dict(npc_off=_offsets(np.concatenate(npc_ticks), frames),
                   npcs={k: np.concatenate([p[k] for p in npc_parts]).astype(np.int64)
                         for k in NPC_COLUMNS},
                   npc_alive=np.asarray(npc_alive, np.int64))
    if items_on:
        npc.update(item_off=_offsets(np.concatenate(item_ticks), frames),
                   items={k: np.concatenate([p[k] for p in item_parts]).astype(np.int64)
                          for k in ITEM_COLUMNS})
    return Recording(
        config=config, meta=meta, tiles0=start.tiles.astype(np.uint8),
        tile_off=_offsets(np.concatenate(change_ticks), frames),
        tile_idx=np.concatenate(change_idx).astype(np.int64),
        tile_val=np.concatenate(change_val).astype(np.uint8),
        agent_off=_offsets(np.concatenate(tick_parts), frames), agents=agents,
        levels=np.concatenate(level_parts).astype(np.int64),
        attack_off=_offsets(np.concatenate(attack_ticks), frames),
        attacks={k: attack_rows[:, i] for i, k in enumerate(ATTACK_COLUMNS)},
        alive=np.asarray(alive_count, np.int64), lives_ended=np.asarray(ended, np.int64),
        lifetime_sum=np.asarray(life_sum, np.int64), **npc)
