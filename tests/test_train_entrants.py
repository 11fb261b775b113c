"""train/entrants.py: which trained entrants can play in which worlds."""
import pytest

import nmmo_jax as nj
from train.entrants import check_fits, labels


def test_observation_shape_mismatch_names_the_field():
    small, default = nj.Config.small(), nj.Config()
    with pytest.raises(ValueError, match=r"entrant 'run': .*max_entities=16.*max_entities=8"):
        check_fits("run", default, shared=True, world=small.replace(num_populations=8))
    with pytest.raises(ValueError, match="vision"):
        check_fits("run", small.replace(vision=5), shared=True, world=small)
    with pytest.raises(ValueError, match="num_populations"):
        check_fits("run", small.replace(num_populations=2), shared=False, world=small)
    check_fits("run", small.replace(num_populations=2), shared=True, world=small)  # shared fits
    check_fits("run", small.replace(num_agents=128, map_size=40), shared=False, world=small)


def test_labels_number_repeated_entrants():
    assert labels(["forager", "forager", "runs/a/", "forager"]) == [
        "forager", "forager#2", "runs/a", "forager#3"]
