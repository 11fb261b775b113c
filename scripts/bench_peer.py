"""nmmo-jax against the reference Python Neural MMO (`nmmo` 2.1.2), one run, one machine.

    python -m scripts.bench_peer                      # build/reuse the peer venv; default
                                                      # and nmmo2 presets, W = 1, 64, one core
    python -m scripts.bench_peer --preset nmmo2 --worlds 1,64,1024 --ticks 200 --json
    python -m scripts.bench_peer --preset nmmo2 --worlds 64 --rounds 3   # turns; median ratio
    python -m scripts.bench_peer --our-core -1 --devices 2   # ours on both cores (W sharded)
    python -m scripts.bench_peer --venv /tmp/peer --rebuild

Method
------
Reference. `nmmo==2.1.2` lives in its own virtual environment (default
`~/.cache/nmmo-jax/peer-venv`, `--venv` to move it), never in this project's
dependencies. The release declares Python < 3.11, so the venv is built from a
Python 3.10 (or 3.9, 3.8) found on PATH, under pyenv or in /usr; only when none
exists is it built from the current interpreter with `pip install
--ignore-requires-python` and the old dependency versions nmmo pins itself
(numpy 1.23.3, scipy 1.10.0, gymnasium 0.29.1, pettingzoo 1.24.1). An existing
venv is reused when it imports nmmo 2.1.2. A small worker script (PEER_WORKER
below), run by the venv's Python pinned to one CPU core with BLAS threads set
to 1, builds `nmmo.Env` from a subclass of `nmmo.config.Default` with
`IMMORTAL = True` (all 128 agents stay alive; the only other changes are that
maps go to a temp dir and HORIZON grows if more ticks are asked for than the
default 1024 allows), resets, runs `--warmup` ticks, then times `--ticks`
calls of `env.step`: by default 5 and 1,000, so the figure is the mean over
ticks 6-1005 of nmmo's default 1,024-tick episode, what a user pays per tick
on average. nmmo's tick gets dearer as the episode ages (items, NPCs and
inventories pile up), so a short window after reset measures only its cheap
start: the header line prints the mean ms of the first and the last 100
timed ticks to show the spread. Each tick every agent gets a full action
dict: for every action head of every action, an index drawn uniformly from
the entries whose mask in that agent's `ActionTargets` observation is 1.
Sampling is timed separately and is NOT included in the reference's figures
(that favours the reference).

Ours. `scripts/bench_env.py --preset PRESETS --full --json --no-phases` for
each preset (`--preset`, default `default,nmmo2`: v1.3's world and nmmo 2.x's,
docs/rules.md §10.10) and W, in a subprocess: random masked actions (uniform
valid move, style, target, and with items use, destroy and gifts) drawn inside the
jitted scan, observations built every tick, `spawn_per_tick = num_agents` so
every slot stays (nearly) filled. Sampling IS included in our figures. By
default ours is pinned to the reference's core with one XLA host device
(`--our-core`), so each side has one core and the ratio is per core;
`--our-core -1` lets bench_env shard worlds over `--devices` host devices
(both cores) as before. The `devices` column says how many (for nmmo: the
one core it is pinned to). Below the table one line per side says what a
timed tick simulates (PEER_WORK, OUR_WORK).

Figures. Live agent-steps/s = (live agents per tick, summed over ticks and
worlds) / seconds; env steps/s = world-ticks / s; ms per world-tick = 1 /
env steps/s. The ratio is ours over the reference in live agent-steps/s. The
two sides run one after the other, never concurrently; a busy machine (other
benchmarks) slows both, so the load average is printed alongside. The host's
speed also drifts within the hour: `--rounds R` lets the sides take turns R
times and reports the median over the rounds, each ratio the median of the R
ratios within rounds, with their range.

Caveats. The two games are not the same program: nmmo 2.1.2 is Neural MMO
2.x (items, market, NPCs, tasks, communication). Against the `default` preset
(v1.3's rule set) the comparison is the cost of one tick of each project's
default world with all agents acting at random, not equal work; the `nmmo2`
preset runs nmmo 2.x's world with its NPCs, items and professions, short of
the market, Give and communication (docs/rules.md §10.10), while IMMORTAL
spares the reference the agents' upkeep, damage and deaths. `--ticks 100`
measures only the early phase (0.7-0.9x the episode's mean cost per tick in
our runs), which flatters the reference.
"""
from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from scripts.bench_env import PRESETS
from scripts.machine import cpu_model
from scripts.tables import markdown_table

