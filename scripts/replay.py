"""Record a policy on one world and write a self-contained HTML replay (plus optional GIF / PNGs).

    python -m scripts.replay --policy random --ticks 1000 --out replay.html
    python -m scripts.replay --policy runs/ppo --ticks 500 --out replay.html --gif replay.gif --png-every 100

--policy is `random`, `forager`, `combat` (policies/scripted.py), `pretrained`
(the checkpoint under policies/pretrained/) or a checkpoint file / run
directory written by `python -m train`. Open the HTML file in any browser: it
needs no network and no install.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import nmmo_jax as nj

SCRIPTED = ("random", "forager", "combat")
PRESETS = {"small": nj.Config.small, "default": nj.Config, "large": nj.Config.large}


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m scripts.replay", description=__doc__.splitlines()[0])
    p.add_argument("--policy", required=True, help="random | forager | combat | pretrained | CHECKPOINT")
    p.add_argument("--ticks", type=int, default=1000, help="ticks to record (default 1000)")
    p.add_argument("--out", type=Path, default=Path("replay.html"), help="HTML file to write")
    p.add_argument("--gif", type=Path, help="also write an animated GIF here")
    p.add_argument("--png-every", type=int, metavar="K", help="also write a PNG of every K-th tick")
    p.add_argument("--png-dir", type=Path, help="folder for the PNGs (default: OUT's name + _frames)")
    p.add_argument("--preset", choices=tuple(PRESETS), help="world preset for scripted policies "
                   "(default: default; a checkpoint brings its own)")
    p.add_argument("--seed", type=int, default=0, help="world and policy seed")
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
        policy, ckpt_config, label = load_policy(args.policy)
    except PolicyError as e:
        parser.error(str(e))
    if ckpt_config is not None and args.preset is not None:
        print(f"replay: --preset {args.preset} ignored: the checkpoint brings its own world config",
              file=sys.stderr)
    config = ckpt_config or PRESETS[args.preset or "default"]()

    from viz import record, write_gif, write_html, write_pngs
    start = time.time()
    progress = lambda done, total: print(f"recorded {done}/{total} ticks ({time.time() - start:.1f} s)",
                                         file=sys.stderr)
    rec = record(policy, config, args.ticks, args.seed, name=label, progress=progress)
    out = write_html(rec, args.out)
    life = rec.mean_lifetime[-1]
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {rec.num_frames} frames; "
          f"{int(rec.alive[-1])} alive at the end, {int(rec.lives_ended[-1])} lives ended, "
          f"mean lifetime {life:.1f})")
    if args.gif:
        print(f"wrote {write_gif(rec, args.gif, args.scale, args.fps)}")
    if args.png_every:
        folder = args.png_dir or args.out.with_name(args.out.stem + "_frames")
        paths = write_pngs(rec, folder, args.png_every, args.scale)
        print(f"wrote {len(paths)} PNGs to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
