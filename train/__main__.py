"""`python -m train`: train.run.cli's command line, after the settings that must precede JAX."""
import sys

from .distribute.backend import use_every_core

# On CPU, one XLA host device per core, so the worlds can be split over all cores
# (docs/performance.md, "Using every core"); nothing on GPU/TPU. Set before JAX
# starts; a value given by the user wins.
use_every_core()

try:
    from .distribute.coordinate import join  # noqa: E402
    join(sys.argv[1:])  # a process of a multi-process run joins it before JAX starts
    from .run.cli import main  # noqa: E402
except KeyboardInterrupt:  # Ctrl-C while JAX loads: nothing started yet
    sys.exit(130)
sys.exit(main())
