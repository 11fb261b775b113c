"""Training reward shaping: kills are charged to every agent whose attack named the
victim; the vitals bonus is a difference of potentials on food, water and health."""
import numpy as np
import pytest

import nmmo_jax as nj
from tests.conftest import SCENE, run, scene
from train.ppo.reward import kills, shaped, training_reward, vitals_bonus, vitals_potential

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


def test_attacks_on_npc_slots_are_never_kills():
    # Slots 5 and 9 are NPCs (A = 5): an attack on one costs nothing, whoever died.
    target = np.array([[5, 9, 1, 3, 4]], np.int32)
    done = np.array([[1, 1, 0, 1, 1]], bool)
    cause = np.full((1, 5), C, np.int32)
    np.testing.assert_array_equal(np.asarray(kills(target, done, cause)), [[0, 0, 1, 0, 0]])


def test_shaped_reward_subtracts_the_penalty_per_kill():
    target, done, cause = _scene()
    reward = np.where(done, -1.0, 0.0).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(shaped(reward, target, done, cause, 0.5)),
                                  [[-0.5, -1, -0.5, 0, -1], [-1.5, -1.5, 0, 0, -1]])
    assert shaped(reward, target, done, cause, 0.0) is reward


@pytest.mark.slow
def test_vitals_bonus_is_the_discounted_change_of_food_water_and_health():
    # Slot 0 (levels 10: max 10 each) has food 5, water 10, health 9 on grass far
    # from water: after the tick food 4, water 9, no healing (food is not > 5).
    # Slot 1 starves this tick (health 1, food and water 0). Slot 2 is empty.
    state = scene([dict(slot=0, pos=(8, 8), food=5, water=10, health=9),
                   dict(slot=1, pos=(12, 12), food=0, water=0, health=1)])
    obs = nj.observe(state, SCENE)
    next_obs, _, _, done, _ = run(state)
    assert bool(done[1]) and not bool(done[0])
    phi = np.asarray(vitals_potential(obs))
    np.testing.assert_allclose(phi[:3], [(0.5 + 1.0 + 0.9) / 3, 0.1 / 3, 0.0], rtol=1e-6)
    bonus = np.asarray(vitals_bonus(obs, next_obs, done, 0.9))
    np.testing.assert_allclose(bonus[:3], [0.9 * (0.4 + 0.9 + 0.9) / 3 - 0.8, -0.1 / 3, 0.0],
                               rtol=1e-5)
    # the training reward adds it on top of the game's reward, scaled; off at 0
    reward = np.where(np.asarray(done), -1.0, 0.0).astype(np.float32)
    target = np.arange(SCENE.num_agents, dtype=np.int32)
    cause = np.zeros(SCENE.num_agents, np.int32)
    both = lambda x: training_reward(reward, target, done, cause, obs, next_obs,
                                     kill_penalty=0.0, vitals_shaping=x, gamma=0.9)
    np.testing.assert_allclose(np.asarray(both(2.0)), reward + 2.0 * bonus, rtol=1e-6)
    assert both(0.0) is reward
