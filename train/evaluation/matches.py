"""The match runner: K policies play the same held-out worlds, each holding some populations.

One mechanism for every evaluation: a single policy's evaluation is the K = 1
match, a tournament pairing is K = 2, a free-for-all K >= 3. Every policy
computes actions for every slot and each slot keeps the actions of the policy
that holds its population (docs/rules.md §3.1: slot i belongs to population
i % P), so a policy with one parameter set per population plays each
population it holds with that population's parameters.

`play` runs the worlds for the longest window and adds up, per world and
population, what happened inside each counting window (e.g. fresh = ticks
[0, 1000), settled = [2000, 3000)); `Sums` holds those totals. The summaries
(population, Little's-law lifetime, ...) are computed from them in numpy.
`play_each` plays several policies alone on the same worlds in one compiled
program (compiling the game is most of a short evaluation's time).

With NPCs on (`Config.num_npcs` > 0; docs/rules.md §9) the Sums also count,
per population, the NPCs its agents killed and its agents' deaths by an NPC
(`npc_kills`, `npc_deaths`); without NPCs those fields are left empty
(NO_NPCS) and the other fields are v1.3's. With items on
(`Config.inventory_slots` > 0; docs/rules.md §10) they also add up, per
population, the living agents' equipment level and gold, the harvests and
the gold gained (ITEM_FIELDS); without items those are left empty
(NO_ITEMS) in the same way.

`params` (one `nmmo_jax.Params` for every world of a match, None = v1.3's
numbers) is data of the compiled match: another value plays without
recompiling. Params equal to the defaults play as None (the compiled-in
constants), so both give the same Sums.

The worlds are split over the local devices (`shard_map`; one XLA host
device per core on a CPU): each device plays its own worlds with world w's
keys, so the totals do not depend on the number of devices.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

import nmmo_jax as nj
from envs.batch import (WORLDS, batch_reset, devices_dividing, step_worlds, world_keys,
                        world_mesh_of)
from nmmo_jax.state import Items
from nmmo_jax.systems.equipment import equipped_level

Policy = Callable[[jax.Array, nj.Obs], nj.Actions]  # one world: obs [A, ...] -> Actions [A]
CAUSES = ("lava", "starvation", "combat")  # deaths columns, nj.CAUSE_* order from 1
NPC_FIELDS = ("npc_kills", "npc_deaths")  # the Sums fields that exist with NPCs on only
NO_NPCS = np.zeros(0, np.int32)  # their value without NPCs: no [N, W, P] counts
NO_NPCS.flags.writeable = False  # one shared default: never filled in
# The Sums fields that exist with items on only (Config.inventory_slots > 0).
ITEM_FIELDS = ("equipment_level", "harvested", "gold", "gold_gained")
NO_ITEMS = np.zeros(0, np.int32)  # their value without items: no [N, W, P] counts
NO_ITEMS.flags.writeable = False


class Sums(NamedTuple):
    """Totals over the counted ticks of each window, per world and population.

    Leading axes [N windows, W worlds]; P = num_populations. Counts are summed
    over ticks (alive: agent-ticks; spawns, ended, deaths: events).
    alive, spawns, ended, ended_age [N, W, P] int; deaths [N, W, P, 3] int
    (CAUSES order; a death by an NPC is in none of them); kills [N, W, P
    killer, P victim] f32 (agents killed by agents: a combat death's kill
    shared by n hitting agents credits 1/n to each); food, water [N, W, P]
    f32 (food and water points gained); forests_start, forests_end [N, W]
    int (forest tiles when the window opens and closes); forests_reset [W]
    int (forest tiles of the fresh map).

    With NPCs on: npc_kills [N, W, P] int (NPC kills by the population's
    agents, as the game reports them in info["npc_kill"]: every agent whose
    hit landed on an NPC in the tick it died gets one, so an NPC felled by
    two agents at once counts for both) and npc_deaths [N, W, P] int (its
    agents' deaths with cause nj.CAUSE_NPC). Without NPCs both are NO_NPCS,
    an empty array (`has_npcs` tells them apart), so v1.3's Sums are built,
    stored and read as before.

    With items on (ITEM_FIELDS, each [N, W, P] int, summed over the counted
    ticks): equipment_level (agent-ticks: each living agent's equipped
    items' levels summed, `nmmo_jax.systems.equipment.equipped_level`, the
    entity observation's item_level), harvested (harvests, one per
    profession that harvested: info["harvested"]; each gathers one item,
    kept or destroyed for lack of room, and a weapon that ore, tree or
    crystal may add is not counted; 0 without Config.professions), gold
    (agent-ticks: the gold each living agent holds) and gold_gained (the
    gold living agents took as loot: each one's gold minus its gold the
    tick before, newcomers' `gold_start` left out). Without items all four
    are NO_ITEMS (`has_items` tells them apart).
    """

    alive: np.ndarray
    spawns: np.ndarray
    ended: np.ndarray
    ended_age: np.ndarray
    deaths: np.ndarray
    kills: np.ndarray
    food: np.ndarray
    water: np.ndarray
    forests_start: np.ndarray
    forests_end: np.ndarray
    forests_reset: np.ndarray
    npc_kills: np.ndarray = NO_NPCS
    npc_deaths: np.ndarray = NO_NPCS
    equipment_level: np.ndarray = NO_ITEMS
    harvested: np.ndarray = NO_ITEMS
    gold: np.ndarray = NO_ITEMS
    gold_gained: np.ndarray = NO_ITEMS


def has_npcs(sums: Sums) -> bool:
    """Whether `sums` were played with NPCs on (npc_kills and npc_deaths hold
    [N, W, P] counts, not the empty NO_NPCS)."""
    return np.ndim(sums.npc_kills) == 3 and np.ndim(sums.npc_deaths) == 3


def has_items(sums: Sums) -> bool:
    """Whether `sums` were played with items on (the ITEM_FIELDS hold [N, W, P]
    counts, not the empty NO_ITEMS)."""
    return all(np.ndim(getattr(sums, f)) == 3 for f in ITEM_FIELDS)


def sums_fields(config: nj.Config) -> tuple[str, ...]:
    """The Sums fields a match of worlds `config` fills: v1.3's, with NPCs on
    also NPC_FIELDS and with items on also ITEM_FIELDS."""
    left_out = (() if config.num_npcs else NPC_FIELDS) + (
        () if config.inventory_slots else ITEM_FIELDS)
    return tuple(f for f in Sums._fields if f not in left_out)


def check_windows(windows: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """windows as a tuple of (start, stop) tick ranges, 0 <= start < stop."""
    windows = tuple((int(a), int(b)) for a, b in windows)
    if not windows or any(a < 0 or b <= a for a, b in windows):
        raise ValueError(f"windows={windows}: need one or more (start, stop) with "
                         "0 <= start < stop (warmup >= 0, ticks >= 1)")
    return windows


def tick_counts(prev: nj.State, state: nj.State, done: jnp.ndarray, info: dict,
                config: nj.Config, params: nj.Params | None = None) -> dict[str, jnp.ndarray]:
    """What one tick of one world adds to the totals, per population.

    prev/state: the world before and after the tick; done [A], info as
    `nj.step` returns them (attack_target [A] int32 = slot attacked in the
    space of the A + N body slots, own slot = none; attack_hit [A] bool);
    params: the numbers the tick was played with (None: v1.3's; their XP per
    food and water point convert XP to points).
    Returns alive, spawns, ended, ended_age [P] int32, deaths [P, 3] int32,
    kills [P, P] f32 (killer, victim), food, water [P] f32; with NPCs on also
    npc_kills [P] int32 (info["npc_kill"] by population: each agent that hit
    an NPC dying this tick) and npc_deaths [P] int32 (deaths with cause
    nj.CAUSE_NPC); with items on also equipment_level, harvested, gold and
    gold_gained [P] int32 (what `Sums` says of them; "living" is alive
    after the tick, as `alive` counts).

    An agent's kill of an agent is credited only for a combat death
    (nj.CAUSE_COMBAT): a death by an NPC (NPCs dealt most of that tick's
    damage, docs/rules.md §9.5) is no agent's kill, even where agents also hit.
    """
    a, p = config.num_agents, config.num_populations
    of_pop = jax.nn.one_hot(jnp.arange(a) % p, p, dtype=jnp.int32)  # [A, P]
    by_pop = lambda x: x.astype(jnp.int32) @ of_pop
    cause = info["death_cause"]
    deaths = jnp.stack([by_pop(done & (cause == c)) for c in
                        (nj.CAUSE_LAVA, nj.CAUSE_STARVATION, nj.CAUSE_COMBAT)], axis=-1)
    # Kill credit: every hit this tick on a victim of combat, shared among its hitters.
    # Targets are body slots (A + j is NPC j): an attack on an NPC matches no agent
    # column here, so it credits no agent kill (NPC kills are counted below).
    slots = jnp.arange(a)
    hits = (info["attack_hit"][:, None] & (info["attack_target"][:, None] == slots[None, :])
            & (info["attack_target"] != slots)[:, None])  # [attacker, victim]
    hits = hits & (done & (cause == nj.CAUSE_COMBAT))[None, :]
    share = hits / jnp.maximum(hits.sum(axis=0, keepdims=True), 1)
    of_pop_f = of_pop.astype(jnp.float32)
    kills = of_pop_f.T @ share.astype(jnp.float32) @ of_pop_f
    # Food and water gained: the hunting and fishing XP they earn (docs/rules.md §3.3);
    # newcomers sit out their first tick and their slot's XP was reset by spawning.
    params = nj.params.resolve(params, config)
    gained = jnp.where(info["spawned"][:, None], 0, state.agents.xp - prev.agents.xp)
    # (a rate of 0 earns no XP, so no points can be counted from it: 0)
    per_point = lambda xp, rate: jnp.where(rate > 0, xp / jnp.maximum(rate, 1), 0.0)
    food = per_point(gained[:, nj.HUNTING], params.xp_hunting_per_food).astype(jnp.float32)
    water = per_point(gained[:, nj.FISHING], params.xp_fishing_per_water).astype(jnp.float32)
    counts = {"alive": by_pop(info["alive"]), "spawns": by_pop(info["spawned"]),
              "ended": by_pop(done), "ended_age": by_pop(jnp.where(done, info["lifetime"], 0)),
              "deaths": deaths, "kills": kills, "food": food @ of_pop_f,
              "water": water @ of_pop_f}
    if config.num_npcs:
        counts["npc_kills"] = by_pop(info["npc_kill"])
        counts["npc_deaths"] = by_pop(done & (cause == nj.CAUSE_NPC))
    if config.inventory_slots:
        counts |= item_counts(prev, state, info, by_pop)
    return counts


# item_log's columns (the training log's item sums, in this order).
ITEM_SUMS = ("equipment_level", "gold", "harvested")


def item_log(items: Items, alive: jnp.ndarray, harvested: jnp.ndarray | None) -> jnp.ndarray:
    """int32 [A, 3] (ITEM_SUMS) of one world after a tick, from its items,
    info["alive"] [A] and info["harvested"] [A, professions] (None without
    professions): each living agent's equipped items' levels summed, its gold,
    and its harvests this tick (one per profession that harvested). What
    `item_counts` and the training log (train.ppo.update) count of items."""
    harvests = (jnp.zeros_like(items.gold) if harvested is None
                else harvested.sum(axis=-1, dtype=jnp.int32))
    return jnp.stack([jnp.where(alive, equipped_level(items), 0),
                      jnp.where(alive, items.gold, 0), harvests], axis=-1).astype(jnp.int32)


def item_counts(prev: nj.State, state: nj.State, info: dict,
                by_pop: Callable[[jnp.ndarray], jnp.ndarray]) -> dict[str, jnp.ndarray]:
    """tick_counts' item fields (items on): equipment_level, harvested, gold and
    gold_gained [P] int32 of one tick, by_pop summing [A] values per population.
    A dead agent's rows are empty (docs/rules.md §10.5), a newcomer's gold is
    its gold_start (not gained), and a living agent's gold only grows (loot)."""
    held = item_log(state.items, info["alive"], info.get("harvested"))  # [A, 3]
    gained = jnp.where(info["alive"] & ~info["spawned"], state.items.gold - prev.items.gold, 0)
    return {k: by_pop(held[:, ITEM_SUMS.index(k)]) for k in ITEM_SUMS} | {
        "gold_gained": by_pop(gained)}


def forests(state: nj.State) -> jnp.ndarray:
    """Forest tiles standing, int32 [...] over the leading axes of state.tiles [..., H, W]."""
    return (state.tiles == nj.FOREST).sum(axis=(-2, -1), dtype=jnp.int32)


def cpu_chunk(config: nj.Config, worlds: int) -> int | None:
    """Worlds stepped together on a CPU (about 128 agent slots keep a step's
    temporaries in cache; envs/batch.py), None (all at once) elsewhere."""
    if jax.default_backend() != "cpu":
        return None
    chunk = max(1, 128 // config.num_agents)
    while worlds % chunk:
        chunk -= 1
    return chunk


def holders_for_all(worlds: int, config: nj.Config) -> np.ndarray:
    """One policy holding every population of every world: int32 [W, P] of zeros."""
    return np.zeros((worlds, config.num_populations), np.int32)


def match_params(params: nj.Params | None, config: nj.Config) -> nj.Params | None:
    """The numbers a match plays with: None for v1.3's, whether given as None or
    as values equal to `default_params(config)` (so both play the same compiled
    program and give the same Sums), else `params` with each leaf cast to its
    dtype (scalars: one set for every world). ValueError naming the field for
    a bad value or a stacked (per-world) set."""
    if params is None:
        return None
    params = nj.params.resolve(params, config)
    nj.check_params(params, config)
    defaults = nj.default_params(config)
    if all(np.array_equal(np.asarray(getattr(params, f)), np.asarray(getattr(defaults, f)))
           for f in nj.params.FIELDS):
        return None
    return params


def play(policies: Sequence[Policy], holders: np.ndarray, config: nj.Config,
         windows: Sequence[tuple[int, int]], seed: int, params: nj.Params | None = None
         ) -> Sums:
    """Play len(holders) worlds (maps and spawns from `seed`) for the longest window.

    holders int [W, P]: holders[w, p] is the index in `policies` of the policy
    that plays population p in world w. windows: (start, stop) ranges of
    ticks counted (0 = the first step after reset). The key stream does not
    depend on the windows, so a longer run repeats a shorter one's ticks.
    params: the game's numbers for every world (None: v1.3's); data, so a
    new value does not recompile.
    """
    windows = check_windows(windows)
    holders = np.asarray(holders, np.int32)
    w_count, p = holders.shape if holders.ndim == 2 else (0, 0)
    if holders.ndim != 2 or p != config.num_populations or w_count < 1:
        raise ValueError(f"holders has shape {holders.shape}: expected [worlds >= 1, "
                         f"num_populations={config.num_populations}]")
    if holders.min() < 0 or holders.max() >= len(policies):
        raise ValueError(f"holders name policies outside [0, {len(policies)})")
    params = match_params(params, config)
    out = _compiled(tuple(policies), config, windows, w_count, False)(
        jnp.asarray(holders), jax.random.PRNGKey(seed), params)
    return _lineup(out, 0)


def play_each(policies: Sequence[Policy], config: nj.Config, worlds: int,
              windows: Sequence[tuple[int, int]], seed: int, params: nj.Params | None = None
              ) -> list[Sums]:
    """Each policy alone on the same `worlds` worlds, one after the other in one
    compiled program: entry i equals `play([policies[i]], holders_for_all(worlds,
    config), config, windows, seed, params)`, at one compilation for all of them
    (the game, which is most of a match's compile time, is compiled once)."""
    windows = check_windows(windows)
    if not policies or isinstance(worlds, bool) or not isinstance(worlds, int) or worlds < 1:
        raise ValueError(f"play_each: need one or more policies and worlds >= 1 (got "
                         f"{len(policies)} policies, worlds={worlds!r})")
    params = match_params(params, config)
    out = _compiled(tuple(policies), config, windows, worlds, True)(
        jnp.asarray(holders_for_all(worlds, config)), jax.random.PRNGKey(seed), params)
    return [_lineup(out, i) for i in range(len(policies))]


def _lineup(out: dict, i: int) -> Sums:
    """The Sums of line-up i of a compiled match's output."""
    return Sums(**{k: np.asarray(v if k == "forests_reset" else v[i]) for k, v in out.items()})


_CACHE: dict = {}


def _compiled(policies: tuple, config: nj.Config, windows: tuple, worlds: int, alone: bool):
    """The jitted match for these policies and shapes: run(holders, key, params).
    params are an argument, not part of the key: jit compiles once for None and
    once for any Params (same dtypes and shapes), whatever their values."""
    cache_key = (policies, config, windows, worlds, alone)
    if cache_key not in _CACHE:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[cache_key] = jax.jit(_match_fn(policies, config, windows, worlds, alone))
    return _CACHE[cache_key]


def _match_fn(policies: tuple, config: nj.Config, windows: tuple, worlds: int, alone: bool):
    """run(holders [W, P], key, params) -> the Sums fields with a leading line-up axis E
    (forests_reset without): E = 1, the policies sharing the worlds by holders; or
    with `alone`, E = len(policies), line-up e being policy e alone (as a match
    of that one policy: same keys), played one after the other on the same worlds.
    params: one Params for every world, or None (v1.3's numbers, as constants)."""
    a, p = config.num_agents, config.num_populations
    total = max(b for _, b in windows)
    devices = devices_dividing(worlds)
    mesh = world_mesh_of(jax.local_devices()[:devices])
    chunk = cpu_chunk(config, worlds // devices)
    starts = jnp.asarray([s for s, _ in windows])
    stops = jnp.asarray([e for _, e in windows])

    def item_fields(acts):
        """Actions that use and destroy nothing (-1) where a policy that uses no
        items left the fields None: one Actions shape for every policy."""
        if not config.inventory_slots or acts.use is not None:
            return acts
        none = jnp.full(acts.move.shape, -1, jnp.int32)
        return acts.replace(use=none, destroy=none)

    def shared_worlds(owner, k, obs):
        """Every policy acts for every slot; each slot keeps its holder's actions."""
        keys = jax.random.split(k, len(policies))
        chosen = None
        for i, policy in enumerate(policies):
            acts = item_fields(jax.vmap(policy)(world_keys(keys[i], worlds), obs))
            chosen = acts if chosen is None else jax.tree.map(
                lambda new, old: jnp.where(owner == i, new, old), acts, chosen)
        return chosen

    def one_policy(lineup, k, obs):
        """Policy `lineup` acts for every slot, with the keys of a one-policy match;
        a real branch (not a select), so the others cost nothing."""
        k_policy = jax.random.split(k, 1)[0]
        branches = [lambda o, fn=fn: item_fields(jax.vmap(fn)(world_keys(k_policy, worlds), o))
                    for fn in policies]
        return jax.lax.switch(lineup, branches, obs)

    def play_lineup(owner, obs, state, k_run, params, lineup):
        """This device's worlds (owner [w, A], obs, state [w, ...]) for `total` ticks."""
        act = (lambda k, o: one_policy(lineup, k, o)) if alone else (
            lambda k, o: shared_worlds(owner, k, o))
        zeros = lambda shape, dtype=jnp.int32: jnp.zeros((len(windows), owner.shape[0]) + shape,
                                                         dtype)
        acc = {"alive": zeros((p,)), "spawns": zeros((p,)), "ended": zeros((p,)),
               "ended_age": zeros((p,)), "deaths": zeros((p, 3)),
               "kills": zeros((p, p), jnp.float32), "food": zeros((p,), jnp.float32),
               "water": zeros((p,), jnp.float32), "forests_start": zeros(()),
               "forests_end": zeros(())}
        if config.num_npcs:
            acc |= {"npc_kills": zeros((p,)), "npc_deaths": zeros((p,))}
        if config.inventory_slots:
            acc |= {f: zeros((p,)) for f in ITEM_FIELDS}

        def tick(carry, xs):
            obs, state, acc = carry
            t, k = xs
            k_act, k_env = jax.random.split(k)
            inside = (t >= starts) & (t < stops)  # [N]
            opening = jnp.where(t == starts, 1, 0)[:, None] * forests(state)[None, :]
            new_obs, new_state, _, done, info = step_worlds(
                world_keys(k_env, worlds), state, act(k_act, obs), config, chunk=chunk,
                params=params)
            counts = jax.vmap(tick_counts, in_axes=(0, 0, 0, 0, None, None))(
                state, new_state, done, info, config, params)
            mask = lambda x: jnp.where(inside.reshape((-1,) + (1,) * x.ndim), x[None], 0)
            acc = {k_: acc[k_] + mask(v).astype(acc[k_].dtype) for k_, v in counts.items()} | {
                "forests_start": acc["forests_start"] + opening,
                "forests_end": jnp.where((t == stops - 1)[:, None], forests(new_state)[None, :],
                                         acc["forests_end"])}
            return (new_obs, new_state, acc), None

        ticks = (jnp.arange(total), jax.random.split(k_run, total))
        (_, _, acc), _ = jax.lax.scan(tick, (obs, state, acc), ticks)
        return acc

    def play_share(holders, obs, state, k_run, params):
        """This device's worlds, every line-up in turn."""
        owner = holders[:, jnp.arange(a) % p]  # [w, A]: the policy playing each slot
        lineups = jnp.arange(len(policies) if alone else 1)
        acc = jax.lax.map(lambda e: play_lineup(owner, obs, state, k_run, params, e), lineups)
        return acc | {"forests_reset": forests(state)}

    # Each device plays its own worlds; nothing crosses devices until the totals
    # (check_vma off: the per-world totals start as constants and vary once played).
    out_specs = {k: P(None, None, WORLDS) for k in sums_fields(config) if k != "forests_reset"}
    on_devices = jax.shard_map(play_share, mesh=mesh,
                               in_specs=(P(WORLDS), P(WORLDS), P(WORLDS), P(), P()),
                               out_specs=out_specs | {"forests_reset": P(WORLDS)},
                               check_vma=False)

    def run(holders, key, params):
        k_reset, k_run = jax.random.split(key)
        obs, state = batch_reset(k_reset, config, worlds, params=params)
        return on_devices(holders, obs, state, k_run, params)

    return run
