"""`python -m train.export RUN_DIR_OR_CHECKPOINT OUT.npz`: train.run.policy's command line."""
import sys

from .run.policy import main

if __name__ == "__main__":
    sys.exit(main())
