"""Store the scripted yardsticks' rows of the default run's closing evaluation
in train/yardsticks/, so a fresh clone's `python -m train` does not spend its
minutes on them. Rerun after any change to the game or the evaluation code
(a stale file is ignored, never used):

    python -m scripts.ship_yardsticks [--preset default] [--worlds N]
"""
from __future__ import annotations

import argparse
import shutil

from train.config import TrainConfig
from train.evaluate import EVAL_SEED, SHIPPED_DIR, yardsticks


def main(argv: list[str] | None = None) -> None:
    defaults = TrainConfig()
    p = argparse.ArgumentParser(prog="python -m scripts.ship_yardsticks",
                                description=__doc__.splitlines()[0])
    p.add_argument("--preset", default=defaults.preset)
    p.add_argument("--worlds", type=int, default=defaults.eval_worlds)
    p.add_argument("--clear", action="store_true", help="remove the stored rows first")
    args = p.parse_args(argv)
    tc = TrainConfig(preset=args.preset, eval_worlds=args.worlds)
    if args.clear:
        shutil.rmtree(SHIPPED_DIR, ignore_errors=True)
    yardsticks(tc.env_config, tc.eval_ticks, tc.eval_worlds, EVAL_SEED, tc.eval_warmup,
               cache_dir=SHIPPED_DIR)
    print(f"stored in {SHIPPED_DIR}: {sorted(f.name for f in SHIPPED_DIR.glob('*.json'))}")


if __name__ == "__main__":
    main()
