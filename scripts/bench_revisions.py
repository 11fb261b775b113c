"""Environment throughput of two git revisions, side by side in one run.

    python -m scripts.bench_revisions 80f6e1c HEAD
    python -m scripts.bench_revisions 80f6e1c WORKTREE --worlds 1,64 --rounds 3
    python -m scripts.bench_revisions 80f6e1c WORKTREE --new-args="--params per-world"

This host's speed drifts by up to 2x within an hour, so two benchmark runs an
hour apart cannot tell a change from the weather. Here each revision is
checked out into a temporary git worktree (`WORKTREE` means this checkout as
it is, uncommitted edits included) and `scripts.bench_env` runs in each, in
turn, `--rounds` times per world count; the table gives each revision's median
agent-slot steps/s and the ratio new / old. Both sides run the benchmark code
of their own revision, so it measures what a user of that revision got.
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


def bench(tree: Path, preset: str, worlds: int, extra: list[str] = ()) -> float:
    """Agent-slot steps/s of `scripts.bench_env` run from `tree` on one case
    (`extra`: more bench_env flags)."""
    env = dict(os.environ, PYTHONPATH=str(tree))  # that tree's packages, not the installed ones
    done = subprocess.run(
        [sys.executable, "-m", "scripts.bench_env", "--json", "--preset", preset,
         "--worlds", str(worlds), "--no-phases", *extra],
        cwd=tree, env=env, capture_output=True, text=True)
    try:
        row = json.loads(done.stdout)["rows"][0]
        return float(row["slot_steps_per_s"])
    except (ValueError, KeyError, IndexError) as err:
        raise SystemExit(f"bench_revisions: bench_env failed in {tree}: "
                         f"{(done.stderr or done.stdout).strip()[-300:]}") from err


def table(worlds: list[int], speeds: dict[str, dict[int, list[float]]], names: list[str]) -> str:
    """Markdown table: per W, each revision's median steps/s and new / old."""
    old, new = names
    out = [f"| W | {old} agent-steps/s | {new} agent-steps/s | {new} / {old} |",
           "|---:|---:|---:|---:|"]
    for w in worlds:
        a, b = (statistics.median(speeds[n][w]) for n in names)
        out.append(f"| {w} | {a:,.0f} | {b:,.0f} | {b / a:.2f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    names = [args.old, args.new]
    with tempfile.TemporaryDirectory(prefix="bench_revisions_") as tmp:
        trees = {}
        for name in names:
            if name == THIS_CHECKOUT:
                trees[name] = ROOT
                continue
            trees[name] = Path(tmp) / commit_of(name)[:12]
            subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(trees[name]),
                            commit_of(name)], cwd=ROOT, check=True)
        try:
            speeds = {n: {w: [] for w in args.worlds} for n in names}
            for r in range(args.rounds):
                for w in args.worlds:
                    for n in (names if r % 2 == 0 else names[::-1]):  # alternate who goes first
                        extra = args.new_args.split() if n == args.new else []
                        speeds[n][w].append(bench(trees[n], args.preset, w, extra))
                        print(f"  round {r + 1} W={w} {n}: {speeds[n][w][-1]:,.0f}",
                              file=sys.stderr, flush=True)
        finally:
            for name, tree in trees.items():
                if tree != ROOT:
                    subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    print(f"preset {args.preset}, random masked play, median of {args.rounds} alternating rounds"
          + (f"; {args.new} with {args.new_args}" if args.new_args else ""))
    print(table(args.worlds, speeds, names))


if __name__ == "__main__":
    main()
