"""`python -m train.tournament ENTRANT ENTRANT [...]`: train.evaluation.tournament's CLI."""
import sys

from .evaluation.tournament import main

if __name__ == "__main__":
    sys.exit(main())
