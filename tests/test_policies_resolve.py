"""policies/resolve.py: one way from a name to a policy (scripted, `pretrained`, a run
directory or a checkpoint), its one-line refusals, and where a trained model fits."""
from pathlib import Path

import pytest

import nmmo_jax as nj
from policies.baseline import ActorCritic
from policies.resolve import PolicyError, Resolved, check_fits, pretrained_path, resolve
from policies.scripted import SCRIPTED


def refuse(path):
    raise AssertionError(f"the loader was called for {path}")


def test_scripted_names_resolve_without_the_loader():
    for name, fn in SCRIPTED.items():
        named = resolve(name, refuse)
        assert (named.name, named.scripted, named.config) == (name, fn, None)
        assert named.policy() is fn and named.policy(nj.Config.small()) is fn
    with pytest.raises(PolicyError, match="'forager': no such run directory"):
        resolve("forager", refuse, scripted=False)  # a path or `pretrained` only


def test_missing_names_and_paths_are_one_line_errors(tmp_path, monkeypatch):
    with pytest.raises(PolicyError, match=r"^'forgaer': not a scripted policy \(random, "):
        resolve("forgaer", refuse)
    missing = str(tmp_path / "run" / "ckpt_0000001.npz")
    with pytest.raises(PolicyError, match="no such run directory or checkpoint file"):
        resolve(missing, refuse)
    monkeypatch.setattr("policies.resolve.pretrained_path", lambda: tmp_path / "none.npz")
    with pytest.raises(PolicyError, match=f"^'pretrained': no pretrained checkpoint at {tmp_path}"):
        resolve("pretrained", refuse)


def test_paths_go_to_the_loader_and_its_refusals_name_the_spec(tmp_path):
    small = nj.Config.small()
    model = ActorCritic(small, width=8, shared=True)
    named = resolve(str(tmp_path), lambda path: (model, {"w": 1}, small))
    assert (named.name, named.model, named.params, named.config) == (
        tmp_path.name, model, {"w": 1}, small)

    def unreadable(path: Path):
        raise ValueError(f"{path} is not a checkpoint")

    with pytest.raises(PolicyError, match=f"^'{tmp_path}': cannot load this checkpoint: "):
        resolve(str(tmp_path), unreadable)
    assert pretrained_path().name == "default.npz" and pretrained_path().exists()


def test_a_trained_model_plays_at_other_caps_only_where_its_observations_fit():
    small = nj.Config.small()
    named = Resolved("run", model=ActorCritic(small, width=8, shared=False), params={},
                     config=small)
    bigger = small.replace(num_agents=32)
    assert named.model_for(bigger).config == bigger
    with pytest.raises(PolicyError, match=r"'run': .*max_entities=16.*max_entities=8"):
        check_fits("run", nj.Config(), True, small.replace(num_populations=8))
    with pytest.raises(PolicyError, match="vision"):
        named.model_for(small.replace(vision=5))
    with pytest.raises(PolicyError, match="num_populations"):
        check_fits("run", small.replace(num_populations=2), False, small)
    check_fits("run", small.replace(num_populations=2), True, small)  # shared fits
    check_fits("run", small.replace(num_agents=128, map_size=40), False, small)
