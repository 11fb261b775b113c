"""`python -m train`: fused PPO on nmmo-jax with logs, checkpoints and an evaluation.

This module reads the flags; train.run.loop runs the training, in this process
or (train.distribute) as one of several: launched here (--processes), started
by hand (--coordinator), or by Ray (--ray-workers/--ray-address)."""
from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from ..config import PRESETS, REPEATED_FIELDS, TrainConfig, setting_fields
from ..flags import flag
from . import checkpoint, loop
from .paths import output_path

EXIT_ERROR = 1  # the run diverged, or no checkpoint could be written
EXIT_USAGE = 2  # bad flags or a run that cannot start
# The repeatable flags (TrainConfig's tuple fields): (metavar, help).
REPEATED_HELP = {
    "params": ("FIELD=VALUE", "Change one of the game's numbers (a nmmo_jax.Params field, "
                              "docs/rules.md; a damage pair as FIELD=BASE,PER_LEVEL) for the "
                              "whole run and its closing evaluation; repeatable."),
    "randomize": ("FIELD=LO:HI", "Draw this field uniformly from LO..HI (a damage pair as "
                                 "FIELD=B1,P1:B2,P2) for each world at every world reset, the "
                                 "start and each --max-ticks replacement (so it needs "
                                 "--max-ticks > 0), training only; repeatable."),
}

OWN_HELP = {
    "init_from": {"metavar": "RUN", "help": "start from the policy of this run directory, "
                  "checkpoint or export (same model shapes), with fresh optimizer state, worlds "
                  "and update count: fine-tuning or a curriculum"},
}


def build_parser() -> argparse.ArgumentParser:
    """The flags: one per TrainConfig setting (not given: SUPPRESS, so that a resumed
    run can tell the flags given from its own settings) and the run's paths."""
    p = argparse.ArgumentParser(prog="python -m train", description=__doc__.splitlines()[0])
    for f in setting_fields():
        common = {"default": argparse.SUPPRESS, "help": f"(default: {f.default!r})"}
        if f.name in REPEATED_FIELDS:
            metavar, text = REPEATED_HELP[f.name]
            p.add_argument(flag(f.name), action="append", metavar=metavar,
                           default=argparse.SUPPRESS, help=text)
        elif f.type in ("bool", bool):
            p.add_argument(flag(f.name), action=argparse.BooleanOptionalAction, **common)
        elif f.name == "preset":
            p.add_argument(flag(f.name), choices=sorted(PRESETS), **common)
        else:
            kind = {"int": int, "float": float, "str": str}[str(f.type)]
            p.add_argument(flag(f.name), type=kind, **{"metavar": kind.__name__.upper()}
                           | common | OWN_HELP.get(f.name, {}))
    p.add_argument("--out", help="run directory (default runs/<timestamp>); it must be empty "
                                 "or new unless --overwrite")
    p.add_argument("--resume", help="continue the run in this directory from its newest valid "
                                    "checkpoint, with its own settings (flags given may change "
                                    "only the budget, --devices and where it runs)")
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh in a non-empty --out, deleting the run files there")
    p.add_argument("--no-eval", action="store_true", help="skip the final evaluation")
    return p


def parse(argv: list[str] | None) -> tuple[TrainConfig, argparse.Namespace]:
    """(TrainConfig, the other flags with args.out a Path); exits with a one-line
    error naming the flag for bad values, before any work."""
    p = build_parser()
    args = p.parse_args(argv)
    names = {f.name for f in setting_fields()}
    given = {k: v for k, v in vars(args).items() if k in names}
    try:
        if given.get("process_id"):  # a follower: the run's config and state come from process 0
            tc = TrainConfig.of(**given)
        elif args.resume is not None:
            if args.out is not None and Path(args.out) != Path(args.resume):
                raise ValueError("--out and --resume name different directories; "
                                 "--resume continues in place")
            args.out = resume_dir(args.resume)
            try:
                saved = checkpoint.config_of(checkpoint.load(args.out, set_aside=True))
            except checkpoint.CheckpointError as e:
                raise ValueError(f"--resume {args.resume}: {e}") from e
            tc = saved.resumed(given)
        else:
            tc = TrainConfig.of(**given)
            args.out = (output_path(args.out, "--out", folder=True) if args.out is not None
                        else Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
    except (ValueError, OSError) as e:
        p.error(str(e))
    return tc, args


def resume_dir(value: str) -> Path:
    """The run directory named by --resume; ValueError naming the flag."""
    path = Path(value)
    if not value.strip():
        raise ValueError("--resume: the path is empty")
    if not path.exists():
        raise ValueError(f"--resume {value}: no such run directory")
    if not path.is_dir():
        raise ValueError(f"--resume {value}: is a file; name the run directory holding it")
    return path


def main(argv: list[str] | None = None) -> int:
    tc, args = parse(argv)
    where = tc.placement
    if where.processes or where.ray_workers or where.ray_address:  # a supervisor of processes
        if where.processes:
            from ..distribute.supervise import launch
        else:
            from ..distribute.cluster import launch  # Ray is an optional extra
        return launch(tc, args.out.resolve(), ["--no-eval"] if args.no_eval else [],
                      resume=args.resume is not None, overwrite=args.overwrite)
    if where.coordinator:
        import jax
        if not jax.distributed.is_initialized():
            print("error: --coordinator: jax.distributed was not initialised (run it as "
                  "python -m train)", file=sys.stderr)
            return EXIT_USAGE
        if where.process_id:
            from ..distribute.group import follow
            return follow(tc)
    try:
        summary = loop.run(tc, args.out, resume=args.resume is not None,
                           evaluate=not args.no_eval, overwrite=args.overwrite)
    except (loop.RunError, checkpoint.CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:  # a second signal, one before the first chunk ended, or
        signum = getattr(e, "signum", signal.SIGINT)  # Ctrl-C in the evaluation
        print(f"{signal.Signals(signum).name}: stopped at once (nothing saved since the last "
              "checkpoint)", file=sys.stderr)
        return 128 + signum
    if summary["diverged"]:
        return EXIT_ERROR
    if summary["failed"] and not summary["written"]:
        print(f"error: no checkpoint could be written in {args.out / 'checkpoints'}",
              file=sys.stderr)
        return EXIT_ERROR
    if summary["interrupted"]:
        return 128 + signal.Signals[summary["interrupted"]]
    return 0


if __name__ == "__main__":
    sys.exit(main())
