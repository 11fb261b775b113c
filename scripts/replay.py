"""Record a policy on one world and write a self-contained HTML replay (plus optional GIF / PNGs).

    python -m scripts.replay --policy random --ticks 1000 --out replay.html
    python -m scripts.replay --policy runs/ppo --ticks 500 --out replay.html --gif replay.gif --png-every 100
    python -m scripts.replay --policy combat --preset small --params melee_damage=5,90 --params food_decay=2

--policy is `random`, `forager`, `combat` (policies/scripted.py), `pretrained`
(the checkpoint under policies/pretrained/) or a checkpoint file / run
directory written by `python -m train`. --params FIELD=VALUE (repeatable)
changes one of the game's numbers from v1.3's (a field of nmmo_jax.Params;
"BASE,PER_LEVEL" for a damage pair). Open the HTML file in any browser: it
needs no network and no install.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable

import nmmo_jax as nj
from envs.spaces import check_seed

SCRIPTED = ("random", "forager", "combat")


class PolicyError(ValueError):
    """--policy names nothing that can be loaded."""


def pretrained_path() -> Path:
    """What `--policy pretrained` loads: policies/pretrained/default.npz (see its README)."""
    import policies
    return Path(policies.__file__).resolve().parent / "pretrained" / "default.npz"


def scripted_policy(name: str) -> Callable:
    """policies.scripted's `name` (or `name_policy`) function; PolicyError if it is not there."""
    from policies import scripted
    for attr in (name, f"{name}_policy"):
        fn = getattr(scripted, attr, None)
        if callable(fn):
            return fn
    raise PolicyError(f"--policy {name}: policies/scripted.py has no function {name!r} or "
                      f"'{name}_policy' (not written yet?)")


def load_policy(spec: str) -> tuple[Callable, nj.Config | None, str]:
    """(policy_fn, the checkpoint's env Config or None, label) for a --policy value."""
    if spec in SCRIPTED:
        return scripted_policy(spec), None, spec
    path = pretrained_path() if spec == "pretrained" else Path(spec)
    if not path.exists():
        if spec == "pretrained":
            raise PolicyError(f"--policy pretrained: no pretrained checkpoint at {path}")
        raise PolicyError(f"--policy {spec!r}: no such checkpoint file or run directory "
                          f"(or name one of {', '.join(SCRIPTED)}, pretrained)")
    from train import checkpoint
    try:
        checkpoint.read(path)  # a missing, empty or corrupt checkpoint fails here, before any model is built
        fn, config = checkpoint.load_policy(path)
    except (ValueError, FileNotFoundError, OSError, KeyError) as e:
        raise PolicyError(f"--policy {spec!r}: cannot load this checkpoint: {e}") from e
    return fn, config, "pretrained" if spec == "pretrained" else path.name


def output_path(value: str, flag: str, folder: bool = False) -> Path:
    """Where a file (or, with folder, a folder) will be written; ValueError naming the flag.

    Checked before any work: not empty, not a directory where a file is
    meant (nor a file where a folder is), and its nearest existing parent a
    directory this process may write in (missing folders are created later).
    """
    if not value.strip():
        raise ValueError(f"{flag}: the path is empty")
    path = Path(value)
    if path.is_dir() and not folder:
        raise ValueError(f"{flag} {value}: is a directory; name the file to write")
    if path.exists() and not path.is_dir() and folder:
        raise ValueError(f"{flag} {value}: is a file; name a folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{flag} {value}: not writable")
    parent = (path if folder else path.parent).absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{flag} {value}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {value}: cannot write in {parent}")
    return path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m scripts.replay", description=__doc__.splitlines()[0])
    p.add_argument("--policy", required=True, help="random | forager | combat | pretrained | CHECKPOINT")
    p.add_argument("--ticks", type=int, default=1000, help="ticks to record (default 1000)")
    p.add_argument("--out", default="replay.html", help="HTML file to write")
    p.add_argument("--gif", help="also write an animated GIF here")
    p.add_argument("--png-every", type=int, metavar="K", help="also write a PNG of every K-th tick")
    p.add_argument("--png-dir", help="folder for the PNGs (default: OUT's name + _frames)")
    p.add_argument("--preset", choices=nj.Config.PRESETS, help="world preset for scripted policies "
                   "(default: default; a checkpoint brings its own)")
    p.add_argument("--seed", type=int, default=0, help="world and policy seed")
    p.add_argument("--params", action="append", default=[], metavar="FIELD=VALUE",
                   help="change one of the game's numbers (repeatable), e.g. food_decay=2 or "
                   "melee_damage=5,90 (fields: nmmo_jax/params.py)")
    p.add_argument("--scale", type=int, default=4, help="pixels per tile in the GIF and PNGs")
    p.add_argument("--fps", type=float, default=10.0, help="GIF frames per second")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("ticks", "png_every", "scale"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1 (got {value})")
    if not args.fps > 0:
        parser.error(f"--fps must be > 0 (got {args.fps})")
    try:
        check_seed(args.seed, "--seed")
        changes = nj.params.parse_assignments(args.params)
        args.out = output_path(args.out, "--out")
        if args.gif is not None:
            args.gif = output_path(args.gif, "--gif")
        if args.png_every:
            args.png_dir = output_path(args.png_dir or str(args.out.with_name(args.out.stem + "_frames")),
                                       "--png-dir", folder=True)
    except ValueError as e:
        parser.error(str(e))
    try:
        policy, ckpt_config, label = load_policy(args.policy)
    except PolicyError as e:
        parser.error(str(e))
    if ckpt_config is not None and args.preset is not None:
        print(f"replay: --preset {args.preset} ignored: the checkpoint brings its own world config",
              file=sys.stderr)
    config = ckpt_config or nj.Config.preset(args.preset or "default")
    try:  # values are checked against the world's config, known only now
        params = nj.default_params(config, **changes)
    except ValueError as e:
        parser.error(str(e))

    from viz import record, write_gif, write_html, write_pngs
    start = time.time()
    progress = lambda done, total: print(f"recorded {done}/{total} ticks ({time.time() - start:.1f} s)",
                                         file=sys.stderr)
    rec = record(policy, config, args.ticks, args.seed, name=label, progress=progress,
                 params=params)
    out = write_html(rec, args.out)
    life = rec.mean_lifetime[-1]
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {rec.num_frames} frames; "
          f"{int(rec.alive[-1])} alive at the end, {int(rec.lives_ended[-1])} lives ended, "
          f"mean lifetime {life:.1f})")
    if args.gif:
        print(f"wrote {write_gif(rec, args.gif, args.scale, args.fps)}")
    if args.png_every:
        paths = write_pngs(rec, args.png_dir, args.png_every, args.scale)
        print(f"wrote {len(paths)} PNGs to {args.png_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
