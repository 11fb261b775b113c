"""Export the policy of a run: its parameters alone, in a small file.

    python -m train.export RUN_DIR_OR_CHECKPOINT OUT.npz

The file (a few hundred KB, against a run checkpoint's MBs of world state)
holds the parameters and the TrainConfig; `train.checkpoint.load_policy`,
`python -m train.evaluate` and `scripts/replay.py --policy` read it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .checkpoint import CheckpointError, export_policy, read


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.export", description=__doc__.splitlines()[0])
    p.add_argument("source", type=Path, help="run directory or checkpoint file")
    p.add_argument("out", type=Path, help="policy file to write (.npz)")
    args = p.parse_args(argv)
    try:
        path = export_policy(args.source, args.out)
        header, _ = read(path)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB, update {header['update']}, "
          f"preset {header['train_config']['preset']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
