"""Every ```python block of README.md runs as written, and does what the text says."""
from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    """The README's ```python blocks, in order."""
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def block_with(marker: str) -> str:
    """The one block whose code contains `marker`."""
    found = [b for b in python_blocks() if marker in b]
    assert len(found) == 1, f"{len(found)} README blocks contain {marker!r}"
    return found[0]


def run_block(marker: str, tmp_path: pathlib.Path, monkeypatch) -> dict:
    """Execute the block in a fresh namespace, in tmp_path (blocks may write files)."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(block_with(marker), f"README.md (block with {marker!r})", "exec"), namespace)
    return namespace


# One marker per block; a new block needs a test here (test_every_block_is_tested).
MARKERS = ("vstep = ", "def rollout", "MultiAgentEnv(", "ParallelEnv(")


def test_every_block_is_tested():
    blocks = python_blocks()
    assert len(blocks) == len(MARKERS)
    for block in blocks:
        assert sum(m in block for m in MARKERS) == 1, block[:80]


# Each block compiles its own programs: over 5 s on a 2-core CPU, so `slow`.
@pytest.mark.slow
def test_core_api(tmp_path, monkeypatch):
    ns = run_block("vstep = ", tmp_path, monkeypatch)
    assert int(ns["state"].tick) == 1 and ns["reward"].shape == (8, 128)
    assert ns["states"].tiles.shape == (8, 80, 80)
    assert np.asarray(ns["states"].tick).tolist() == [1] * 8
    assert set(ns["info"]) >= {"alive", "lifetime", "death_cause", "spawned"}
    # each world plays its own regrowth rate
    assert np.asarray(ns["sweep"].regrow_prob).tolist() == [np.float32(0.005 * (i + 1))
                                                           for i in range(8)]


@pytest.mark.slow
def test_own_jitted_loop(tmp_path, monkeypatch, capsys):
    ns = run_block("def rollout", tmp_path, monkeypatch)
    stats = ns["stats"]
    assert bool(stats["valid"]) and int(stats["num_finished"]) > 0
    assert float(stats["mean_return"]) == -1.0 and float(stats["mean_lifetime"]) > 0
    assert int(stats["num_truncated"]) == 0  # a persistent world: no resets
    assert np.asarray(ns["state"].tick).tolist() == [200] * 4
    assert ns["log"].episode_length.shape == (4, 16)
    assert "lives ended; mean lifetime" in capsys.readouterr().out


@pytest.mark.slow
def test_jaxmarl(tmp_path, monkeypatch):
    ns = run_block("MultiAgentEnv(", tmp_path, monkeypatch)
    assert int(ns["state"].world.tick) == 1
    assert set(ns["dones"]) == set(ns["env"].agents) | {"__all__"}
    assert set(ns["obs"]["agent_0"]) >= {"tiles", "entities", "move_mask", "target_mask"}


@pytest.mark.slow
def test_pettingzoo(tmp_path, monkeypatch):
    pytest.importorskip("pettingzoo")
    ns = run_block("ParallelEnv(", tmp_path, monkeypatch)
    env = ns["env"]
    assert env.agents == [] and int(env.world.tick) == 200
    assert ns["frame"].shape == (128, 128, 3) and ns["frame"].dtype == np.uint8
