"""What nmmo 2.1.2 itself pays for its NPCs, items and professions, one core, one run.

    python -m scripts.bench_peer_systems                  # every content set, 1,000 ticks
    python -m scripts.bench_peer_systems --ticks 200 --json

The question it answers: is nmmo2's cost per agent-step over v1.3's
(`scripts/bench_env.py --preset default,nmmo2 --alternate`) a property of
the content or of our code? The reference is run with nmmo 2.x's game
systems switched on a few at a time, from v1.3's content (terrain,
foraging, combat, skills) up to its Default, and each set's cost per tick
is printed over that of v1.3's content on v1.3's 80x80 map.

Method. The peer venv is `scripts/bench_peer.py`'s (reused, or built the
same way when missing). One worker process, pinned to one core with BLAS
threads at 1, builds one `nmmo.Env` per content set: nmmo's `Medium` (128
agents, 128 NPCs when they are on) plus the set's system classes from
`nmmo.core.config`, `IMMORTAL = True` as in bench_peer. Each tick it steps
every env once, in turn, with random valid actions for every head
(uniform over each mask, sampling not timed), so a drift of the host's
speed reaches all sets alike; the first `--warmup` ticks are not timed.
Per set: mean ms per tick over the timed ticks (nmmo's ticks get dearer as
the episode ages, so the default 1,000 ticks cover most of its 1,024-tick
episode), the part of it spent in `env._compute_rewards` (the task
system's per-tick index of the episode's events, the same work whatever
the content), the first and last 100, and the cost over the v1.3 set on
the 80x80 map: the ratio of means, the median over ticks of the paired
ratio, and the ratio of means with the task rewards left out.
"""
from __future__ import annotations

import argparse
import json
import sys

from scripts import bench_peer as bp
from scripts.tables import markdown_table

# (name, nmmo.core.config system classes added to Medium, map size, playable centre).
# v1.3's 80x80 map has 9 lava rows a side, so its centre is 62 (nmmo: MAP_BORDER =
# (MAP_SIZE - MAP_CENTER) // 2); nmmo's Medium is 160 and 128.
V13_SYSTEMS = ("Terrain", "Resource", "Combat", "Progression")
ITEM_SYSTEMS = ("Item", "Equipment")
CONTENT_SETS = (
    ("v1.3 content, 80x80", V13_SYSTEMS, 80, 62),
    ("v1.3 content", V13_SYSTEMS, 160, 128),
    ("+ NPCs", V13_SYSTEMS + ("NPC",), 160, 128),
    ("+ items", V13_SYSTEMS + ITEM_SYSTEMS, 160, 128),
    ("+ items, professions", V13_SYSTEMS + ITEM_SYSTEMS + ("Profession",), 160, 128),
    ("nmmo2's content", V13_SYSTEMS + ("NPC",) + ITEM_SYSTEMS + ("Profession",), 160, 128),
    ("Default (+ market, communication)", V13_SYSTEMS + ("NPC",) + ITEM_SYSTEMS
     + ("Profession", "Exchange", "Communication"), 160, 128),
)

