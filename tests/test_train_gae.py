"""GAE over slots whose lives end and restart, and the training config boundary."""
import numpy as np
import pytest

from train.config import TrainConfig, differences
from train.gae import gae


def test_gae_death_respawn_and_empty_slot():
    # Slots: 0 dies at t=1, is empty at t=2, respawns at t=3; 1 is always empty; 2 lives on.
    reward = np.array([[0, 0, 0], [-1, 0, 0], [0, 0, 0], [0, 0, 0]], np.float32)
    value = np.array([[0.5, 7, 1], [0.4, 7, 1], [9.0, 7, 1], [0.3, 7, 1]], np.float32)
    done = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]], bool)
    valid = np.array([[1, 0, 1], [1, 0, 1], [0, 0, 1], [1, 0, 1]], bool)
    last = np.array([0.2, 7, 1], np.float32)
    adv, target = gae(reward, value, done, valid, last, gamma=0.9, lam=0.8)
    adv, target = np.asarray(adv), np.asarray(target)
    # Slot 0, by hand: t3 = 0.9*0.2 - 0.3; t1 = -1 - 0.4 (death cuts); t0 = (0.9*0.4 - 0.5) + 0.72*t1
    np.testing.assert_allclose(adv[:, 0], [-0.14 + 0.72 * -1.4, -1.4, 0.0, -0.12], rtol=1e-6)
    np.testing.assert_allclose(target[:, 0], [-1.148 + 0.5, -1.0, 0.0, 0.18], rtol=1e-5, atol=1e-6)
    assert (adv[:, 1] == 0).all() and (target[:, 1] == 0).all()
    a3 = -0.1
    a2 = -0.1 + 0.72 * a3
    a1 = -0.1 + 0.72 * a2
    a0 = -0.1 + 0.72 * a1
    np.testing.assert_allclose(adv[:, 2], [a0, a1, a2, a3], rtol=1e-5)


@pytest.mark.parametrize("field,value,flag", [
    ("num_worlds", 0, "--num-worlds"), ("lr", -1.0, "--lr"), ("gamma", 1.5, "--gamma"),
    ("preset", "huge", "--preset"), ("minutes", -1.0, "--minutes"),
    ("num_minibatches", 3, "--num-minibatches"), ("kill_penalty", -1.0, "--kill-penalty"),
    ("vitals_shaping", -0.5, "--vitals-shaping"),
])
def test_config_errors_name_the_flag(field, value, flag):
    with pytest.raises(ValueError, match=flag):
        TrainConfig(**{field: value})


def test_config_differences():
    tc = TrainConfig(preset="small")
    saved = tc.replace(lr=0.5, minutes=3.0).to_dict()
    diff = differences(saved, tc)
    assert len(diff) == 1 and diff[0].startswith("lr:")
