"""Shared fixtures: one jitted step/reset per config for the whole session."""
from __future__ import annotations

import gc
import os
import re
import time
import warnings
from pathlib import Path

# Compiling is most of the suite's time; a persistent XLA cache lets a second
# run (and the subprocesses tests start) load programs instead. Every program
# is kept, however quick to compile: the suite compiles about two thousand
# small ones (eager ops, scene helpers), and loading them beats compiling
# them again. The two pytest-xdist workers share it: a program one of them is
# still writing reads as a warning and is compiled again, never as a wrong one.
# Set before jax is imported; NMMO_JAX_TEST_JIT_CACHE=0 turns it off.
if os.environ.get("NMMO_JAX_TEST_JIT_CACHE", "1") != "0":
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                          str(Path.home() / ".cache" / "nmmo-jax" / "jit-tests"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.systems.skills import start_xp, xp_table

# Compiled once per (config, shapes) for the whole test session: the library's own
# jitted functions, so tests and the code they call share one cache. The game's
# numbers are a runtime argument (`jit_step(key, state, actions, config, params)`):
# one compiled program serves every value; params=None (v1.3's) is another.
jit_step = nj.jit_step
jit_reset = nj.jit_reset
SCENE = nj.Config.small(spawn_per_tick=0)  # hand-built scenes: nobody spawns


def xp_for(level: int) -> int:
    return int(xp_table()[level - 1])


def scene(agents: list[dict], tiles: dict | None = None, config: nj.Config = SCENE,
          fill: int = nj.GRASS, params: nj.Params | None = None) -> nj.State:
    """A state on an all-`fill` map with `tiles` {(r, c): type} and the given agents.

    Each agent dict names its slot and pos and may override any Agents field
    (plus `levels={skill_index: level}`); others start fresh and not immune
    (the start levels of `params`, default v1.3's, with health, food and water 10).
    """
    grid = np.full((config.map_size, config.map_size), fill, np.int8)
    for (r, c), kind in (tiles or {}).items():
        grid[r, c] = kind
    state = nj.initial_state(jnp.asarray(grid), config)
    ag = jax.tree.map(np.array, state.agents)
    xp0 = np.asarray(start_xp(params if params is not None else nj.default_params(config)))
    for spec in agents:
        spec = dict(spec)
        i = spec.pop("slot")
        ag.alive[i] = True
        ag.pos[i] = spec.pop("pos")
        ag.xp[i] = xp0
        for skill, lvl in spec.pop("levels", {}).items():
            ag.xp[i, skill] = xp_for(lvl)
        ag.health[i], ag.food[i], ag.water[i] = 10, 10, 10
        for name, value in spec.items():
            getattr(ag, name)[i] = value
    return state.replace(agents=jax.tree.map(jnp.asarray, ag))


def act(config: nj.Config = SCENE, move=None, style=None, target=None) -> nj.Actions:
    """Noop actions with {slot: value} overrides."""
    a = config.num_agents
    arrays = [np.zeros(a, np.int32), np.zeros(a, np.int32), np.arange(a, dtype=np.int32)]
    for array, spec in zip(arrays, (move, style, target)):
        for i, v in (spec or {}).items():
            array[i] = v
    return nj.Actions(*map(jnp.asarray, arrays))


def run(state: nj.State, actions: nj.Actions | None = None, seed: int = 0,
        config: nj.Config = SCENE, params: nj.Params | None = None):
    """One jitted step with the game's numbers `params` (None: v1.3's);
    returns (obs, state, reward, done, info)."""
    return jit_step(jax.random.PRNGKey(seed), state, actions or act(config), config, params)


@pytest.fixture(autouse=True, scope="module")
def release_compiled_programs():
    """Drop every compiled program after each test module. XLA:CPU maps each
    executable's code into a few memory regions of its own; a session that kept
    the whole suite's programs crossed Linux's vm.max_map_count (65,530 regions)
    and died of a segmentation fault near its end. A later module that needs a
    program again loads it from the persistent cache set above."""
    yield
    jax.clear_caches()
    gc.collect()


@pytest.fixture(scope="session")
def small():
    return nj.Config.small()


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray (2 CPUs) for the whole session, shut down at its end; its
    workers inherit the compilation cache set above."""
    ray = pytest.importorskip("ray")
    with warnings.catch_warnings():  # Ray starts its processes by fork + exec: safe
        warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
        ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


def wait_for(log: Path, pattern: str, timeout: float = 900) -> re.Match:
    """The first match of `pattern` in the growing file `log`, polled until `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text())
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not in {log.read_text()[-3000:]}")
