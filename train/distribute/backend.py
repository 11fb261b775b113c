"""Which backend JAX will run on, known before JAX starts.

Some settings are for CPUs only and must be made before JAX creates its
backends: one XLA host device per core (`--xla_force_host_platform_device_count`,
docs/performance.md "Using every core") and binding the processes of one run
to disjoint shares of the cores (train.distribute.supervise.core_share). On a
GPU or TPU they only get in the way, so `python -m train`,
train.distribute.supervise and scripts.bench_device ask `platform()` first.
It reads nothing JAX has set up (JAX is not imported here), only what
decides JAX's choice: `JAX_PLATFORMS` if given, else whether an accelerator
plugin is installed and its hardware is visible, as JAX itself checks.
"""
from __future__ import annotations

import importlib.util
import os
from typing import MutableMapping

HOST_DEVICES_FLAG = "--xla_force_host_platform_device_count"

# JAX_PLATFORMS names that stand for a GPU (jax._src.xla_bridge._platform_aliases).
GPU_NAMES = ("cuda", "rocm", "oneapi", "gpu")

# (platform, plugin modules any of which may be installed, device files of which
# one must exist; none listed: the plugin alone decides). In JAX's order of
# preference. The NVIDIA files are those jax._src.hardware_utils checks: without
# them JAX skips its CUDA plugin and runs on the CPU.
ACCELERATORS = (
    ("tpu", ("libtpu",), ()),
    ("gpu", ("jax_cuda12_plugin", "jax_cuda13_plugin"),
     ("/dev/nvidia0", "/dev/nvidiactl", "/dev/dxg")),
    ("gpu", ("jax_rocm7_plugin",), ("/dev/kfd", "/dev/dxg")),
)


def platform() -> str:
    """"cpu", "gpu" or "tpu" (or another name JAX_PLATFORMS gives): the backend
    JAX's default device will be on in this process. The first entry of
    JAX_PLATFORMS if set ("cuda"/"rocm" count as "gpu"); else the first
    installed accelerator plugin whose hardware is visible; else "cpu".
    Does not import JAX; JAX_PLATFORMS=cpu forces the CPU settings."""
    chosen = os.environ.get("JAX_PLATFORMS", "").split(",")[0].strip().lower()
    if chosen:
        return "gpu" if chosen in GPU_NAMES else chosen
    for name, plugins, files in ACCELERATORS:
        if any(importlib.util.find_spec(p) is not None for p in plugins) and (
                not files or any(os.path.exists(f) for f in files)):
            return name
    return "cpu"


def use_every_core(environ: MutableMapping[str, str] = os.environ) -> None:
    """On CPU, add one XLA host device per core this process may use to
    XLA_FLAGS in `environ`, so the worlds can be split over all cores; a count
    already given there wins. Nothing on an accelerator. Call before JAX
    creates its backends (the flag is read then)."""
    if platform() != "cpu" or HOST_DEVICES_FLAG[2:] in environ.get("XLA_FLAGS", ""):
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    environ["XLA_FLAGS"] = (environ.get("XLA_FLAGS", "") +
                            f" {HOST_DEVICES_FLAG}={cores or 1}").strip()
