"""Environment throughput of two git revisions, side by side in one run.

    python -m scripts.bench_revisions 80f6e1c HEAD
    python -m scripts.bench_revisions 80f6e1c WORKTREE --worlds 1,64 --rounds 3
    python -m scripts.bench_revisions 80f6e1c WORKTREE --new-args="--params per-world"
    python -m scripts.bench_revisions HEAD WORKTREE --preset nmmo2 --worlds 16 --rounds 21 \
        --same-process --args="--full --chunk 4"

This host's speed drifts by up to 2x within an hour, so two benchmark runs an
hour apart cannot tell a change from the weather. Here each revision is
checked out into a temporary git worktree (`WORKTREE` means this checkout as
it is, uncommitted edits included) and `scripts.bench_env` runs in each, in
turn, `--rounds` times per world count; the table gives each revision's median
agent-slot steps/s and the ratio new / old. Both sides run the benchmark code
of their own revision, so it measures what a user of that revision got.

`--same-process` is for changes of a few percent, which rounds a minute
apart cannot resolve on a drifting host: one process, pinned to one core,
imports each revision's `scripts.bench_env` in turn (the project's modules
dropped from `sys.modules` between them, so each revision's functions keep
their own code), compiles each one's full tick (`prepare`, `compile`), and
then times their calls taking turns `--rounds` times per world count. Each
round pairs one call of each, so the host's drift reaches both alike; the
table gives each revision's median and the median of the paired ratios,
and an A/A (one revision against itself) shows the noise of the hour.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THIS_CHECKOUT = "WORKTREE"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", help="the revision to compare against (a commit, tag or branch)")
    p.add_argument("new", help=f"the revision to measure, or {THIS_CHECKOUT} for this checkout")
    p.add_argument("--preset", default="default")
    p.add_argument("--worlds", default="1,64", help="comma list of world counts W")
    p.add_argument("--rounds", type=int, default=3, help="times each revision runs each case")
    p.add_argument("--new-args", default="", help="extra scripts.bench_env flags for the new "
                                                  "revision only (e.g. \"--params per-world\")")
    p.add_argument("--args", default="", help="extra scripts.bench_env flags for both "
                                              "revisions (e.g. \"--full --chunk 4\")")
    p.add_argument("--same-process", action="store_true",
                   help="both revisions in one process on one core, their calls taking turns "
                        "(rounds are then calls, not processes: use 15 or more)")
    p.add_argument("--worker", nargs=2, metavar="TREE", help=argparse.SUPPRESS)  # same-process
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error(f"--rounds must be at least 1, got {args.rounds}")
    try:
        args.worlds = [int(w) for w in args.worlds.split(",")]
    except ValueError:
        p.error(f"--worlds must be a comma list of integers, got {args.worlds!r}")
    if min(args.worlds) < 1:
        p.error(f"--worlds must all be at least 1, got {args.worlds}")
    return args


def commit_of(rev: str) -> str:
    """The full hash of `rev`; a one-line error if git does not know it."""
    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"bench_revisions: {rev!r} is not a commit of {ROOT}")
    return done.stdout.strip()


def bench_env_argv(args: argparse.Namespace, preset: str, worlds: int, new: bool) -> list[str]:
    """The scripts.bench_env flags of one revision's case (--args, and for the new
    revision --new-args)."""
    extra = args.args.split() + (args.new_args.split() if new else [])
    return ["--preset", preset, "--worlds", str(worlds), "--no-phases", *extra]


def bench(tree: Path, case_argv: list[str]) -> float:
    """Agent-slot steps/s of `scripts.bench_env` run from `tree` on one case
    (case_argv: `bench_env_argv`)."""
    env = dict(os.environ, PYTHONPATH=str(tree))  # that tree's packages, not the installed ones
    done = subprocess.run([sys.executable, "-m", "scripts.bench_env", "--json", *case_argv],
                          cwd=tree, env=env, capture_output=True, text=True)
    try:
        row = json.loads(done.stdout)["rows"][0]
        return float(row["slot_steps_per_s"])
    except (ValueError, KeyError, IndexError) as err:
        raise SystemExit(f"bench_revisions: bench_env failed in {tree}: "
                         f"{(done.stderr or done.stdout).strip()[-300:]}") from err


PROJECT_PACKAGES = ("nmmo_jax", "scripts", "policies", "train", "envs", "viz")


def load_bench_env(tree: Path):
    """`scripts.bench_env` of the checkout at `tree`, with that checkout's nmmo_jax:
    the project's modules already imported (another revision's) are dropped
    from sys.modules first; functions imported before keep their own code."""
    import importlib
    for name in list(sys.modules):
        if name.split(".")[0] in PROJECT_PACKAGES:
            del sys.modules[name]
    sys.path.insert(0, str(tree))
    try:
        module = importlib.import_module("scripts.bench_env")
    finally:
        sys.path.remove(str(tree))
    if not Path(module.__file__).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"bench_revisions: imported {module.__file__}, not {tree}'s bench_env")
    if not hasattr(module, "prepare"):
        raise SystemExit(f"bench_revisions: {tree}'s scripts/bench_env.py has no prepare(), "
                         "which --same-process needs; compare without it")
    return module


def same_process_worker(args: argparse.Namespace) -> None:
    """--worker OLD NEW: both trees' cases compiled in this process (one core, one
    device: a `--devices` in --args is overridden), their calls taking turns;
    prints one JSON object {W: [[old s, new s] per round]}."""
    from scripts.bench_env import pin_cores  # this checkout's; jax is not started by it
    pin_cores(1)  # one core: XLA would use an idle second one
    trees = [Path(t) for t in args.worker]
    seconds = {}
    for w in args.worlds:
        calls = []
        for i, tree in enumerate(trees):
            be = load_bench_env(tree)
            case_args = be.parse_args(bench_env_argv(args, args.preset, w, new=i == 1)
                                      + ["--devices", "1"])
            case = be.prepare(case_args, args.preset, w)
            _, call = case.compile(case.full_tick)
            call(0)  # warm
            calls.append(call)
        rounds = []
        for r in range(args.rounds):
            pair = [0.0, 0.0]
            for i in ((0, 1) if r % 2 == 0 else (1, 0)):  # alternate who goes first
                pair[i] = calls[i](r + 1)[0]
            rounds.append(pair)
        seconds[w] = rounds
    print(json.dumps(seconds), flush=True)


def same_process(args: argparse.Namespace, trees: list[Path]) -> dict[int, list[list[float]]]:
    """Run the --same-process worker on trees (old, new); its seconds per round."""
    done = subprocess.run([sys.executable, "-m", "scripts.bench_revisions", args.old, args.new,
                           "--worker", *map(str, trees), "--preset", args.preset,
                           "--worlds", ",".join(map(str, args.worlds)),
                           "--rounds", str(args.rounds), f"--args={args.args}",
                           f"--new-args={args.new_args}"],
                          cwd=ROOT, capture_output=True, text=True)
    try:
        rows = json.loads(done.stdout.strip().splitlines()[-1])
        return {int(w): rounds for w, rounds in rows.items()}
    except (ValueError, IndexError) as err:
        raise SystemExit("bench_revisions: the same-process worker failed: "
                         f"{(done.stderr or done.stdout).strip()[-300:]}") from err


def paired_table(seconds: dict[int, list[list[float]]], names: list[str]) -> str:
    """Markdown table: per W, each revision's median ms per timed call and the
    median over rounds of old / new, the new revision's speed relative to the old."""
    old, new = names
    out = [f"| W | {old} ms per call | {new} ms per call | {new} speed (median of old / new) |",
           "|---:|---:|---:|---:|"]
    for w, rounds in seconds.items():
        a, b = (1e3 * statistics.median(r[i] for r in rounds) for i in (0, 1))
        ratio = statistics.median(r[0] / r[1] for r in rounds)
        out.append(f"| {w} | {a:,.2f} | {b:,.2f} | {ratio:.3f} |")
    return "\n".join(out)