PEER_VERSION = "2.1.2"
# The versions nmmo 2.1.2 pins (or resolves to with Python 3.10); pinned again so
# the --ignore-requires-python build on a newer Python gets the same set.
PEER_PINS = ("nmmo==2.1.2", "numpy==1.23.3", "scipy==1.10.0", "gymnasium==0.29.1",
             "pettingzoo==1.24.1", "dill<0.4", "cython>=3.0,<4")
DEFAULT_VENV = Path.home() / ".cache" / "nmmo-jax" / "peer-venv"
PIP_TIMEOUT_S = 1800


class PeerError(RuntimeError):
    """The reference could not be installed or run; the message says why."""


# --------------------------------------------------------------------------- reference worker
# Run under the peer venv's Python (3.10, numpy 1.23): keep them plain Python 3.7+.
# The random player of both workers (this one and bench_peer_systems').
PEER_SAMPLER = r'''
import json, os, sys, time


def sample(rng, obs):
    """Per agent, per action, per head: uniform over the entries whose mask is 1."""
    import numpy as np
    actions = {}
    for agent, ob in obs.items():
        act = {}
        for name, heads in ob["ActionTargets"].items():
            arg = {}
            for head, mask in heads.items():
                valid = np.flatnonzero(mask)
                pick = valid[rng.integers(valid.size)] if valid.size else len(mask) - 1
                arg[head] = int(pick)
            act[name] = arg
        actions[agent] = act
    return actions
'''

PEER_WORKER = PEER_SAMPLER + r'''

def main():
    ticks, warmup, seed, core, maps = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                       int(sys.argv[4]), sys.argv[5])
    if core >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    import numpy as np
    import nmmo
    from nmmo.core.config import Default

    class Immortal(Default):
        IMMORTAL = True                      # agents never die (except by void)
        PATH_MAPS = maps                     # not ./maps/medium in the caller's cwd
        HORIZON = max(Default.HORIZON, warmup + ticks + 1)

    t = time.perf_counter()
    env = nmmo.Env(Immortal(), seed=seed)
    obs, _ = env.reset(seed=seed)
    init_s = time.perf_counter() - t
    rng = np.random.default_rng(seed)
    step_s, sample_s, live = [], [], []
    for i in range(warmup + ticks):
        t = time.perf_counter()
        actions = sample(rng, obs)
        t1 = time.perf_counter()
        n = sum(1 for a in actions if a in env.realm.players)   # agents that act this tick
        obs, _, _, _, _ = env.step(actions)
        t2 = time.perf_counter()
        if i >= warmup:
            sample_s.append(t1 - t)
            step_s.append(t2 - t1)
            live.append(n)
    total = sum(step_s)
    ms = sorted(1e3 * s for s in step_s)
    print(json.dumps(dict(
        nmmo=nmmo.__version__, python=sys.version.split()[0], numpy=np.__version__,
        core=core, ticks=ticks, warmup=warmup, agents=env.config.PLAYER_N,
        map_size=env.config.MAP_SIZE, immortal=bool(env.config.IMMORTAL), init_s=init_s,
        step_s=total, sample_s=sum(sample_s), mean_alive=sum(live) / len(live),
        min_alive=min(live), live_steps_per_s=sum(live) / total, env_steps_per_s=ticks / total,
        ms_per_tick=1e3 * total / ticks, ms_median=ms[len(ms) // 2],
        ms_p90=ms[min(len(ms) - 1, int(0.9 * len(ms)))],
        ms_first100=1e3 * sum(step_s[:100]) / len(step_s[:100]),
        ms_last100=1e3 * sum(step_s[-100:]) / len(step_s[-100:]),
        sample_ms_per_tick=1e3 * sum(sample_s) / ticks)), flush=True)

main()
'''


# --------------------------------------------------------------------------- pure helpers
def ratio(ours: float, ref: float) -> float | None:
    """ours / ref, None when the reference figure is missing or zero."""
    if not ref or ref <= 0:
        return None
    return ours / ref


def tail(text: str, lines: int = 25) -> str:
    """The last `lines` meaningful lines of pip/python output (pip's find-links noise dropped)."""
    keep = [x for x in text.splitlines()
            if x.strip() and not x.startswith("WARNING: Location 'file:")]
    return "\n".join(keep[-lines:])