# Runs under the peer venv's Python, after bench_peer's `sample(rng, obs)`.
WORKER = bp.PEER_SAMPLER + r'''

def timed(method, total):
    """method, its seconds added to total[0] at each call (env.step's task rewards)."""
    def call(*args, **kwargs):
        t = time.perf_counter()
        out = method(*args, **kwargs)
        total[0] += time.perf_counter() - t
        return out
    return call


def main():
    ticks, warmup, seed, core, maps = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                       int(sys.argv[4]), sys.argv[5])
    sets = json.loads(sys.argv[6])
    if core >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    import numpy as np
    import nmmo
    from nmmo.core import config as C

    envs = []
    for i, (name, systems, size, centre) in enumerate(sets):
        attrs = dict(IMMORTAL=True, PATH_MAPS=os.path.join(maps, str(i)), MAP_SIZE=size,
                     MAP_CENTER=centre, HORIZON=max(C.Medium.HORIZON, warmup + ticks + 1))
        cls = type("Set%d" % i, (C.Medium,) + tuple(getattr(C, s) for s in systems), attrs)
        env = nmmo.Env(cls(), seed=seed)
        obs, _ = env.reset(seed=seed)
        e = dict(name=name, env=env, obs=obs, times=[], rewards=[0.0],
                 systems=sorted(env.config.enabled_systems))
        env._compute_rewards = timed(env._compute_rewards, e["rewards"])
        envs.append(e)
    rng = np.random.default_rng(seed)

    for tick in range(warmup + ticks):
        for e in envs:
            actions = sample(rng, e["obs"])
            e["rewards"][0] = 0.0
            t = time.perf_counter()
            e["obs"], _, _, _, _ = e["env"].step(actions)
            if tick >= warmup:
                e["times"].append((time.perf_counter() - t, e["rewards"][0]))
    base = np.asarray(envs[0]["times"])
    out = []
    for e in envs:
        t = np.asarray(e["times"])  # [ticks, (step, of it the task rewards)]
        rest, base_rest = t[:, 0] - t[:, 1], base[:, 0] - base[:, 1]
        out.append(dict(name=e["name"], systems=e["systems"], map_size=e["env"].config.MAP_SIZE,
                        agents=len(e["env"].realm.players), npcs=len(e["env"].realm.npcs),
                        ms_per_tick=1e3 * t[:, 0].mean(), ms_rewards=1e3 * t[:, 1].mean(),
                        ms_first100=1e3 * t[:100, 0].mean(), ms_last100=1e3 * t[-100:, 0].mean(),
                        over_base=float(t[:, 0].mean() / base[:, 0].mean()),
                        paired_over_base=float(np.median(t[:, 0] / base[:, 0])),
                        over_base_no_rewards=float(rest.mean() / base_rest.mean())))
    print(json.dumps(dict(nmmo=nmmo.__version__, core=core, ticks=ticks, warmup=warmup,
                          sets=out)), flush=True)

main()
'''


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bp.add_reference_args(p)  # --ticks: per content set here
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = p.parse_args(argv)
    if args.ticks < 100:
        p.error("--ticks must be >= 100 (the table shows the first and last 100)")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    args.core = bp.reference_core(args.core)
    return args


def run_worker(args: argparse.Namespace) -> dict:
    """WORKER under the peer venv (`bench_peer.run_worker`), every content set."""
    sets = json.dumps([list(x) for x in CONTENT_SETS])
    return bp.run_worker(args, WORKER, [sets], timeout=600 + 2 * len(CONTENT_SETS) * args.ticks)


def format_table(sets: list[dict]) -> str:
    """One row per content set: ms per tick, the task rewards' part of it, and its cost
    over the first set's with and without the task rewards."""
    head = ("content", "map", "NPCs", "ms per tick", "of it task rewards", "first / last 100",
            "x v1.3 80x80", "paired median", "x, task rewards left out")
    rows = [(s["name"], f"{s['map_size']}", f"{s['npcs']}", f"{s['ms_per_tick']:.1f}",
             f"{s['ms_rewards']:.1f}", f"{s['ms_first100']:.1f} / {s['ms_last100']:.1f}",
             f"{s['over_base']:.2f}x", f"{s['paired_over_base']:.2f}x",
             f"{s['over_base_no_rewards']:.2f}x") for s in sets]
    return markdown_table(head, rows, left=1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    try:
        versions, _ = bp.ensure_peer(args, log)
        result = run_worker(args)
    except bp.PeerError as e:
        log(f"bench_peer_systems: cannot measure nmmo {bp.PEER_VERSION}: {e}")
        return 2
    mach = bp.machine()
    if args.json:
        print(json.dumps(dict(machine=mach, peer_versions=versions, **result), indent=1))
        return 0
    print(f"machine: {mach['cpu']}; {mach['date']}; nmmo {result['nmmo']} (Python "
          f"{versions['python']}, numpy {versions['numpy']}), pinned to CPU {result['core']}")
    print(f"nmmo's Medium + IMMORTAL, 128 agents; {result['ticks']} timed ticks per set after "
          f"{result['warmup']} warm-up, the sets stepped in turn; random valid actions (not timed)")
    print(format_table(result["sets"]))
    for s in result["sets"]:
        print(f"systems, {s['name']}: {', '.join(s['systems'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
