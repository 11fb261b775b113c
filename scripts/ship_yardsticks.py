"""Store the scripted yardsticks' rows of the default run's closing evaluation
in train/evaluation/yardsticks/, so a fresh clone's `python -m train` does not spend its
minutes on them. Rerun after any change to the game or the evaluation code,
and on the JAX version and backend the runs use (the rows are keyed by
`train.evaluation.cache.yardstick_key`: a stale file is ignored, never used):

    python -m scripts.ship_yardsticks [--preset default] [--worlds N] [--clear]
                                      [--ticks N] [--warmup N] [--dir DIR]

The rows are of v1.3's numbers (the default run's). --ticks, --warmup and
--dir (default train/evaluation/yardsticks/) are for trying it out small, e.g.
`--preset small --worlds 1 --ticks 5 --warmup 3 --dir /tmp/y`.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from train.config import TrainConfig
from train.evaluation.cache import SHIPPED_DIR, yardsticks
from train.evaluation.population import EVAL_SEED


def main(argv: list[str] | None = None) -> None:
    defaults = TrainConfig()
    p = argparse.ArgumentParser(prog="python -m scripts.ship_yardsticks",
                                description=__doc__.splitlines()[0])
    p.add_argument("--preset", default=defaults.preset)
    p.add_argument("--worlds", type=int, default=defaults.eval_worlds)
    p.add_argument("--ticks", type=int, default=defaults.eval_ticks)
    p.add_argument("--warmup", type=int, default=defaults.eval_warmup)
    p.add_argument("--dir", type=Path, default=SHIPPED_DIR, help="where to store the rows")
    p.add_argument("--clear", action="store_true", help="remove the stored rows first")
    args = p.parse_args(argv)
    tc = TrainConfig.of(preset=args.preset, eval_worlds=args.worlds, eval_ticks=args.ticks,
                        eval_warmup=args.warmup)
    if args.clear:
        shutil.rmtree(args.dir, ignore_errors=True)
    # shipped=False: read and write args.dir only (a row already there is kept).
    yardsticks(tc.env_config, tc.eval_ticks, tc.eval_worlds, EVAL_SEED, tc.eval_warmup,
               cache_dir=args.dir, shipped=False)
    print(f"stored in {args.dir}: {sorted(f.name for f in args.dir.glob('*.json'))}")


if __name__ == "__main__":
    main()