def last_json(stdout: str) -> dict | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None


def rows_for(peer: dict | None, ours: list[dict]) -> list[dict]:
    """Table rows: the reference first (ratio 1), then ours per (preset, W) with the
    ratio to it (the system named "nmmo-jax PRESET" when the row names its preset)."""
    ref = peer["live_steps_per_s"] if peer else None
    rows = []
    if peer:
        rows.append(dict(system=f"nmmo {peer['nmmo']}", worlds=1, devices=1,
                         live_steps_per_s=peer["live_steps_per_s"],
                         env_steps_per_s=peer["env_steps_per_s"],
                         ms_per_world_tick=peer["ms_per_tick"], mean_alive=peer["mean_alive"],
                         ratio=1.0))
    for r in ours:
        system = "nmmo-jax" + (f" {r['preset']}" if r.get("preset") else "")
        if "error" in r:
            rows.append(dict(system=system, worlds=r.get("worlds"), error=r["error"]))
            continue
        rows.append(dict(system=system, worlds=r["worlds"], devices=r["devices"],
                         live_steps_per_s=r["live_steps_per_s"],
                         env_steps_per_s=r["env_steps_per_s"],
                         ms_per_world_tick=r["us_per_world_tick"] / 1e3,
                         mean_alive=r["mean_alive"],
                         ratio=ratio(r["live_steps_per_s"], ref)))
    return rows


def median_rows(rounds: list[list[dict]]) -> list[dict]:
    """One table from the rows of several rounds (`rows_for` of each; the same
    systems in the same order): each figure the median over the rounds, the
    ratio the median of the rounds' own ratios, with their range (ratio_low,
    ratio_high). A row that failed in any round keeps that round's error."""
    out = []
    for same in zip(*rounds):
        failed = [r for r in same if "error" in r]
        if failed:
            out.append(failed[0])
            continue
        row = dict(same[0])
        for key in ("live_steps_per_s", "env_steps_per_s", "ms_per_world_tick", "mean_alive"):
            row[key] = statistics.median(r[key] for r in same)
        ratios = [r["ratio"] for r in same if r["ratio"] is not None]
        row["ratio"] = statistics.median(ratios) if ratios else None
        if ratios:
            row["ratio_low"], row["ratio_high"] = min(ratios), max(ratios)
        out.append(row)
    return out


def format_table(rows: list[dict]) -> str:
    head = ("system", "W", "devices", "agent-steps/s (live)", "env steps/s",
            "ms per world-tick", "alive/world", "ratio to nmmo")
    lines = []
    for r in rows:
        if "error" in r:
            lines.append((r["system"], str(r["worlds"]), "", "error: " + r["error"][-70:]))
            continue
        ms = r["ms_per_world_tick"]
        lines.append((r["system"], str(r["worlds"]), str(r["devices"]),
                      f"{r['live_steps_per_s']:,.0f}", f"{r['env_steps_per_s']:,.1f}",
                      f"{ms:.2f}" if ms >= 0.1 else f"{ms:.4f}", f"{r['mean_alive']:.1f}",
                      "-" if r["ratio"] is None else f"{r['ratio']:,.1f}x"
                      + (f" ({r['ratio_low']:,.1f}-{r['ratio_high']:,.1f})"
                         if "ratio_low" in r and r["ratio_low"] != r["ratio_high"] else "")))
    return markdown_table(head, lines, left=1)


def add_reference_args(p: argparse.ArgumentParser) -> None:
    """The reference worker's options (`run_worker` reads them), shared with
    bench_peer_systems; `reference_core` fills in --core's default after parsing."""
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                   help=f"peer virtual environment (default {DEFAULT_VENV})")
    p.add_argument("--python", default=None,
                   help="interpreter to build the peer venv from (default: a Python 3.10 if "
                        "found, else this one with --ignore-requires-python)")
    p.add_argument("--rebuild", action="store_true", help="rebuild the peer venv even if it works")
    p.add_argument("--ticks", type=int, default=1000,
                   help="timed nmmo ticks (default 1000: most of its 1,024-tick episode)")
    p.add_argument("--warmup", type=int, default=5, help="untimed nmmo ticks first (default 5)")
    p.add_argument("--core", type=int, default=None,
                   help="CPU the reference is pinned to (default: the last allowed one; -1: none)")
    p.add_argument("--seed", type=int, default=0)


