"""GAE over slots whose lives end and restart, and the training config boundary."""
import chex
import numpy as np
import pytest

from train.config import TrainConfig, differences
from train.ppo.gae import gae


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


def reference_gae(reward, value, done, valid, last_value, gamma, lam,
                  truncated=None, terminal_value=None):
    """GAE written as the plain backwards recursion, one slot and one tick at a time
    (float64), to check `gae`'s scan against.

    A tick where nobody acted (invalid) gets advantage and target 0. A tick whose
    life ended in a death looks at nothing after it: advantage = reward - value.
    A life cut by a world reset (done and truncated) looks only at the value of
    the old world's last observation: advantage = reward + gamma *
    terminal_value - value. Any other valid tick bootstraps from the next tick
    of the same life, which must be valid (a living agent that did not die acts
    again), or from last_value after the last tick.
    """
    if truncated is None:
        truncated, terminal_value = np.zeros(done.shape, bool), np.zeros(done.shape)
    t_len = reward.shape[0]
    adv = np.zeros(reward.shape, np.float64)
    for slot in np.ndindex(*reward.shape[1:]):
        for t in reversed(range(t_len)):
            here = (t,) + slot
            if not valid[here]:
                continue
            if done[here]:
                future = gamma * terminal_value[here] if truncated[here] else 0.0
                adv[here] = reward[here] + future - value[here]
                continue
            if t == t_len - 1:
                next_value, next_adv = float(last_value[slot]), 0.0
            else:
                after = (t + 1,) + slot
                assert valid[after], f"slot {slot} lives on at tick {t} but is empty at {t + 1}"
                next_value, next_adv = float(value[after]), adv[after]
            delta = reward[here] + gamma * next_value - value[here]
            adv[here] = delta + gamma * lam * next_adv
    return adv, np.where(valid, adv + value, 0.0)


def test_gae_matches_the_reference_recursion_with_deaths_resets_and_padding():
    """`gae` on a [T=6, W=2, A=3] rollout equals `reference_gae` to 1e-6.

    World 0: slot 0 dies at t=2, is empty at t=3 and respawns at t=4 (bootstrap
    from last_value); slot 1 is an empty slot throughout (padding: its reward
    and value are garbage that must not leak); slot 2 lives on and dies on the
    last tick (no bootstrap). World 1 is reset at t=3, which cuts every living
    slot's life there (done; first without a truncation flag, so the cut-off
    future is not bootstrapped); slot 2 dies at t=1, respawns at
    t=2 and is cut at t=3; slot 1 is empty for a tick after the reset. Then
    the same rollout with the reset flagged as a truncation.
    Rewards, values and last values are distinct and of both signs, so a
    wrong sign, a missed cut or a leak moves some entry by far more than 1e-6.
    """
    t_len, worlds, agents = 6, 2, 3
    rng = np.random.default_rng(7)
    reward = rng.normal(size=(t_len, worlds, agents)).astype(np.float32)
    value = rng.normal(size=(t_len, worlds, agents)).astype(np.float32)
    last = rng.normal(size=(worlds, agents)).astype(np.float32)
    valid = np.ones((t_len, worlds, agents), bool)
    done = np.zeros((t_len, worlds, agents), bool)
    valid[3, 0, 0] = False                  # dead between its lives
    valid[:, 0, 1] = False                  # padding: nobody in this slot
    done[2, 0, 0] = done[5, 0, 2] = True    # deaths
    done[1, 1, 2] = True                    # death, respawn at t=2
    done[3, 1, :] = True                    # world 1 reset: every life is cut
    valid[4, 1, 1] = False                  # slot 1 respawns a tick after the reset
    reward[~valid] = 50.0                   # garbage an empty slot must not pass on
    value[~valid] = -50.0
    gamma, lam = 0.9, 0.8
    adv, target = gae(reward, value, done, valid, last, gamma=gamma, lam=lam)
    chex.assert_shape([adv, target], (t_len, worlds, agents))
    want_adv, want_target = reference_gae(reward, value, done, valid, last, gamma, lam)
    np.testing.assert_allclose(np.asarray(adv), want_adv, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(target), want_target, rtol=1e-6, atol=1e-6)
    # The cuts: a done tick's advantage is its own TD error with nothing after it.
    for here in [(2, 0, 0), (5, 0, 2), (1, 1, 2), (3, 1, 0)]:
        assert float(adv[here]) == pytest.approx(float(reward[here] - value[here]), abs=1e-6)
    assert not np.asarray(adv)[~valid].any() and not np.asarray(target)[~valid].any()

    # The same rollout with world 1's reset marked as what it is, a time limit: the
    # cut lives bootstrap from the value of the last observation of the old world;
    # deaths, including world 0's on the last tick, still do not.
    truncated = np.zeros_like(done)
    truncated[3, 1, :] = valid[3, 1, :]
    terminal_value = rng.normal(size=done.shape).astype(np.float32)
    adv, target = gae(reward, value, done, valid, last, gamma=gamma, lam=lam,
                      truncated=truncated, terminal_value=terminal_value)
    want_adv, want_target = reference_gae(reward, value, done, valid, last, gamma, lam,
                                          truncated, terminal_value)
    np.testing.assert_allclose(np.asarray(adv), want_adv, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(target), want_target, rtol=1e-6, atol=1e-6)
    for a in range(agents):
        here = (3, 1, a)
        assert float(target[here]) == pytest.approx(
            float(reward[here] + gamma * terminal_value[here]), abs=1e-6)
    # terminal_value of a tick that was not truncated is never read.
    noise = np.where(truncated, terminal_value, 1e3).astype(np.float32)
    again, _ = gae(reward, value, done, valid, last, gamma=gamma, lam=lam,
                   truncated=truncated, terminal_value=noise)
    np.testing.assert_allclose(np.asarray(again), np.asarray(adv), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("field,value,flag", [
    ("num_worlds", 0, "--num-worlds"), ("lr", -1.0, "--lr"), ("gamma", 1.5, "--gamma"),
    ("preset", "huge", "--preset"), ("minutes", -1.0, "--minutes"),
    ("num_minibatches", 3, "--num-minibatches"), ("kill_penalty", -1.0, "--kill-penalty"),
    ("vitals_shaping", -0.5, "--vitals-shaping"),
])
def test_config_errors_name_the_flag(field, value, flag):
    with pytest.raises(ValueError, match=flag):
        TrainConfig.of(**{field: value})


def test_config_differences():
    tc = TrainConfig.of(preset="small")
    saved = tc.replace(lr=0.5, minutes=3.0).to_dict()
    diff = differences(saved, tc)
    assert len(diff) == 1 and diff[0].startswith("lr:")