def table(worlds: list[int], speeds: list[dict[int, list[float]]], names: list[str]) -> str:
    """Markdown table: per W, each revision's median steps/s (speeds: old's, new's
    readings by W) and new / old."""
    old, new = names
    out = [f"| W | {old} agent-steps/s | {new} agent-steps/s | {new} / {old} |",
           "|---:|---:|---:|---:|"]
    for w in worlds:
        a, b = (statistics.median(side[w]) for side in speeds)
        out.append(f"| {w} | {a:,.0f} | {b:,.0f} | {b / a:.2f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        same_process_worker(args)
        return
    names = [args.old, args.new]
    with tempfile.TemporaryDirectory(prefix="bench_revisions_") as tmp:
        trees = {}
        for name in names:
            if name in trees:  # an A/A: one tree, measured twice
                continue
            if name == THIS_CHECKOUT:
                trees[name] = ROOT
                continue
            trees[name] = Path(tmp) / commit_of(name)[:12]
            subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(trees[name]),
                            commit_of(name)], cwd=ROOT, check=True)
        try:
            if args.same_process:
                seconds = same_process(args, [trees[n] for n in names])
            else:
                speeds = [{w: [] for w in args.worlds} for _ in names]  # old's, new's
                for r in range(args.rounds):
                    for w in args.worlds:
                        for i in ((0, 1) if r % 2 == 0 else (1, 0)):  # alternate who goes first
                            case = bench_env_argv(args, args.preset, w, new=i == 1)
                            speeds[i][w].append(bench(trees[names[i]], case))
                            print(f"  round {r + 1} W={w} {names[i]}: {speeds[i][w][-1]:,.0f}",
                                  file=sys.stderr, flush=True)
        finally:
            for name, tree in trees.items():
                if tree != ROOT:
                    subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    flags = (f"; both with {args.args}" if args.args else "") + (
        f"; {args.new} with {args.new_args}" if args.new_args else "")
    if args.same_process:
        print(f"preset {args.preset}, random masked play, one process on one core, "
              f"{args.rounds} rounds of paired calls{flags}")
        print(paired_table(seconds, names))
    else:
        print(f"preset {args.preset}, random masked play, median of {args.rounds} alternating "
              f"rounds{flags}")
        print(table(args.worlds, speeds, names))


if __name__ == "__main__":
    main()
