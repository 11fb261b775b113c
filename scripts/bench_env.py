"""Environment throughput: random masked play, jitted `lax.scan` over ticks, vmapped worlds.

    python -m scripts.bench_env                                # default preset, W = 1, 64, 1024
    python -m scripts.bench_env --preset large --worlds 1,64
    python -m scripts.bench_env --preset default,large --full --json
    python -m scripts.bench_env --worlds 1,64 --npcs 128          # with 128 NPC slots
    python -m scripts.bench_env --preset default,nmmo2 --worlds 1,16 --full   # v1.3 vs nmmo 2.x's world
    python -m scripts.bench_env --preset nmmo2 --set inventory_slots=0 --set professions=0  # no items
    python -m scripts.bench_env --preset default,nmmo2 --worlds 16 --full --devices 1 --alternate

Each tick of each world runs `nmmo_jax.step` (observations built every tick)
and then samples random valid actions from that observation's masks
(`masked_random_actions`: uniform over valid moves, uniform style, uniform
over that style's valid targets, the same distribution as
`policies.scripted.random_policy`, drawn with a hash instead of threefry;
`--policy scripted` uses random_policy itself). With items on (the nmmo2
preset) the fast sampler also draws use, destroy and the gifts, each uniform over the
inventory slots their masks allow plus "none", and worlds start as `reset`
makes them (resource tiles placed, newcomers' and NPCs' gold). Each tick's whole
observation is carried out of the tick (as a rollout stores it), so XLA
cannot drop the parts the sampler does not read (tile windows, entity
features). All inside one jitted function: `lax.map` over chunks of
`--chunk` vmapped worlds (default: about 128 agent slots per chunk, see
CHUNK_AGENTS: 1 default or large world, 8 small worlds), each chunk
scanning `--ticks` ticks, with the world axis sharded over `--devices`
host devices (the most that divide W), the process pinned to as many
cores (`pin_cores`: with one device, XLA would otherwise run independent
operations on an idle second core too). The state is donated. Each
(preset, W) case runs in its own subprocess so compile time and peak RSS
are its own; with `--alternate` the presets share one process at one W and
take turns call by call, so that a drift of the host's speed reaches them
alike, and each preset's cost per agent-step over the first's is the
median of the rounds' ratios.

Figures per case: slot steps/s (W x (num_agents + num_npcs) x ticks / s: every
agent and NPC slot; without NPCs, agent-slot steps/s), live-agent
steps/s (only slots alive after the tick), env steps/s (world-ticks / s),
the cost per agent-step (ns per world-tick / num_agents: NPC slots are part of
the world's cost, not counted as steps),
the per-tick split between the state update (`nmmo_jax.core.advance` with
uniform random actions, no observation) and the rest (observation + policy),
compile time (trace + XLA compile of the full function), state bytes per
world and the peak RSS of the process.

`--full` sets spawn_per_tick = num_agents so every slot that dies is refilled
on the next tick (nearly all slots alive, as in `nmmo` with IMMORTAL = True).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

from scripts.machine import cpu_model
from scripts.tables import markdown_table


# nmmo_jax.Config.PRESETS, written out: jax must not be imported before the worker sets
# XLA_FLAGS (tests/test_scripts_bench_env.py checks the two agree).
PRESETS = ("small", "default", "large", "nmmo2")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="default",
                   help=f"comma list of {', '.join(PRESETS)} (default: default)")
    p.add_argument("--worlds", default="1,64,1024", help="comma list of world counts W")
    p.add_argument("--ticks", type=int, default=32, help="ticks per timed call (scan length)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls after the warm-up call")
    p.add_argument("--chunk", type=int, default=None,
                   help="worlds vmapped together inside lax.map (default: 128 // agents, at least 1)")
    p.add_argument("--devices", type=int, default=2,
                   help="host devices to shard worlds over, the most up to this that divide W; "
                        "the process is pinned to one core per device used (default: 2)")
    p.add_argument("--maps", type=int, default=8,
                   help="distinct maps generated (worlds reuse them; spawn keys differ)")
    p.add_argument("--full", action="store_true",
                   help="spawn_per_tick = num_agents: every empty slot refills each tick")
    p.add_argument("--policy", choices=("fast", "scripted"), default="fast",
                   help="action sampler: hashed masked uniform, or policies.scripted.random_policy")
    p.add_argument("--no-phases", action="store_true", help="skip the state-only timing")
    p.add_argument("--params", choices=("none", "shared", "per-world"), default="none",
                   help="the game's numbers: compiled-in defaults (none), the defaults passed "
                        "as data (shared), or each world its own draw (per-world)")
    p.add_argument("--npcs", type=int, default=-1,
                   help="NPC slots per world (Config.num_npcs; -1: the preset's, 0: none); "
                        "slot steps/s then count agent and NPC slots")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=N",
                   help="a Config field of every preset changed (repeatable; integers, "
                        "0/1 for flags), e.g. --set inventory_slots=0 --set professions=0")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--alternate", action="store_true",
                   help="the presets at one W in one process, their timed calls taking turns; "
                        "prints each preset's cost per agent-step over the first's, paired by round")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # worker mode
    args = p.parse_args(argv)
    try:
        args.worlds = [int(w) for w in str(args.worlds).split(",")]
    except ValueError:
        p.error(f"--worlds={args.worlds!r}: expected a comma list of integers")
    args.presets = [x.strip() for x in args.preset.split(",")]
    for name in args.presets:
        if name not in PRESETS:
            p.error(f"--preset: unknown preset {name!r} ({', '.join(PRESETS)})")
    for name in ("ticks", "repeats", "chunk", "devices", "maps"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if any(w < 1 for w in args.worlds):
        p.error("--worlds: every W must be >= 1")
    args.changes = {}
    for text in args.set:
        field, _, value = text.partition("=")
        try:
            args.changes[field.strip()] = int(value)
        except ValueError:
            p.error(f"--set {text!r}: expected FIELD=INTEGER")
    if args.alternate and (len(args.presets) < 2 or len(args.worlds) != 1):
        p.error("--alternate: give two or more presets and one W, e.g. --preset default,nmmo2 "
                "--worlds 16")
    if args.npcs < -1:
        p.error("--npcs must be >= 0, or -1 for the preset's")
    return args


# Agent slots per lax.map chunk when --chunk is not given: about what keeps a
# chunk's temporaries in the CPU cache (docs/performance.md, "Batching worlds").
CHUNK_AGENTS = 128

# Streams of the bench's own per-tick seed (nmmo_jax.rng.stream tags).
STREAM_STEP, STREAM_ACT = 1, 2  # the seed handed to the step; the actions' seed
STREAM_MOVE, STREAM_STYLE, STREAM_TARGET = 1, 2, 3  # of the actions' seed
STREAM_USE, STREAM_DESTROY = 4, 5  # of the actions' seed, with items on
STREAM_GIVE, STREAM_GIVE_TO, STREAM_GIVE_GOLD = 6, 7, 8  # the same, for gifts


# --------------------------------------------------------------------------- worker
def masked_choice(u, mask):
    """Index of the floor(u * count)-th True entry of mask [A, N] (u [A] in [0, 1))."""
    import jax.numpy as jnp

    count = mask.sum(axis=1, dtype=jnp.int32)
    pick = jnp.minimum(jnp.floor(u * count).astype(jnp.int32), jnp.maximum(count - 1, 0))
    seen = jnp.zeros_like(pick)
    choice = jnp.zeros_like(pick)
    for j in range(mask.shape[1]):  # static, small: the running count stays elementwise
        seen = seen + mask[:, j]
        choice = choice + (seen <= pick)
    return jnp.minimum(choice, mask.shape[1] - 1)


def masked_random_actions(key, obs):
    """Uniform valid move, uniform style, uniform valid target of that style: Actions [A]."""
    import jax.numpy as jnp

    import nmmo_jax as nj
    from nmmo_jax import rng

    seed = rng.seed_of(key)
    a = obs.move_mask.shape[0]
    slots = jnp.arange(a, dtype=jnp.int32)
    move = masked_choice(rng.uniform(rng.stream(seed, STREAM_MOVE), slots), obs.move_mask)
    style = rng.below(rng.stream(seed, STREAM_STYLE), slots, nj.NUM_STYLES)
    rows = jnp.take_along_axis(obs.target_mask, style[:, None, None], 1)[:, 0]
    index = masked_choice(rng.uniform(rng.stream(seed, STREAM_TARGET), slots), rows)
    target = jnp.take_along_axis(obs.entity_slot, index[:, None], 1)[:, 0]
    if obs.use_mask is None:  # items off: v1.3's three heads
        return nj.Actions(move=move, style=style, target=target)
    # Items on: use and destroy each uniform over the slots their masks allow plus
    # "none" (index I, out of range: a no-op), as nmmo's samplers see its no-op entry.
    none = jnp.ones((a, 1), bool)
    use = masked_choice(rng.uniform(rng.stream(seed, STREAM_USE), slots),
                        jnp.concatenate([obs.use_mask, none], 1))
    destroy = masked_choice(rng.uniform(rng.stream(seed, STREAM_DESTROY), slots),
                            jnp.concatenate([obs.destroy_mask, none], 1))
    # Gifts: an item one may give (or none), to an agent on the tile (or nobody), 0 or 1 gold.
    give = masked_choice(rng.uniform(rng.stream(seed, STREAM_GIVE), slots),
                         jnp.concatenate([obs.destroy_mask, none], 1))
    row = masked_choice(rng.uniform(rng.stream(seed, STREAM_GIVE_TO), slots),
                        jnp.concatenate([obs.give_mask, none], 1))
    k = obs.give_mask.shape[1]
    give_to = jnp.where(row < k, jnp.take_along_axis(obs.entity_slot, jnp.minimum(row, k - 1)[:, None],
                                                     1)[:, 0], -1)
    give_gold = rng.below(rng.stream(seed, STREAM_GIVE_GOLD), slots, 2)
    return nj.Actions(move=move, style=style, target=target, use=use, destroy=destroy, give=give,
                      give_to=give_to, give_gold=give_gold)


def measure(args: argparse.Namespace) -> dict:
    """Run one (preset, W) case in this process; returns its figures."""
    import numpy as np

    case = prepare(args, args.presets[0], args.worlds[0])
    compile_s, call = case.compile(case.full_tick)
    times, alive = zip(*(call(r) for r in range(args.repeats)))
    result = case.figures(compile_s, float(np.median(times)), float(np.mean(alive)))
    if not args.no_phases:
        _, call = case.compile(case.state_tick)
        state_call_s = float(np.median([call(r)[0] for r in range(args.repeats)]))
        result["state_update_frac"] = min(state_call_s / (np.median(times)), 1.0)
    return result


def alternate(args: argparse.Namespace) -> list[dict]:
    """Every preset of args at the first W in this one process, their timed calls
    taking turns (preset 1's call r, preset 2's call r, ...), so a drift of the
    host's speed reaches all alike. Each row's `paired_ratio` is the median over
    calls of its ns per agent-step over the first preset's in the same round."""
    import numpy as np

    cases = [prepare(args, preset, args.worlds[0]) for preset in args.presets]
    compiled = [case.compile(case.full_tick) for case in cases]
    times = [[] for _ in cases]
    alive = [[] for _ in cases]
    for r in range(args.repeats):
        for i, (_, call) in enumerate(compiled):
            seconds, live = call(r)
            times[i].append(seconds)
            alive[i].append(live)
    per_agent = [np.asarray(t) / case.num_agents for t, case in zip(times, cases)]
    return [case.figures(compile_s, float(np.median(t)), float(np.mean(n)))
            | {"paired_ratio": float(np.median(cost / per_agent[0]))}
            for case, (compile_s, _), t, n, cost in zip(cases, compiled, times, alive, per_agent)]


