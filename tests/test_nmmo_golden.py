"""The v1.3 game bit for bit: every field of obs, state, reward, done and info,
every tick, equal to digests recorded from main before the game's numbers
became data (tests/golden/v13.json).

Worlds step under random play (which moves, fights, dies, eats and regrows)
for hundreds of ticks on the small and default presets; each output leaf is
hashed per tick into one SHA-256 per field. Re-record only when a change is
meant to alter v1.3's game: `python -m tests.test_nmmo_golden --record`.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import nmmo_jax as nj
from policies.scripted import random_policy

GOLDEN = Path(__file__).parent / "golden" / "v13.json"
RUNS = {"small": 500, "default": 300}  # preset: ticks
SEED = 2026


def _leaves(prefix: str, tree) -> list[tuple[str, np.ndarray]]:
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(prefix + jax.tree_util.keystr(path), np.asarray(leaf)) for path, leaf in flat]


def digests(preset: str, ticks: int, step=None, params: nj.Params | None = None
            ) -> dict[str, str]:
    """{field: sha256 hex} over `ticks` ticks of random play from reset.

    step: the step to run (default: `nmmo_jax.step` jitted with the config static).
    params: the game's numbers, passed to reset and (as a runtime argument) to
    every step; None leaves them out (each call uses v1.3's).
    """
    config = nj.Config.preset(preset)
    step = step or jax.jit(nj.step, static_argnames="config")
    extra = () if params is None else (params,)
    act = jax.jit(random_policy)
    key = jax.random.PRNGKey(SEED)
    obs, state = jax.jit(nj.reset, static_argnames="config")(key, config, *extra)
    hashes: dict[str, "hashlib._Hash"] = {}

    def add(prefix, tree):
        for name, leaf in _leaves(prefix, tree):
            h = hashes.setdefault(name, hashlib.sha256())
            h.update(str(leaf.dtype).encode() + str(leaf.shape).encode())
            h.update(np.ascontiguousarray(leaf).tobytes())

    add("obs", obs)
    add("state", state)
    for t in range(ticks):
        k_act, k_step = jax.random.split(jax.random.fold_in(key, t))
        actions = act(k_act, obs)
        obs, state, reward, done, info = step(k_step, state, actions, config, *extra)
        for prefix, tree in (("obs", obs), ("state", state), ("reward", reward),
                             ("done", done), ("info", info)):
            add(prefix, tree)
    return {name: h.hexdigest() for name, h in sorted(hashes.items())}


@pytest.mark.parametrize("preset", sorted(RUNS))
def test_v13_is_bit_for_bit_the_recorded_game(preset):
    recorded = json.loads(GOLDEN.read_text())[preset]
    now = digests(preset, RUNS[preset])
    assert sorted(now) == sorted(recorded), "the set of output fields changed"
    differ = [name for name in recorded if now[name] != recorded[name]]
    assert not differ, f"fields that differ from the recorded v1.3 game: {differ}"


@pytest.mark.parametrize("preset", sorted(RUNS))
def test_v13_with_explicit_default_params_is_the_recorded_game(preset):
    """The same game when v1.3's numbers come in as data: `default_params` passed
    to reset and, as a runtime argument (traced, not baked in), to a jitted step."""
    recorded = json.loads(GOLDEN.read_text())[preset]
    config = nj.Config.preset(preset)
    traces = []

    def step(key, state, actions, config, params):
        traces.append(1)
        assert isinstance(params.hit_base, jax.core.Tracer)  # data, not a constant
        return nj.step(key, state, actions, config, params)

    now = digests(preset, RUNS[preset], step=jax.jit(step, static_argnames="config"),
                  params=nj.default_params(config))
    assert len(traces) == 1
    assert sorted(now) == sorted(recorded), "the set of output fields changed"
    differ = [name for name in recorded if now[name] != recorded[name]]
    assert not differ, f"fields that differ from the recorded v1.3 game: {differ}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python -m tests.test_nmmo_golden --record")
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps({p: digests(p, t) for p, t in RUNS.items()}, indent=1) + "\n")
    print("recorded", GOLDEN)
