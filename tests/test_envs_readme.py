"""The three examples of README.md's "Ways in" section run as written."""
import pathlib
import re

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def ways_in_examples() -> list[str]:
    text = README.read_text()
    start = text.index("\n## Ways in")
    end = text.find("\n## ", start + 1)
    section = text[start:] if end < 0 else text[start:end]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def run_example(index: int) -> dict:
    examples = ways_in_examples()
    assert len(examples) == 3
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(examples[index], f"README.md (Ways in, example {index + 1})", "exec"), namespace)
    return namespace


def test_own_jitted_loop_example(capsys):
    ns = run_example(0)
    stats = ns["stats"]
    assert bool(stats["valid"]) and int(stats["num_finished"]) > 0
    assert float(stats["mean_return"]) == -1.0 and float(stats["mean_lifetime"]) > 0
    assert int(stats["num_truncated"]) == 0  # a persistent world: no resets
    assert np.asarray(ns["state"].tick).tolist() == [200] * 4
    assert ns["log"].episode_length.shape == (4, 16)
    assert "lives ended; mean lifetime" in capsys.readouterr().out


def test_jaxmarl_example():
    ns = run_example(1)
    assert int(ns["state"].world.tick) == 10
    assert set(ns["dones"]) == set(ns["env"].agents) | {"__all__"}
    assert set(ns["obs"]["agent_0"]) >= {"tiles", "entities", "move_mask", "target_mask"}


def test_pettingzoo_example():
    pytest.importorskip("pettingzoo")
    ns = run_example(2)
    env = ns["env"]
    assert env.agents == [] and int(env.world.tick) == 200
    assert ns["frame"].shape == (128, 128, 3) and ns["frame"].dtype == np.uint8
