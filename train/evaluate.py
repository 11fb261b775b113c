"""`python -m train.evaluate RUN_DIR_OR_CHECKPOINT|pretrained`: train.evaluation.report's CLI."""
import sys

from .evaluation.report import main

if __name__ == "__main__":
    sys.exit(main())
