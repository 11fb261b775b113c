import os
import sys

# One XLA host device per CPU core, so the worlds can be split over all cores
# (docs/performance.md, "Using every core"). Set before JAX starts;
# it changes nothing on GPU/TPU, and a value given by the user wins.
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_force_host_platform_device_count={cores or 1}").strip()

try:
    from .coordinate import join  # noqa: E402
    join(sys.argv[1:])  # a process of a multi-process run joins it before JAX starts
    from .cli import main  # noqa: E402
except KeyboardInterrupt:  # Ctrl-C while JAX loads: nothing started yet
    sys.exit(130)
sys.exit(main())
