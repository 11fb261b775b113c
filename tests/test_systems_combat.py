"""Combat (docs/rules.md §3.6) on hand-built scenes: damage, hits, ranges, freezes, the attack report."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.systems.skills import level, xp_table
from tests.conftest import SCENE, act, jit_step, run, scene

SURE = nj.default_params(SCENE, hit_base=1.0)  # every attack hits


@pytest.mark.slow
def test_mage_hit_freezes_for_two_ticks():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 13))])
    _, s, *_ = run(s, act(style={0: nj.MAGE}, target={0: 1}), params=SURE)
    assert int(s.agents.freeze[1]) == 3
    cols = []
    for tick in range(3):
        _, s, *_ = run(s, act(move={1: nj.EAST}), seed=tick)
        cols.append(int(s.agents.pos[1, 1]))
    assert cols == [13, 13, 14]


@pytest.mark.parametrize("style,lvl,dmg", [(0, 1, 5), (1, 1, 3), (2, 1, 1),
                                           (0, 10, 9), (1, 10, 6), (2, 10, 3)])
def test_damage_per_style_and_level(style, lvl, dmg):
    s = scene([dict(slot=0, pos=(10, 10), levels={nj.MELEE_SKILL + style: lvl}),
               dict(slot=1, pos=(10, 11), health=10)])
    _, s, *_ = run(s, act(style={0: style}, target={0: 1}), params=SURE)
    assert int(s.agents.damage[1]) == dmg
    assert int(s.agents.health[1]) == 10 - dmg


def test_transfer_and_xp_on_hit():
    s = scene([dict(slot=0, pos=(10, 10), food=4, water=6),
               dict(slot=1, pos=(10, 11), food=8, water=2, health=10)])
    xp0 = np.asarray(s.agents.xp)
    _, s, *_ = run(s, act(style={0: nj.MELEE}, target={0: 1}), params=SURE)
    ag = s.agents
    # Decay first (-1 each), then the 5 damage melee hit moves food and water.
    assert (int(ag.food[0]), int(ag.water[0])) == (8, 10)  # 3 + 5, min(5 + 5, 10)
    assert (int(ag.food[1]), int(ag.water[1])) == (2, 0)  # 7 - 5, max(1 - 5, 0)
    assert int(ag.health[1]) == 5
    dxp = np.asarray(ag.xp) - xp0
    assert dxp[0, nj.MELEE_SKILL] == 200 and dxp[0, nj.CONSTITUTION] == 100
    assert dxp[1, nj.CONSTITUTION] == 100 and dxp[1, nj.DEFENSE] == 200
    assert dxp[0, nj.DEFENSE] == 0 and dxp[1, nj.MELEE_SKILL] == 0


def test_hit_rate_at_equal_levels():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11), health=10)])
    keys = jax.random.split(jax.random.PRNGKey(7), 2000)
    step = jax.vmap(lambda k: jit_step(k, s, act(target={0: 1}), SCENE)[1].agents.damage[1])
    hits = np.asarray(step(keys)) > 0
    assert abs(hits.mean() - 0.5) < 0.05, hits.mean()


def test_hit_chance_uses_defense():
    # Attacker melee 1 vs defense 99: chance 0.5 - 98/200 = 0.01.
    s = scene([dict(slot=0, pos=(10, 10)),
               dict(slot=1, pos=(10, 11), levels={nj.DEFENSE: 99})])
    keys = jax.random.split(jax.random.PRNGKey(3), 2000)
    step = jax.vmap(lambda k: jit_step(k, s, act(target={0: 1}), SCENE)[1].agents.damage[1])
    assert (np.asarray(step(keys)) > 0).mean() < 0.03


@pytest.mark.parametrize("style,hits", [(nj.MELEE, False), (nj.RANGE, False), (nj.MAGE, True)])
def test_range_checked_after_moves(style, hits):
    # Distance 2 before the tick; the target steps away to distance 3.
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 12))])
    _, s, *_ = run(s, act(move={1: nj.EAST}, style={0: style}, target={0: 1}), params=SURE)
    assert (int(s.agents.damage[1]) > 0) == hits


def test_melee_reaches_after_closing_in():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 12))])
    _, s, *_ = run(s, act(move={0: nj.EAST}, style={0: nj.MELEE}, target={0: 1}),
                   params=SURE)
    assert int(s.agents.damage[1]) == 5


def test_immune_target_takes_nothing():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11), immune=5)])
    xp0 = np.asarray(s.agents.xp)
    _, s, *_ = run(s, act(target={0: 1}), params=SURE)
    assert int(s.agents.damage[1]) == 0 and int(s.agents.health[1]) == 10
    assert np.array_equal(np.asarray(s.agents.xp), xp0)


def test_invalid_attacks_do_nothing():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11))])
    for style, target in [(5, 1), (-1, 1), (0, 99), (0, -3), (0, 0), (0, 2)]:
        _, out, *_ = run(s, act(style={0: style}, target={0: target}), params=SURE)
        assert int(out.agents.damage.sum()) == 0


def test_dying_agent_still_attacks_and_spawned_immune():
    # Agent 0 starts at health 1 and starves to 0 this tick, yet still hits.
    s = scene([dict(slot=0, pos=(10, 10), health=1, food=0),
               dict(slot=1, pos=(10, 11))])
    _, s, _, done, _ = run(s, act(target={0: 1}), params=SURE)
    assert bool(done[0]) and int(s.agents.damage[1]) == 5


def test_info_reports_each_attack_and_hit():
    # Slot 0 hits 1; 1 attacks itself (none); 2 is out of melee range of 3; 4 targets an
    # immune 5; 6 uses an invalid style; 5 attacks an empty slot.
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11)),
               dict(slot=2, pos=(5, 5)), dict(slot=3, pos=(5, 7)),
               dict(slot=4, pos=(20, 20)), dict(slot=5, pos=(20, 21), immune=5),
               dict(slot=6, pos=(20, 22))])
    acts = act(style={0: nj.MELEE, 2: nj.MELEE, 4: nj.MAGE, 6: 7},
               target={0: 1, 1: 1, 2: 3, 4: 5, 5: 12, 6: 5})
    _, _, _, _, info = run(s, acts, params=SURE)
    target, hit = np.asarray(info["attack_target"]), np.asarray(info["attack_hit"])
    assert target.dtype == np.int32 and hit.dtype == bool
    assert target.tolist() == [1] + list(range(1, SCENE.num_agents))
    assert hit.tolist() == [True] + [False] * (SCENE.num_agents - 1)


def test_info_reports_a_miss_and_a_mutual_hit():
    never = nj.default_params(SCENE, hit_base=0.0)  # equal levels: chance 0
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11))])
    acts = act(style={0: nj.RANGE, 1: nj.MELEE}, target={0: 1, 1: 0})
    _, _, _, _, info = run(s, acts, params=never)
    assert np.asarray(info["attack_target"])[:3].tolist() == [1, 0, 2]
    assert not np.asarray(info["attack_hit"]).any()
    _, _, _, _, info = run(s, act(style={0: nj.RANGE, 1: nj.MELEE}, target={0: 1, 1: 0}),
                           params=SURE)
    assert np.asarray(info["attack_hit"])[:3].tolist() == [True, True, False]


def test_attack_hit_matches_damage_dealt():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11), health=10)])
    keys = jax.random.split(jax.random.PRNGKey(5), 200)
    step = jax.vmap(lambda k: jit_step(k, s, act(target={0: 1}), SCENE))
    _, out, _, _, info = step(keys)
    hit = np.asarray(info["attack_hit"][:, 0])
    assert 0 < hit.sum() < 200
    assert np.array_equal(hit, np.asarray(out.agents.damage[:, 1]) == 5)
    assert (np.asarray(info["attack_target"][:, 0]) == 1).all()