def prepare(args: argparse.Namespace, preset: str, worlds: int):
    """One (preset, W) case built in this process: a namespace with full_tick and
    state_tick (the two timed world ticks), compile(world_tick) -> (compile seconds,
    call) where call(r) runs timed call r on the case's own carried worlds and
    returns (seconds, live agent-steps), figures(compile_s, call_s, live) -> the
    result row, and num_agents."""
    import resource
    import types

    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding, PartitionSpec as P

    import nmmo_jax as nj
    from nmmo_jax.core import advance
    from nmmo_jax.resources import place_resources
    from nmmo_jax.systems.items import npc_spawn_gold, spawn_gold
    from nmmo_jax.systems.npc_spawn import npc_spawn
    from nmmo_jax.systems.spawn import spawn
    from policies.scripted import random_policy

    config = case_config(args, preset)
    a, ticks = config.num_agents, args.ticks
    devices = devices_for(worlds, min(args.devices, jax.device_count()))
    local = worlds // devices
    wanted = args.chunk or max(1, CHUNK_AGENTS // a)
    chunk = max(c for c in range(1, min(wanted, local) + 1) if local % c == 0)
    mesh = jax.make_mesh((devices,), ("w",), devices=jax.devices()[:devices])
    shard = NamedSharding(mesh, P("w"))

    def uniform_actions(key: jax.Array) -> nj.Actions:
        seed, slots = nj.rng.seed_of(key), jnp.arange(a)
        below = lambda stream, n: nj.rng.below(nj.rng.stream(seed, stream), slots, n)
        items = {}
        if config.inventory_slots:  # a slot, or inventory_slots: none
            items = dict(use=below(STREAM_USE, config.inventory_slots + 1),
                         destroy=below(STREAM_DESTROY, config.inventory_slots + 1),
                         give=below(STREAM_GIVE, config.inventory_slots + 1),
                         give_to=below(STREAM_GIVE_TO, a + 1), give_gold=below(STREAM_GIVE_GOLD, 2))
        return nj.Actions(move=below(STREAM_MOVE, nj.NUM_MOVES),
                          style=below(STREAM_STYLE, nj.NUM_STYLES),
                          target=below(STREAM_TARGET, config.num_slots), **items)

    def first_actions() -> nj.Actions:
        """Nobody acts (-1 for every item action: the ticks' carry shape)."""
        actions = nj.Actions.noop(a, config.inventory_slots)
        if not config.inventory_slots:
            return actions
        return actions.replace(**{name: jnp.full(a, -1, jnp.int32) for name in nj.ITEM_ACTIONS})

    def scripted_actions(seed, obs):
        # The tick hands out uint32 seeds; random_policy draws with jax.random from a key.
        actions = random_policy(jax.random.PRNGKey(seed), obs)
        if config.inventory_slots:  # one carry shape: "none" (-1) for the item actions it lacks
            none = first_actions()
            actions = actions.replace(**{name: getattr(none, name) for name in nj.ITEM_ACTIONS
                                         if getattr(actions, name) is None})
        return actions

    policy = scripted_actions if args.policy == "scripted" else masked_random_actions

    # A world tick: (seed, state, actions) -> (state, next actions, living agents,
    # carried output). The full tick carries its observation out of the tick.
    def full_tick(key, state, actions, params):
        k_step, k_act = nj.rng.stream(key, STREAM_STEP), nj.rng.stream(key, STREAM_ACT)
        obs, state, _, _, info = nj.step(k_step, state, actions, config, params)
        return state, policy(k_act, obs), info["alive"].sum(), obs

    def state_tick(key, state, actions, params):
        k_step, k_act = nj.rng.stream(key, STREAM_STEP), nj.rng.stream(key, STREAM_ACT)
        state, _, _, info = advance(k_step, state, actions, config, params)
        return state, uniform_actions(k_act), info["alive"].sum(), ()

    def make_run(world_tick):
        def chunk_run(args_):
            keys, states, actions, params, t0 = args_
            # The carried outputs' shapes, zero-filled, start the scan.
            out_shape = jax.eval_shape(jax.vmap(world_tick), keys, states, actions, params)[3]
            out0 = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), out_shape)

            def body(carry, t):
                states, actions, alive, _ = carry
                ks = nj.rng.bits(keys, t0 + t)  # per-world uint32 seeds for this tick
                states, actions, n, out = jax.vmap(world_tick)(ks, states, actions, params)
                return (states, actions, alive + n.sum(), out), None

            (states, actions, alive, out), _ = jax.lax.scan(
                body, (states, actions, jnp.zeros((), jnp.int32), out0), jnp.arange(ticks))
            # The last tick's outputs leave the chunk as one number, so every
            # tick's carry is really built.
            used = sum(jnp.sum(x == 0, dtype=jnp.int32) for x in jax.tree.leaves(out))
            return states, actions, alive + (used < 0)

        def run_local(keys, states, actions, params, t0):
            n = keys.shape[0]
            group = lambda x: x.reshape((n // chunk, chunk) + x.shape[1:])
            blocks = jax.tree.map(group, (keys, states, actions, params))
            t0s = jnp.broadcast_to(t0, (n // chunk,))
            states, actions, alive = jax.lax.map(chunk_run, blocks + (t0s,))
            flat = lambda x: x.reshape((n,) + x.shape[2:])
            return jax.tree.map(flat, states), jax.tree.map(flat, actions), alive.sum()[None]

        sharded = jax.shard_map(run_local, mesh=mesh, in_specs=(P("w"), P("w"), P("w"), P("w"), P()),
                                out_specs=(P("w"), P("w"), P("w")), check_vma=False)
        return jax.jit(sharded, donate_argnums=(1, 2))

    # Worlds: a few generated maps, reused; each world spawns from its own key.
    key = jax.random.PRNGKey(args.seed)
    defaults = nj.default_params(config)

    def new_map(k):
        tiles = nj.terrain.generate(k, config)
        if config.professions:  # the resource tiles, as reset places them (docs/rules.md §10.6)
            seed = nj.rng.stream(nj.rng.seed_of(k), nj.rng.STREAM_ITEMS)
            tiles = place_resources(seed, tiles, config, defaults)
        return tiles

    maps = jax.jit(jax.vmap(new_map))(jax.random.split(key, min(args.maps, worlds)))
    world_keys = jax.random.split(jax.random.fold_in(key, 1), worlds)
    world_seeds = jax.random.bits(jax.random.fold_in(key, 2), (worlds,), jnp.uint32)

    @jax.jit
    def start(keys):
        def one(k, i):
            state = nj.initial_state(maps[i % maps.shape[0]], config)
            state, spawned = spawn(k, state, config, defaults)
            if config.inventory_slots:  # newcomers' gold, as reset gives it
                state = state.replace(items=spawn_gold(state.items, spawned, defaults)[0])
            if config.num_npcs:  # one round of NPC spawn attempts, as reset makes
                seed = nj.rng.stream(nj.rng.seed_of(k), nj.rng.STREAM_NPC)
                state, npc_spawned = npc_spawn(seed, state, config, defaults)
                if config.inventory_slots:
                    state = npc_spawn_gold(state, npc_spawned, defaults)[0]
            return state
        return jax.vmap(one)(keys, jnp.arange(worlds))

    # None: the defaults compiled in as constants; else Params [W] passed as data.
    if args.params == "none":
        world_params = None
    elif args.params == "shared":
        world_params = nj.params.stack([nj.default_params(config)] * worlds)
    else:  # near the defaults, so the game plays alike, but every world differs
        base = nj.default_params(config)
        ranges = nj.param_ranges(base, {"regrow_prob": (0.02, 0.03), "hit_base": (0.45, 0.55),
                                        "eat_fraction": (0.4, 0.6), "drink_fraction": (0.4, 0.6),
                                        "heal_fraction": (0.08, 0.12)}, config)
        world_params = jax.vmap(nj.draw_params, in_axes=(0, None))(
            jax.random.split(jax.random.fold_in(key, 3), worlds), ranges)
    world_params = jax.device_put(world_params, shard)

    def fresh():
        states = jax.device_put(start(world_keys), shard)
        actions = jax.device_put(jax.vmap(lambda _: first_actions())(jnp.arange(worlds)), shard)
        return states, actions

    state_bytes = sum(x.nbytes for x in jax.tree.leaves(start(world_keys))) // worlds
    keys = jax.device_put(world_seeds, shard)

    def compile_case(world_tick):
        states, actions = fresh()
        fn = make_run(world_tick)
        t = time.perf_counter()
        compiled = fn.lower(keys, states, actions, world_params, jnp.int32(0)).compile()
        compile_s = time.perf_counter() - t
        carry = list(jax.block_until_ready(
            compiled(keys, states, actions, world_params, jnp.int32(0)))[:2])

        def call(r: int) -> tuple[float, int]:
            t = time.perf_counter()
            states, actions, n = jax.block_until_ready(
                compiled(keys, *carry, world_params, jnp.int32((r + 1) * ticks)))
            seconds = time.perf_counter() - t
            carry[:] = [states, actions]
            return seconds, int(np.asarray(n).sum())
        return compile_s, call

    def figures(compile_s: float, call_s: float, live: float) -> dict:
        return dict(
            preset=preset, full=args.full, params=args.params, num_agents=a,
            num_npcs=config.num_npcs, changes=args.changes,
            map_size=config.map_size, worlds=worlds, devices=devices, chunk=chunk, ticks=ticks,
            repeats=args.repeats, slot_steps_per_s=worlds * config.num_slots * ticks / call_s,
            live_steps_per_s=live / call_s,
            env_steps_per_s=worlds * ticks / call_s,
            us_per_world_tick=1e6 * call_s / (worlds * ticks),
            ns_per_agent_step=1e9 * call_s / (worlds * ticks * a),
            mean_alive=live / (worlds * ticks), compile_s=compile_s, state_bytes=state_bytes,
            peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            device=f"{jax.devices()[0].platform} x{jax.device_count()}")

    return types.SimpleNamespace(full_tick=full_tick, state_tick=state_tick, num_agents=a,
                                 compile=compile_case, figures=figures)


# --------------------------------------------------------------------------- driver
def _accelerator_plugin() -> bool:
    """Whether jax's GPU or TPU support is installed (found without starting jax)."""
    import importlib.util
    return any(importlib.util.find_spec(name) is not None for name in (
        "jax_cuda12_plugin", "jax_cuda13_plugin", "jax_rocm60_plugin", "jax_rocm7_plugin",
        "libtpu"))


def devices_for(worlds: int, devices: int) -> int:
    """The host devices a case of W worlds shards over: the most, up to `devices`,
    that divide W evenly (one for W = 1)."""
    return max(d for d in range(1, devices + 1) if worlds % d == 0)


def pin_cores(devices: int) -> list[int]:
    """Pin this process to `devices` of the CPUs it may use (the lowest), so that
    --devices D times D cores' work: XLA runs independent operations of one
    device's program side by side on any idle core, and a program with more
    such operations would gain more from the idle ones. Call before jax starts.
    Returns the CPUs the process may use now. With an accelerator plugin
    installed it pins nothing: the devices are then not cores."""
    if not hasattr(os, "sched_setaffinity"):
        return list(range(os.cpu_count() or 1))
    allowed = sorted(os.sched_getaffinity(0))
    if devices < len(allowed) and not _accelerator_plugin():
        allowed = allowed[:devices]
        os.sched_setaffinity(0, allowed)
    return allowed


def machine() -> str:
    cpu = cpu_model()
    import jax
    pinned = "" if _accelerator_plugin() else " (each case pinned to one per device it uses)"
    return (f"{cpu}, {os.cpu_count()} cores{pinned}, jax {jax.__version__}, "
            f"{datetime.date.today().isoformat()}")


def table(rows: list[dict]) -> str:
    head = ("preset", "A", "W", "dev", "chunk", "slot steps/s", "live steps/s", "env steps/s",
            "us/world-tick", "ns/agent-step", "state/obs %", "compile s", "state KiB", "peak RSS MiB")
    lines = []
    for r in rows:
        if "error" in r:
            lines.append((r["preset"], "", str(r["worlds"]), "", "error: " + r["error"][-60:]))
            continue
        split = (f"{100 * r['state_update_frac']:.0f}/{100 * (1 - r['state_update_frac']):.0f}"
                 if "state_update_frac" in r else "-")
        npcs = f"+{r['num_npcs']} NPCs" if r.get("num_npcs") else ""
        changed = "".join(f" {k}={v}" for k, v in r.get("changes", {}).items())
        lines.append((r["preset"] + ("+full" if r["full"] else "") + npcs + changed,
                      str(r["num_agents"]),
                      str(r["worlds"]), str(r["devices"]), str(r["chunk"]),
                      f"{r['slot_steps_per_s']:,.0f}",
                      f"{r['live_steps_per_s']:,.0f}", f"{r['env_steps_per_s']:,.0f}",
                      f"{r['us_per_world_tick']:.1f}",
                      f"{r['us_per_world_tick'] * 1e3 / r['num_agents']:,.0f}", split,
                      f"{r['compile_s']:.1f}",
                      f"{r['state_bytes'] / 1024:.1f}", f"{r['peak_rss_mib']:,.0f}"))
    return markdown_table(head, lines)


def case_config(args: argparse.Namespace, preset: str):
    """The nmmo_jax.Config a case of `preset` plays: the preset with --set's changes,
    --npcs (unless -1) and, with --full, every empty slot refilled each tick."""
    import nmmo_jax as nj
    config = nj.Config.preset(preset)
    if args.changes:
        config = config.replace(**args.changes)
    if args.npcs >= 0:
        config = config.replace(num_npcs=args.npcs)
    if args.full:
        config = config.replace(spawn_per_tick=config.num_agents)
    return config


def worker_argv(args: argparse.Namespace, preset: str, worlds: int) -> list[str]:
    argv = [sys.executable, "-m", "scripts.bench_env", "--one", "--preset", preset,
            "--worlds", str(worlds), "--ticks", str(args.ticks), "--repeats", str(args.repeats),
            "--devices", str(args.devices), "--maps", str(args.maps),
            "--seed", str(args.seed), "--policy", args.policy, "--params", args.params,
            "--npcs", str(args.npcs)]
    argv += [x for text in args.set for x in ("--set", text)]
    argv += ["--chunk", str(args.chunk)] if args.chunk else []
    return argv + ["--full"] * args.full + ["--no-phases"] * args.no_phases


def run_case(args: argparse.Namespace, preset: str, worlds: int) -> dict:
    """One case in a fresh subprocess (own compile cache, own peak RSS)."""
    proc = subprocess.run(worker_argv(args, preset, worlds), capture_output=True, text=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return dict(preset=preset, worlds=worlds, error=(proc.stderr or proc.stdout).strip()[-400:])


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.one or args.alternate:  # one core per device the case uses, before jax starts
        pin_cores(devices_for(args.worlds[0], args.devices))
    if args.one:
        # Must precede the first jax import: one host device per core.
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={args.devices}"
        print(json.dumps(measure(args)), flush=True)
        return
    if args.alternate:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                   + f" --xla_force_host_platform_device_count={args.devices}")
        rows = alternate(args)
        print(f"machine: {machine()}; {args.ticks} ticks per call, {args.repeats} calls per "
              "preset taking turns in one process, medians")
        print(table(rows))
        for r in rows[1:]:
            print(f"{r['preset']} / {rows[0]['preset']}, ns per agent-step: median of "
                  f"{args.repeats} paired ratios {r['paired_ratio']:.3f}")
        return
    rows = []
    for preset in args.presets:
        for worlds in args.worlds:
            rows.append(run_case(args, preset, worlds))
            if not args.json:
                print(f"  done {preset} W={worlds}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(dict(machine=machine(), ticks=args.ticks, rows=rows), indent=1))
    else:
        print(f"machine: {machine()}; {args.ticks} ticks per call, median of {args.repeats} calls")
        print(table(rows))


if __name__ == "__main__":
    main()