def reference_core(core: int | None) -> int:
    """--core as given, else the last CPU this process may use (-1 where none is known)."""
    if core is not None:
        return core
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return allowed[-1] if allowed else -1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_reference_args(p)
    p.add_argument("--worlds", default="1,64", help="comma list of W for nmmo-jax (default 1,64)")
    p.add_argument("--preset", default="default,nmmo2",
                   help="comma list of nmmo-jax presets to race (default default,nmmo2: v1.3's "
                        "world and nmmo 2.x's, docs/rules.md §10.10)")
    p.add_argument("--our-core", type=int, default=None,
                   help="CPU nmmo-jax is pinned to, with one XLA device (default: the "
                        "reference's core, so each side has one core; -1: not pinned, worlds "
                        "sharded over --devices host devices)")
    p.add_argument("--devices", type=int, default=2,
                   help="host devices for nmmo-jax when --our-core -1 (default 2)")
    p.add_argument("--our-ticks", type=int, default=32, help="bench_env --ticks (scan length)")
    p.add_argument("--repeats", type=int, default=5, help="bench_env --repeats")
    p.add_argument("--rounds", type=int, default=1,
                   help="the reference and ours take turns this many times (default 1); with "
                        "more, each figure is the median over the rounds and the ratio the "
                        "median of the rounds' own ratios, so the host's drift, which slows "
                        "both sides of a round alike, cancels")
    p.add_argument("--skip-ours", action="store_true", help="measure the reference only")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = p.parse_args(argv)
    try:
        args.worlds = [int(w) for w in str(args.worlds).split(",")]
    except ValueError:
        p.error(f"--worlds={args.worlds!r}: expected a comma list of integers")
    if any(w < 1 for w in args.worlds):
        p.error("--worlds: every W must be >= 1")
    args.presets = [x.strip() for x in str(args.preset).split(",") if x.strip()]
    if not args.presets:
        p.error("--preset: name at least one preset")
    for name in args.presets:
        if name not in PRESETS:
            p.error(f"--preset: unknown preset {name!r} ({', '.join(PRESETS)})")
    for name in ("ticks", "our_ticks", "repeats", "devices", "rounds"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    args.core = reference_core(args.core)
    if args.our_core is None:
        args.our_core = args.core
    if args.our_core < -1:
        p.error("--our-core must be a CPU number or -1")
    return args


# --------------------------------------------------------------------------- peer venv
def _run(cmd: list[str], timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def python_version(exe: str) -> tuple[int, int] | None:
    """(major, minor) of an interpreter that can make venvs with pip, else None."""
    try:
        code = "import sys, venv, ensurepip; print('%d %d' % sys.version_info[:2])"
        proc = _run([exe, "-c", code], timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None  # e.g. a pyenv shim for a version that is not selected, or no ensurepip
    try:
        major, minor = proc.stdout.split()
        return int(major), int(minor)
    except ValueError:
        return None


def candidate_pythons() -> list[str]:
    """Interpreters nmmo 2.1.2 supports (3.10 first), from PATH, pyenv and /usr."""
    found = []
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    for minor in ("3.10", "3.9", "3.8"):
        exe = shutil.which(f"python{minor}")
        if exe:
            found.append(exe)
        for root in filter(None, roots):
            found += sorted(glob.glob(os.path.join(root, "versions", f"{minor}.*", "bin",
                                                  f"python{minor}")), reverse=True)
        found += [f"{d}/python{minor}" for d in ("/usr/local/bin", "/usr/bin")
                  if os.path.exists(f"{d}/python{minor}")]
    seen, out = set(), []
    for exe in found:
        if exe not in seen:
            seen.add(exe)
            out.append(exe)
    return out


def choose_python(explicit: str | None) -> tuple[str, tuple[int, int]]:
    if explicit:
        ver = python_version(explicit)
        if ver is None:
            raise PeerError(f"--python {explicit}: cannot run it, or it lacks venv/ensurepip")
        return explicit, ver
    for exe in candidate_pythons():
        ver = python_version(exe)
        if ver is not None and ver < (3, 11):
            return exe, ver
    return sys.executable, sys.version_info[:2]


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def peer_info(venv: Path) -> dict | None:
    """Versions inside the venv if it imports nmmo 2.1.2, else None."""
    exe = venv_python(venv)
    if not exe.exists():
        return None
    code = ("import json, sys, numpy, nmmo; print(json.dumps(dict(nmmo=nmmo.__version__, "
            "numpy=numpy.__version__, python=sys.version.split()[0])))")
    try:
        proc = _run([str(exe), "-c", code], timeout=120, cwd=tempfile.gettempdir())
    except (OSError, subprocess.SubprocessError):
        return None
    info = last_json(proc.stdout) if proc.returncode == 0 else None
    return info if info and info.get("nmmo") == PEER_VERSION else None


def build_peer(venv: Path, explicit_python: str | None, log=print) -> dict:
    """Create the venv and pip-install nmmo 2.1.2 into it; returns peer_info or raises."""
    base, ver = choose_python(explicit_python)
    ignore = ver >= (3, 11)
    log(f"building the nmmo {PEER_VERSION} venv at {venv} from {base} "
        f"(Python {ver[0]}.{ver[1]}{', --ignore-requires-python' if ignore else ''}) ...")
    venv.parent.mkdir(parents=True, exist_ok=True)
    proc = _run([base, "-m", "venv", "--clear", str(venv)], timeout=300)
    if proc.returncode != 0:
        raise PeerError(f"`{base} -m venv {venv}` failed:\n{tail(proc.stderr + proc.stdout)}")
    cmd = [str(venv_python(venv)), "-m", "pip", "install", "--disable-pip-version-check"]
    cmd += ["--ignore-requires-python"] * ignore + list(PEER_PINS)
    log_path = venv.with_name(venv.name + ".build.log")
    try:
        proc = _run(cmd, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        raise PeerError(f"pip install timed out after {PIP_TIMEOUT_S} s (network?):\n"
                        f"{tail(out)}") from None
    log_path.write_text(" ".join(cmd) + "\n\n" + proc.stdout + "\n" + proc.stderr)
    if proc.returncode != 0:
        hint = ""
        text = proc.stdout + proc.stderr
        offline = ("Could not find a version", "NewConnectionError", "No matching distribution",
                   "Temporary failure in name resolution")
        if any(s in text for s in offline):
            hint = "\n(no network or no package index reachable? pip could not fetch the packages)"
        raise PeerError(f"`{shlex.join(cmd)}` failed (exit {proc.returncode}); full log in "
                        f"{log_path}; last lines:\n{tail(text)}{hint}")
    info = peer_info(venv)
    if info is None:
        exe = venv_python(venv)
        proc = _run([str(exe), "-c", "import nmmo"], timeout=120, cwd=tempfile.gettempdir())
        raise PeerError(f"nmmo {PEER_VERSION} installed into {venv} but does not import "
                        f"with {exe}:\n{tail(proc.stderr + proc.stdout)}")
    info["built_from"] = f"{base} (Python {ver[0]}.{ver[1]})"
    info["ignore_requires_python"] = ignore
    return info


def ensure_peer(args: argparse.Namespace, log=print) -> tuple[dict, float]:
    """(versions in the working peer venv, seconds spent building it; 0 when reused)."""
    if not args.rebuild:
        info = peer_info(args.venv)
        if info is not None:
            return info, 0.0
        if venv_python(args.venv).exists():
            log(f"{args.venv} exists but does not import nmmo {PEER_VERSION}: rebuilding")
    t = time.perf_counter()
    info = build_peer(args.venv, args.python, log)
    return info, time.perf_counter() - t


def run_peer(args: argparse.Namespace) -> dict:
    """PEER_WORKER: nmmo's Default, timed."""
    return run_worker(args, PEER_WORKER, [], timeout=600 + 2 * args.ticks)


def run_worker(args: argparse.Namespace, source: str, extra: list[str], timeout: float) -> dict:
    """A worker's source run under the peer venv in a temp dir (nmmo writes its maps
    there), argv: ticks, warmup, seed, core, maps dir, *extra; its last JSON line."""
    with tempfile.TemporaryDirectory(prefix="nmmo-peer-") as tmp:
        script = Path(tmp) / "peer_worker.py"
        script.write_text(source)
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
        env.pop("PYTHONPATH", None)  # nothing of this project's venv leaks in
        cmd = [str(venv_python(args.venv)), str(script), str(args.ticks), str(args.warmup),
               str(args.seed), str(args.core), str(Path(tmp) / "maps"), *extra]
        try:
            proc = _run(cmd, timeout=timeout, cwd=tmp, env=env)
        except subprocess.TimeoutExpired:
            raise PeerError(f"the nmmo {PEER_VERSION} worker ran past its time limit") from None
    result = last_json(proc.stdout)
    if proc.returncode != 0 or result is None:
        raise PeerError(f"the nmmo {PEER_VERSION} worker failed (exit {proc.returncode}):\n"
                        f"{tail(proc.stderr + proc.stdout)}")
    return result


# --------------------------------------------------------------------------- ours
def ours_command(args: argparse.Namespace) -> list[str]:
    """bench_env's command line for our side: every preset, --full, each (preset, W)
    in its own subprocess (bench_env's own); one host device when pinned to a core."""
    devices = 1 if args.our_core >= 0 else args.devices
    return [sys.executable, "-m", "scripts.bench_env", "--preset", ",".join(args.presets),
            "--full", "--json", "--no-phases", "--worlds", ",".join(map(str, args.worlds)),
            "--ticks", str(args.our_ticks), "--repeats", str(args.repeats),
            "--devices", str(devices), "--seed", str(args.seed)]


def pin(core: int):
    """preexec_fn that pins the child (and so its own children) to one CPU; None
    for core -1 or where the OS cannot."""
    if core < 0 or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, {core})


def run_ours(args: argparse.Namespace) -> tuple[list[dict], str]:
    """bench_env for every preset and W (`ours_command`), pinned to --our-core."""
    root = Path(__file__).resolve().parent.parent
    cmd = ours_command(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root,
                          preexec_fn=pin(args.our_core))
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError:
        err = tail(proc.stderr + proc.stdout, 12)
        return ([dict(preset=p, worlds=w, error=err) for p in args.presets for w in args.worlds],
                " ".join(cmd[1:]))
    return out["rows"], " ".join(cmd[1:])


# What one tick does on each side (docs/performance.md, "nmmo2 against nmmo 2.1.2,
# equal work"): printed under the table so a ratio is never read without it.
PEER_WORK = ("nmmo 2.1.2 Default + IMMORTAL: 160x160 map (128x128 playable), 128 agents, "
             "128 NPCs (refilled), items, equipment, consumables, 5 professions and their "
             "resource tiles, NPC loot, market (Sell/Buy), Give/GiveGold, communication "
             "tokens, the default task's reward per agent; IMMORTAL skips the agents' food "
             "and water, healing and starving, the damage they receive and NPCs chasing or "
             "attacking them (no A*), and no agent dies or drops loot; observations of up "
             "to 100 entity rows with masks for every action head; random valid actions for "
             "every head (sampling not timed)")
OUR_WORK = {
    "default": ("v1.3's world: 80x80 map, 128 agents, foraging, combat, 7 skills; "
                "no NPCs, items or professions; 16 entity rows; random valid move, style "
                "and target"),
    "nmmo2": ("nmmo 2.x's world (docs/rules.md §10.10): 160x160 map (128x128 playable), "
              "128 agents, 128 NPC slots (refilled, greedy steps), 12 inventory slots, gold, "
              "equipment, consumables, loot, Give and GiveGold, 5 professions and their "
              "resource tiles; v1.3's foraging, starvation and combat for every agent; no "
              "market or communication; 16 entity rows; random valid move, style, target, "
              "use, destroy and gifts"),
    "small": "v1.3's rules on a 32x32 map with 16 agents (a test preset)",
    "large": "v1.3's rules on a 256x256 map with 1,024 agents",
}


def work_lines(presets: list[str]) -> list[str]:
    """One line per side: what a timed tick simulates."""
    return [f"work, nmmo: {PEER_WORK}"] + [f"work, nmmo-jax {p} (--full: every slot refilled "
                                          f"next tick): {OUR_WORK[p]}" for p in presets]


# --------------------------------------------------------------------------- driver
def machine() -> dict:
    cpu = cpu_model()
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "?"

    return dict(cpu=cpu, cores=os.cpu_count(), cores_allowed=allowed,
                date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                python=platform.python_version(), jax=version("jax"),
                nmmo_jax=version("nmmo-jax"), os=platform.platform())


def load() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    mach = machine()
    load_before = load()
    if load_before is not None and load_before > 0.5:
        log(f"warning: 1-minute load average is {load_before:.2f}: other work is running and "
            "will slow both sides")
    t = time.perf_counter()
    peers, ours_runs, round_rows, ours, ours_cmd = [], [], [], [], ""
    peer_s = ours_s = 0.0
    try:
        peer_versions, build_s = ensure_peer(args, log)
        log(f"peer venv: {args.venv} (nmmo {peer_versions['nmmo']}, Python "
            f"{peer_versions['python']}, numpy {peer_versions['numpy']})"
            + (f", built in {build_s:.0f} s" if build_s else ", reused"))
        for i in range(args.rounds):  # the two sides take turns
            label = f"round {i + 1}/{args.rounds}: " if args.rounds > 1 else ""
            t_peer = time.perf_counter()
            peers.append(run_peer(args))
            peer_s += time.perf_counter() - t_peer
            log(f"{label}nmmo {PEER_VERSION}: {peers[-1]['ms_per_tick']:.1f} ms per tick, "
                f"{peers[-1]['live_steps_per_s']:,.0f} agent-steps/s")
            if not args.skip_ours:
                t_ours = time.perf_counter()
                ours, ours_cmd = run_ours(args)
                ours_s += time.perf_counter() - t_ours
                log(f"{label}nmmo-jax: {','.join(args.presets)} at W = "
                    f"{','.join(map(str, args.worlds))} done")
            ours_runs.append(ours)
            round_rows.append(rows_for(peers[-1], ours))
    except PeerError as e:
        log(f"bench_peer: cannot measure nmmo {PEER_VERSION}: {e}")
        return 2
    rows = median_rows(round_rows) if args.rounds > 1 else round_rows[0]
    load_after = load()
    total_s = time.perf_counter() - t
    if args.json:
        print(json.dumps(dict(machine=mach, load_before=load_before, load_after=load_after,
                              peer_venv=str(args.venv), peer_versions=peer_versions,
                              peer_build_s=build_s, peer=peers[0], ours_command=ours_cmd,
                              ours_core=args.our_core, ours=ours_runs[0], rows=rows,
                              rounds=[dict(peer=p, ours=o, rows=r) for p, o, r
                                      in zip(peers, ours_runs, round_rows)],
                              work=work_lines(args.presets),
                              seconds=dict(peer=peer_s, ours=ours_s, total=total_s)),
                         indent=1))
        return 0 if all("error" not in r for r in rows) else 1
    loads = "/".join("?" if x is None else f"{x:.2f}" for x in (load_before, load_after))
    print(f"machine: {mach['cpu']}, {mach['cores']} cores ({mach['cores_allowed']} allowed); "
          f"{mach['date']}; load avg before/after {loads}")
    peer = peers[0]
    print(f"versions: nmmo-jax {mach['nmmo_jax']} (Python {mach['python']}, jax {mach['jax']}); "
          f"nmmo {peer['nmmo']} (Python {peer['python']}, numpy {peer['numpy']})")
    print(f"nmmo: Default + IMMORTAL, {peer['agents']} agents, {peer['map_size']}^2 map, "
          f"{peer['ticks']} timed env.step calls after {peer['warmup']} warm-up, pinned to CPU "
          f"{peer['core']}; per tick median {peer['ms_median']:.1f} ms, p90 "
          f"{peer['ms_p90']:.1f} ms, first/last 100 ticks {peer['ms_first100']:.1f}/"
          f"{peer['ms_last100']:.1f} ms; random action sampling {peer['sample_ms_per_tick']:.1f} "
          f"ms/tick (not counted)" + (" (round 1)" if args.rounds > 1 else ""))
    if args.rounds > 1:
        print(f"{args.rounds} rounds, the sides taking turns: nmmo ms per tick "
              + " / ".join(f"{p['ms_per_tick']:.1f}" for p in peers)
              + "; each figure below is the median over the rounds, each ratio the median of "
              "the rounds' own (their range in brackets)")
    if ours:
        where = (f"pinned to CPU {args.our_core}, one XLA device" if args.our_core >= 0
                 else f"not pinned, up to {args.devices} host devices")
        print(f"nmmo-jax: {', '.join(args.presets)} preset{'s' * (len(args.presets) > 1)}, "
              f"--full, {where}, {args.our_ticks}-tick scans, median of {args.repeats} calls, "
              "sampling inside the jitted loop (counted)")
    print(format_table(rows))
    for line in work_lines(args.presets if ours else []):
        print(line)
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
