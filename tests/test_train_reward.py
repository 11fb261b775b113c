"""Training reward shaping: kills are charged to every agent whose attack named the victim."""
import numpy as np

import nmmo_jax as nj
from train.reward import kills, shaped

C, S, N = nj.CAUSE_COMBAT, nj.CAUSE_STARVATION, nj.CAUSE_NONE


def _scene():
    # World 0: slots 0 and 2 attack 1, which dies in combat; 3 attacks 4, which
    # starves; 4 names itself (no attack). World 1: 0 and 1 kill each other;
    # 2 attacks 3, which lives; 4 names itself and dies in combat.
    target = np.array([[1, 1, 1, 4, 4], [1, 0, 3, 3, 4]], np.int32)
    done = np.array([[0, 1, 0, 0, 1], [1, 1, 0, 0, 1]], bool)
    cause = np.array([[N, C, N, N, S], [C, C, N, N, C]], np.int32)
    return target, done, cause


def test_kills_count_attackers_of_combat_deaths_only():
    target, done, cause = _scene()
    np.testing.assert_array_equal(np.asarray(kills(target, done, cause)),
                                  [[1, 0, 1, 0, 0], [1, 1, 0, 0, 0]])


def test_shaped_reward_subtracts_the_penalty_per_kill():
    target, done, cause = _scene()
    reward = np.where(done, -1.0, 0.0).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(shaped(reward, target, done, cause, 0.5)),
                                  [[-0.5, -1, -0.5, 0, -1], [-1.5, -1.5, 0, 0, -1]])
    assert shaped(reward, target, done, cause, 0.0) is reward
