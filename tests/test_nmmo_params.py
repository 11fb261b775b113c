"""nmmo_jax.params: the game's numbers as data.

What `default_params`, `check_params`, `param_ranges` and `parse_assignments`
refuse (each message names the field), what a changed number does to its rule
(exact numbers on hand-built scenes), per-world params under vmap, no
recompile for a new value, explicit defaults equal to params=None bit for
bit, and `draw_params`' draws.
"""
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax import terrain
from nmmo_jax.params import DEFAULTS, FIELDS, dtype_of, parse_assignments, shape_of, stack
from nmmo_jax.systems.skills import level, start_xp
from policies.scripted import random_policy
from tests.conftest import SCENE, act, jit_reset, jit_step, run, scene, xp_for

SMALL = nj.Config.small()
INF, NAN = float("inf"), float("nan")


def P(config=SCENE, **changes) -> nj.Params:
    return nj.default_params(config, **changes)


def pick(tree, w):
    return jax.tree.map(lambda x: x[w], tree)


# --------------------------------------------------------------- the defaults
def test_defaults_are_v13_and_nmmo2_npcs_as_scalar_leaves():
    for config, frequency in ((SMALL, 6.4), (nj.Config(), 16.0), (nj.Config.large(), 51.2)):
        params = nj.default_params(config)
        nj.check_params(params, config)
        for name in FIELDS:
            value = getattr(params, name)
            chex.assert_shape(value, shape_of(name))
            chex.assert_type(value, dtype_of(name))
            want = frequency if name == "noise_frequency" else DEFAULTS[name]
            np.testing.assert_array_equal(value, np.asarray(want, dtype_of(name)), err_msg=name)
    params = nj.default_params(SMALL)
    assert params.melee_damage.tolist() == [5.0, 45.0] and params.food_decay.dtype == np.int32
    chex.assert_trees_all_equal(params.style_ranges, jnp.array([1, 2, 3], jnp.int32))
    chex.assert_trees_all_equal(params.style_damage, jnp.array(
        [[5.0, 45.0], [3.0, 32.0], [1.0, 24.0]], jnp.float32))
    assert list(FIELDS) == list(type(params).__dataclass_fields__)


def test_changes_take_numpy_numbers_and_store_scalar_arrays():
    params = nj.default_params(SMALL, regrow_prob=np.float32(0.25), melee_damage=[np.int64(4), 40],
                               noise_frequency=8, food_decay=2.0, spawn_immunity=np.int64(3))
    chex.assert_type([params.regrow_prob, params.melee_damage, params.noise_frequency],
                     np.float32)
    chex.assert_type([params.food_decay, params.spawn_immunity], np.int32)
    assert params.regrow_prob == np.float32(0.25) and params.noise_frequency == 8.0
    assert params.melee_damage.tolist() == [4.0, 40.0] and params.food_decay == 2
    assert params.spawn_immunity == 3
    chex.assert_trees_all_equal(params, nj.default_params(
        SMALL, regrow_prob=0.25, melee_damage=(4.0, 40.0), noise_frequency=8.0, food_decay=2,
        spawn_immunity=3))


def test_edge_values_are_valid():
    config = nj.Config.small(spawn_per_tick=0, border=0, vision=0, max_entities=16,
                             num_populations=16, max_level=10)
    nj.default_params(config, regrow_prob=1.0, hit_base=0.0, combat_start_level=10,
                      melee_range=0, range_range=0, mage_range=0, freeze_ticks=1,
                      water_threshold=1.0, grass_threshold=1.0, forest_threshold=1.0,
                      noise_persistence=0.0, eat_fraction=0.0, drink_fraction=1.0,
                      heal_fraction=1.0, food_decay=0, spawn_immunity=0, melee_damage=(0, 0),
                      xp_combat_per_damage=0, starve_damage=2 ** 30)


# ------------------------------------------------------------------- refusals
@pytest.mark.parametrize("field,value,why", [
    # types: strings, bools, None, arrays and wrong pairs are refused
    ("regrow_prob", "0.5", "must be a number, not str"),
    ("combat_start_level", True, "must be an integer, not bool"),
    ("hit_base", False, "must be a number, not bool"),
    ("noise_scale", None, "must be a number, not NoneType"),
    ("freeze_ticks", np.array([3]), "must be an integer, not ndarray"),
    ("food_decay", 2.5, "must be an integer, not float"),
    ("melee_damage", ("a", "b"), "must be a pair"), ("range_damage", (3.0,), "must be a pair"),
    ("mage_damage", "15", "must be a pair"), ("mage_damage", (1.0, 2.0, 3.0), "must be a pair"),
    ("melee_damage", 5.0, "must be a pair"),
    # finiteness
    ("noise_frequency", INF, "must be finite"), ("noise_frequency", NAN, "must be finite"),
    ("forest_threshold", NAN, "must be finite"), ("water_threshold", NAN, "must be finite"),
    ("hit_level_divisor", INF, "must be finite"), ("damage_level_divisor", NAN, "must be finite"),
    ("noise_scale", -INF, "must be finite"), ("heal_fraction", NAN, "must be finite"),
    ("melee_damage", (INF, 0.0), "must be a pair .* finite numbers"),
    ("range_damage", (3.0, NAN), "must be a pair .* finite numbers"),
    ("food_decay", INF, "must be an integer"),
    # ranges of one field: probabilities and fractions in [0, 1], no negative decays
    ("regrow_prob", 1.5, r"must be >= 0.0 and <= 1.0"), ("regrow_prob", -0.01, ">= 0.0"),
    ("hit_base", -0.1, ">= 0.0"), ("hit_base", 1.01, "<= 1.0"),
    ("eat_fraction", 1.01, "<= 1.0"), ("drink_fraction", -0.5, ">= 0.0"),
    ("heal_fraction", 2.0, "<= 1.0"), ("noise_persistence", 2.0, "<= 1.0"),
    ("food_decay", -1, r"must be >= 0 and <= 1073741824"), ("water_decay", -3, ">= 0"),
    ("starve_damage", 2 ** 31, "<= 1073741824"), ("thirst_damage", -1, ">= 0"),
    ("spawn_immunity", -1, ">= 0"), ("freeze_ticks", 0, ">= 1"),
    ("combat_start_level", 0, ">= 1"), ("constitution_start_level", 0, ">= 1"),
    ("hunting_start_level", 100, "<= 99"),
    ("mage_range", -2, ">= 0"), ("xp_fishing_per_water", -1, ">= 0"),
    ("water_threshold", 0.0, r"must be > 0 and <= 1.0"), ("grass_threshold", -0.1, ">= 0.0"),
    ("forest_threshold", 1.5, "<= 1.0"), ("noise_frequency", 0.0, "must be > 0$"),
    ("noise_scale", -1.0, "> 0"), ("hit_level_divisor", 0.0, "> 0"),
    ("damage_level_divisor", -99.0, "> 0"), ("melee_damage", (5.0, -1.0), ">= 0"),
    # rules between fields and with the config
    ("water_threshold", 0.9, r"must be <= grass_threshold=.*\(0 < water <= grass <= forest <= 1\)"),
    ("grass_threshold", 0.8, "must be <= forest_threshold="),
    ("mage_range", 8, "must be <= Config.vision=7: a target is attacked from the observation"),
    ("melee_range", 2 ** 30, "must be <= Config.vision=7"),
    ("noise_frequency", 2.0 ** 20, r"top octave's frequency .* is above 2\*\*24"),
    ("melee_damage", (1e8, 0.0), "a tick's damage would overflow int32"),
    ("mage_damage", (0.0, 1e9), "a tick's damage would overflow int32"),
    ("xp_combat_per_damage", 2 ** 20, "XP would overflow int32"),
    ("xp_defense_per_damage", 10 ** 6, "XP would overflow int32"),
    ("xp_constitution_per_damage", 2 ** 30, "XP would overflow int32"),
    ("xp_hunting_per_food", 2 ** 24, r"times Config.max_level is above 2\*\*30"),
])
def test_bad_value_names_the_field(field, value, why):
    with pytest.raises(ValueError, match=f"^Params.{field}=.*{why}") as error:
        nj.default_params(nj.Config(), **{field: value})
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("config,changes,message", [
    (nj.Config(max_level=50), dict(hunting_start_level=60),
     "Params.hunting_start_level=60: must be a level <= Config.max_level=50"),
    (nj.Config(max_level=9), {}, "Params.constitution_start_level=10: must be a level <= "
                                 "Config.max_level=9"),
    (nj.Config.small(vision=2), {}, "Params.mage_range=3: must be <= Config.vision=2"),
    (nj.Config.small(vision=2), dict(mage_range=2), None),  # fits now
])
def test_start_levels_and_ranges_are_checked_against_the_config(config, changes, message):
    if message is None:
        assert nj.default_params(config, **changes).mage_range == 2
        return
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.")):
        nj.default_params(config, **changes)


def test_unknown_and_config_fields_are_named():
    with pytest.raises(ValueError, match=r"^speed: not a Params field \(fields: noise_frequency, "
                                         r".*, freeze_ticks, npc_spawn_attempts, .*, npc_sight, gold_start, .*, profession_xp_base\)$"):
        nj.default_params(SMALL, speed=3)
    for name in ("map_size", "vision", "num_agents", "max_level"):
        with pytest.raises(ValueError, match=f"^{name}: a Config field \\(it sets shapes or "
                                             "compiled structure\\), not a Params field$"):
            nj.default_params(SMALL, **{name: 3})
    with pytest.raises(ValueError, match="^config: expected a nmmo_jax.Config, got str$"):
        nj.default_params("small")


def test_config_refuses_a_params_field_in_one_line():
    with pytest.raises(ValueError) as error:
        nj.Config.small(regrow_prob=0.1)
    assert str(error.value) == ("Config.regrow_prob: a Params field (a number of the rules, data "
                                "under jit): nmmo_jax.default_params(config, regrow_prob=...)")


@pytest.mark.parametrize("change,message", [
    (lambda p: p.replace(food_decay=np.zeros(2, np.int32)),
     r"^Params.food_decay: expected shape \(\), got \(2,\)$"),
    (lambda p: p.replace(melee_damage=np.float32(5)),
     r"^Params.melee_damage: expected shape \(2,\), got \(\)$"),
    (lambda p: p.replace(melee_damage=np.zeros(3, np.float32)),
     r"^Params.melee_damage: expected shape \(2,\), got \(3,\)$"),
    (lambda p: p.replace(food_decay=np.float32(1)),
     "^Params.food_decay: expected int32 values, got float32$"),
    (lambda p: p.replace(food_decay=np.bool_(True)),
     "^Params.food_decay: expected int32 values, got bool$"),
    (lambda p: p.replace(hit_base=np.int32(1)),
     "^Params.hit_base: expected float32 values, got int32$"),
    (lambda p: p.replace(regrow_prob=None), r"^Params.regrow_prob: expected shape \(\), got NoneType$"),
    (lambda p: p.replace(regrow_prob=np.float32(2)),
     r"^Params.regrow_prob=2.0: must be >= 0.0 and <= 1.0$"),
    (lambda p: p.replace(heal_fraction=np.float32("nan")), "^Params.heal_fraction=nan: must be finite$"),
    (lambda p: p.replace(mage_range=np.int32(8)), "^Params.mage_range=8: must be <= Config.vision=7"),
    (lambda p: p.replace(water_threshold=np.float32(0.6)),
     "^Params.water_threshold=.*: must be <= grass_threshold="),
    (lambda p: p.replace(melee_damage=np.float32([1e8, 0])),
     "^Params.melee_damage=.*a tick's damage would overflow int32$"),
    (lambda p: p.replace(xp_combat_per_damage=np.int32(2 ** 20)),
     "^Params.xp_combat_per_damage=1048576: times a tick's damage .* XP would overflow int32$"),
    (lambda p: None, "^params: expected a nmmo_jax.Params \\(from default_params\\), got NoneType$"),
    (lambda p: {"food_decay": 1}, "^params: expected a nmmo_jax.Params .* got dict$"),
])
def test_check_params_names_the_field(change, message):
    with pytest.raises(ValueError, match=message):
        nj.check_params(change(nj.default_params(nj.Config())), nj.Config())


def test_check_params_accepts_any_int_and_float_width():
    params = nj.default_params(SMALL)
    nj.check_params(params.replace(food_decay=np.int64(2), hit_base=np.float64(0.7),
                                   melee_damage=jnp.array([1.0, 2.0])), SMALL)


def test_check_params_batch_shapes():
    a, b = nj.default_params(SMALL), nj.default_params(SMALL, regrow_prob=0.5, hit_base=1.0)
    both = stack([a, b])
    chex.assert_shape(both.regrow_prob, (2,))
    chex.assert_shape(both.melee_damage, (2, 2))
    nj.check_params(both, SMALL, batch=(2,))
    nj.check_params(stack([both, both, both]), SMALL, batch=(3, 2))
    with pytest.raises(ValueError, match=r"^Params.noise_frequency: expected shape \(2,\), got \(\)$"):
        nj.check_params(a, SMALL, batch=(2,))
    with pytest.raises(ValueError, match=r"^Params.noise_frequency: expected shape \(\), got \(2,\)$"):
        nj.check_params(both, SMALL)
    with pytest.raises(ValueError, match=r"^Params.melee_damage: expected shape \(2, 2\), got \(2,\)$"):
        nj.check_params(both.replace(melee_damage=np.zeros(2, np.float32)), SMALL, batch=(2,))
    # one bad world of the stack is named with the values of all
    bad = stack([a, a.replace(regrow_prob=np.float32(1.5))])
    with pytest.raises(ValueError, match=r"^Params.regrow_prob=1.5: must be >= 0.0 and <= 1.0$"):
        nj.check_params(bad, SMALL, batch=(2,))
    bad = stack([a, a.replace(mage_range=np.int32(9))])
    with pytest.raises(ValueError, match=r"^Params.mage_range=\[3, 9\]: must be <= Config.vision=7"):
        nj.check_params(bad, SMALL, batch=(2,))


def test_check_params_pairs_each_worlds_xp_with_its_own_damage():
    # World 0: high XP per damage with v1.3's hits; world 1: a big hit with v1.3's XP.
    # Each fits on its own, so the stack fits (no cross-world worst case).
    config = nj.Config()
    xp_heavy = nj.default_params(config, xp_combat_per_damage=60000)
    big_hit = nj.default_params(config, melee_damage=(4000.0, 45.0))
    nj.check_params(stack([xp_heavy, big_hit]), config, batch=(2,))
    both = big_hit.replace(xp_combat_per_damage=np.int32(60000))
    with pytest.raises(ValueError, match=r"^Params.xp_combat_per_damage=\[40, 60000\]: times a "
                                         r"tick's damage \(up to 1.03552e\+06\)"):
        nj.check_params(stack([big_hit, both]), config, batch=(2,))


def test_check_params_under_jit_checks_shapes_not_values():
    params = nj.default_params(SMALL).replace(regrow_prob=np.float32(7.0))  # a bad value
    jax.jit(lambda p: nj.check_params(p, SMALL))(params)  # values are the caller's inside jit
    with pytest.raises(ValueError, match=r"Params.food_decay: expected shape \(\), got \(3,\)"):
        jax.jit(lambda p: nj.check_params(p, SMALL))(params.replace(food_decay=np.ones(3, np.int32)))


def test_step_refuses_what_is_not_params_and_casts_leaves():
    state = scene([], config=SMALL)
    with pytest.raises(ValueError, match="^params: expected a nmmo_jax.Params .* got dict$"):
        nj.step(jax.random.PRNGKey(1), state, act(SMALL), SMALL, {"food_decay": 1})
    # Python numbers in a replaced field are cast to the field's dtype.
    resolved = nj.params.resolve(P().replace(food_decay=3, heal_fraction=0, melee_damage=[1, 2]),
                                 SCENE)
    chex.assert_type([resolved.food_decay, resolved.heal_fraction, resolved.melee_damage],
                     [np.int32, np.float32, np.float32])
    assert resolved.food_decay == 3 and resolved.melee_damage.tolist() == [1.0, 2.0]
    chex.assert_trees_all_equal(nj.params.resolve(None, SCENE), P())


# ------------------------------------------------- a changed number, its rule
def test_food_and_water_decay():
    s = scene([dict(slot=0, pos=(10, 10), food=10, water=10)])
    _, out, *_ = run(s, params=P(food_decay=3))
    assert (int(out.agents.food[0]), int(out.agents.water[0])) == (7, 9)
    _, out, *_ = run(s, params=P(food_decay=0, water_decay=4))
    assert (int(out.agents.food[0]), int(out.agents.water[0])) == (10, 6)
    _, out, *_ = run(s.replace(agents=s.agents.replace(food=s.agents.food.at[0].set(2))),
                     params=P(food_decay=3))
    assert int(out.agents.food[0]) == 0  # not below 0


@pytest.mark.parametrize("fraction,health", [(0.5, 7), (0.1, 3), (0.0, 2), (1.0, 10), (0.35, 5)])
def test_heal_fraction(fraction, health):
    # Fed (food and water 8 > 5 after decay): heal floor(fraction * 10), at most to 10.
    s = scene([dict(slot=0, pos=(10, 10), food=9, water=9, health=2)])
    _, s, *_ = run(s, params=P(heal_fraction=fraction))
    assert int(s.agents.health[0]) == health


def test_starve_and_thirst_damage():
    s = scene([dict(slot=0, pos=(10, 10), food=0, water=0, health=10),
               dict(slot=1, pos=(12, 12), food=0, water=9, health=10)])
    _, s, *_ = run(s, params=P(starve_damage=3, thirst_damage=2))
    assert s.agents.health[:2].tolist() == [5, 7]


def test_eat_and_drink_fractions_and_their_xp():
    # Food and water 3 decay to 2; eat floor(0.3 * 10) = 3, drink floor(0.8 * 10) = 8.
    s = scene([dict(slot=0, pos=(10, 10), food=3, water=3)],
              tiles={(10, 10): nj.FOREST, (10, 11): nj.WATER})
    xp0 = np.asarray(s.agents.xp[0])
    _, s, *_ = run(s, params=P(eat_fraction=0.3, drink_fraction=0.8, xp_hunting_per_food=7,
                               xp_fishing_per_water=2))
    assert (int(s.agents.food[0]), int(s.agents.water[0])) == (5, 10)
    gained = np.asarray(s.agents.xp[0]) - xp0
    assert (gained[nj.HUNTING], gained[nj.FISHING]) == (21, 16)
    assert int(s.tiles[10, 10]) == nj.SCRUB


@pytest.mark.parametrize("style,lvl,changes,dmg", [
    (nj.MELEE, 10, dict(melee_damage=(3.0, 49.5)), 8),  # (3 * 99 + 49.5 * 10) / 99
    (nj.RANGE, 10, dict(range_damage=(0.0, 99.0)), 10),
    (nj.MAGE, 10, dict(mage_damage=(4.0, 0.0)), 4),
    (nj.MELEE, 1, dict(damage_level_divisor=10.0), 9),  # floor(5 + 45 * 1 / 10)
    (nj.RANGE, 10, dict(damage_level_divisor=32.0), 13),  # 3 + 32 * 10 / 32
])
def test_damage_pairs_and_xp_per_damage(style, lvl, changes, dmg):
    s = scene([dict(slot=0, pos=(10, 10), levels={nj.MELEE_SKILL + style: lvl}),
               dict(slot=1, pos=(10, 11), health=10)])
    xp0 = np.asarray(s.agents.xp)
    params = P(hit_base=1.0, xp_combat_per_damage=7, xp_defense_per_damage=3,
               xp_constitution_per_damage=2, **changes)
    _, s, *_ = run(s, act(style={0: style}, target={0: 1}), params=params)
    assert int(s.agents.damage[1]) == dmg and int(s.agents.health[1]) == max(10 - dmg, 0)
    dxp = np.asarray(s.agents.xp) - xp0
    assert dxp[0].tolist() == [2 * dmg] + [7 * dmg if i == style else 0 for i in range(3)] + [0] * 3
    assert dxp[1].tolist() == [2 * dmg, 0, 0, 0, 3 * dmg, 0, 0]


def test_hit_base_one_always_hits_and_zero_never_at_equal_levels():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11), health=10)])
    for hit_base, damage in ((1.0, 5), (0.0, 0)):
        for seed in range(8):
            _, out, _, _, info = run(s, act(target={0: 1}), seed=seed, params=P(hit_base=hit_base))
            assert int(out.agents.damage[1]) == damage and bool(info["attack_hit"][0]) == (damage > 0)


@pytest.mark.parametrize("attacker,defender,hits", [(99, 1, True), (1, 99, False)])
def test_hit_level_divisor(attacker, defender, hits):
    # hit_base 0, divisor 98: chance (L_a - L_d) / 98 is 1 or -1.
    s = scene([dict(slot=0, pos=(10, 10), levels={nj.MELEE_SKILL: attacker}),
               dict(slot=1, pos=(10, 11), levels={nj.DEFENSE: defender})])
    for seed in range(8):
        _, _, _, _, info = run(s, act(target={0: 1}), seed=seed,
                               params=P(hit_base=0.0, hit_level_divisor=98.0))
        assert bool(info["attack_hit"][0]) == hits


def test_freeze_ticks():
    params = P(hit_base=1.0, freeze_ticks=5)
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 13))])
    _, s, *_ = run(s, act(style={0: nj.MAGE}, target={0: 1}), params=params)
    assert int(s.agents.freeze[1]) == 5
    cols = []
    for tick in range(5):
        _, s, *_ = run(s, act(move={1: nj.EAST}), seed=tick, params=params)
        cols.append(int(s.agents.pos[1, 1]))
    assert cols == [13, 13, 13, 13, 14]


def test_style_ranges_reach_and_mask():
    # The target stands 2 tiles away: melee reaches with melee_range 2, range not with 0.
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 12))])
    default = P(hit_base=1.0)
    params = P(hit_base=1.0, melee_range=2, range_range=0, mage_range=7)
    for style, want_default, want in ((nj.MELEE, 0, 5), (nj.RANGE, 3, 0), (nj.MAGE, 1, 1)):
        _, out, *_ = run(s, act(style={0: style}, target={0: 1}), params=default)
        assert int(out.agents.damage[1]) == want_default
        obs, out, *_ = run(s, act(style={0: style}, target={0: 1}), params=params)
        assert int(out.agents.damage[1]) == want
    assert obs.entity_slot[0, 1] == 1
    assert obs.target_mask[0, :, 1].tolist() == [True, False, True]  # melee, range, mage
    obs, *_ = run(s, params=default)
    assert obs.target_mask[0, :, 1].tolist() == [False, True, True]


def test_start_levels_and_immunity_at_spawn():
    params = nj.default_params(SMALL, constitution_start_level=20, fishing_start_level=15,
                               hunting_start_level=12, combat_start_level=3, spawn_immunity=4)
    _, s, _, _, info = jit_step(jax.random.PRNGKey(0), scene([], config=SMALL), act(SMALL), SMALL,
                                params)
    (i,) = np.flatnonzero(np.asarray(info["spawned"]))
    ag = s.agents
    assert level(ag.xp[i], SMALL).tolist() == [20, 3, 3, 3, 3, 15, 12]
    assert ag.xp[i].tolist() == [xp_for(lvl) for lvl in (20, 3, 3, 3, 3, 15, 12)]
    chex.assert_trees_all_equal(ag.xp[i], start_xp(params))
    assert (int(ag.health[i]), int(ag.food[i]), int(ag.water[i]), int(ag.immune[i])) == (20, 12, 15, 4)


@pytest.mark.parametrize("prob,forests", [(1.0, 32 * 32), (0.0, 0)])
def test_regrow_prob_extremes(prob, forests):
    s = scene([], fill=nj.SCRUB)
    for seed in range(3):
        _, out, *_ = run(s, seed=seed, params=P(regrow_prob=prob))
        assert int((out.tiles == nj.FOREST).sum()) == forests
        assert int((out.tiles == nj.SCRUB).sum()) == 32 * 32 - forests


def test_terrain_thresholds_and_noise_change_the_map():
    generate = jax.jit(terrain.generate, static_argnames="config")
    key = jax.random.PRNGKey(4)
    n, b = SMALL.map_size, SMALL.border
    inner = (slice(b + 1, n - 1 - b),) * 2

    def tiles(**changes):
        return np.asarray(generate(key, SMALL, nj.default_params(SMALL, **changes)))

    base = tiles()
    np.testing.assert_array_equal(base, np.asarray(generate(key, SMALL)))  # None: the defaults
    assert {nj.WATER, nj.GRASS, nj.FOREST, nj.STONE} <= set(np.unique(base[inner]).tolist())
    # The same heights, cut at other thresholds: a higher water line only floods.
    wet = tiles(water_threshold=0.5)
    assert (wet[base == nj.WATER] == nj.WATER).all()
    assert (wet != base).any() and (wet[wet != nj.WATER] == base[wet != nj.WATER]).all()
    # Empty bands: no grass when grass = water, no forest when forest = grass.
    no_grass = tiles(grass_threshold=0.3)
    assert not (no_grass[inner] == nj.GRASS).any()
    assert (no_grass[base != nj.GRASS] == base[base != nj.GRASS]).all()
    no_forest = tiles(forest_threshold=0.57)
    assert not (no_forest[inner] == nj.FOREST).any()
    only_water = tiles(water_threshold=1.0, grass_threshold=1.0, forest_threshold=1.0)
    assert (only_water[inner] == nj.WATER).sum() >= only_water[inner].size - 1  # h < 1 but at its max
    # Everything outside the interior (lava border, grass ring) stays.
    outside = np.ones((n, n), bool)
    outside[inner] = False
    for other in (wet, no_grass, no_forest, only_water):
        np.testing.assert_array_equal(other[outside], base[outside])
    # Other noise: other heights.
    assert (tiles(noise_frequency=3.0)[inner] != base[inner]).mean() > 0.3


# ----------------------------------------------------------- per-world params
@pytest.mark.slow
def test_each_world_of_a_batch_steps_with_its_own_params():
    """World w of a vmapped batch with stacked params equals one world stepped
    alone with its own params, every output of every tick."""
    worlds = [nj.default_params(SMALL),
              nj.default_params(SMALL, hit_base=0.9, food_decay=2, regrow_prob=0.3,
                                melee_range=2, freeze_ticks=5, heal_fraction=0.3,
                                melee_damage=(8.0, 40.0), constitution_start_level=12,
                                spawn_immunity=2, water_threshold=0.4)]
    batch = stack(worlds)
    reset_b = jax.jit(jax.vmap(nj.reset, in_axes=(0, None, 0)), static_argnums=1)
    step_b = jax.jit(jax.vmap(nj.step, in_axes=(0, 0, 0, None, 0)), static_argnums=3)
    policy = jax.jit(jax.vmap(random_policy))
    key = jax.random.PRNGKey(21)
    keys = jax.random.split(key, 2)
    out_b = reset_b(keys, SMALL, batch)
    singles = [jit_reset(keys[w], SMALL, p) for w, p in enumerate(worlds)]
    for w in range(2):
        chex.assert_trees_all_equal(pick(out_b, w), singles[w])
    for t in range(20):
        k_act, k_step = jax.random.split(jax.random.fold_in(key, t))
        actions = policy(jax.random.split(k_act, 2), out_b[0])
        step_keys = jax.random.split(k_step, 2)
        out_b = step_b(step_keys, out_b[1], actions, SMALL, batch)
        singles = [jit_step(step_keys[w], singles[w][1], pick(actions, w), SMALL, p)
                   for w, p in enumerate(worlds)]
        for w in range(2):
            chex.assert_trees_all_equal(pick(out_b, w), singles[w])
    tiles = np.asarray(out_b[1].tiles)
    assert (tiles[0] != tiles[1]).any()  # the worlds' numbers made them differ


def test_a_new_value_does_not_recompile():
    traces = []

    def counted(key, state, actions, params):
        traces.append(1)
        return nj.advance(key, state, actions, SCENE, params)

    f = jax.jit(counted)
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11), health=10)], fill=nj.SCRUB)
    attack = act(target={0: 1})
    cases = [({}, lambda s: 0 < int((s.tiles == nj.FOREST).sum()) < 100),  # 2.5% of 1024
             (dict(regrow_prob=1.0), lambda s: int((s.tiles == nj.FOREST).sum()) == 32 * 32),
             (dict(hit_base=1.0), lambda s: int(s.agents.damage[1]) == 5),
             (dict(hit_base=0.0), lambda s: int(s.agents.damage[1]) == 0),
             (dict(regrow_prob=0.0, melee_damage=(7.0, 0.0), hit_base=1.0),
              lambda s: int(s.agents.damage[1]) == 7 and not (s.tiles == nj.FOREST).any()),
             (dict(freeze_ticks=9, food_decay=4, hit_base=0.0), lambda s: int(s.agents.food[0]) == 6)]
    for changes, check in cases:
        state, *_ = f(jax.random.PRNGKey(0), s, attack, P(**changes))
        assert check(state), changes  # the new value reached its rule
    assert len(traces) == 1
    # The library's jitted step: one compiled program for every value.
    obs, state = nj.jit_reset(jax.random.PRNGKey(0), SMALL, nj.default_params(SMALL))
    nj.jit_step(jax.random.PRNGKey(1), state, act(SMALL), SMALL, nj.default_params(SMALL))
    size = nj.jit_step._cache_size()
    for changes in (dict(regrow_prob=0.5), dict(hit_base=1.0), dict(hit_base=0.25, food_decay=3)):
        nj.jit_step(jax.random.PRNGKey(1), state, act(SMALL), SMALL, P(SMALL, **changes))
    assert nj.jit_step._cache_size() == size


@pytest.mark.slow
@pytest.mark.parametrize("preset,ticks", [("small", 20), ("default", 3)])
def test_explicit_default_params_are_params_none_bit_for_bit(preset, ticks):
    config = nj.Config.preset(preset)
    params = nj.default_params(config)
    key = jax.random.PRNGKey(8)
    none = jit_reset(key, config)
    given = jit_reset(key, config, params)
    chex.assert_trees_all_equal(none, given)
    policy = jax.jit(random_policy)
    for t in range(ticks):
        k_act, k_step = jax.random.split(jax.random.fold_in(key, t))
        actions = policy(k_act, none[0])
        none = jit_step(k_step, none[1], actions, config)
        given = jit_step(k_step, given[1], actions, config, params)
        chex.assert_trees_all_equal(none, given)


# ------------------------------------------------------------ randomisation
RANGES = {"regrow_prob": (0.01, 0.2), "food_decay": (0, 3), "xp_hunting_per_food": (5, 9),
          "melee_damage": ((2.0, 30.0), (8.0, 60.0)), "hit_base": (0.3, 0.7),
          "water_threshold": (0.2, 0.35), "grass_threshold": (0.5, 0.6),
          "hit_level_divisor": (150.0, 150.0), "heal_fraction": (0.1, 0.1),
          "spawn_immunity": (4, 4)}
DRAWS = 2000
draw_many = jax.jit(jax.vmap(nj.draw_params, in_axes=(0, None)))  # DRAWS keys: one program


def draws_of(ranges, seed):
    return draw_many(jax.random.split(jax.random.PRNGKey(seed), DRAWS), ranges)


@pytest.mark.slow
def test_draws_lie_in_their_ranges():
    base = nj.default_params(SMALL)
    ranges = nj.param_ranges(base, RANGES, SMALL)
    n = DRAWS
    draws = draws_of(ranges, 0)
    nj.check_params(jax.tree.map(np.asarray, draws), SMALL, batch=(n,))
    for name in FIELDS:
        value = np.asarray(getattr(draws, name))
        chex.assert_shape(value, (n, *shape_of(name)))
        chex.assert_type(value, dtype_of(name))
        lo, hi = np.asarray(getattr(ranges.low, name)), np.asarray(getattr(ranges.high, name))
        assert (value >= lo).all() and (value <= hi).all(), name
        if name not in RANGES:  # not varied: exactly the base value
            assert (value == np.asarray(getattr(base, name))).all(), name
    # Fixed fields (low == high) are exactly their value, floats and ints alike.
    assert (np.asarray(draws.hit_level_divisor) == np.float32(150.0)).all()
    assert (np.asarray(draws.heal_fraction) == np.float32(0.1)).all()
    assert (np.asarray(draws.spawn_immunity) == 4).all()
    # Integers: only whole values in [lo, hi], each about equally often.
    for name, (lo, hi) in (("food_decay", (0, 3)), ("xp_hunting_per_food", (5, 9))):
        values, counts = np.unique(np.asarray(getattr(draws, name)), return_counts=True)
        assert values.tolist() == list(range(lo, hi + 1)), name
        share = n / len(values)
        assert (abs(counts - share) < 5 * math.sqrt(share)).all(), (name, counts)
    # Reals spread over their range; pairs vary per component.
    regrow = np.asarray(draws.regrow_prob)
    assert regrow.min() < 0.02 and regrow.max() > 0.19 and len(np.unique(regrow)) > n // 2
    melee = np.asarray(draws.melee_damage)
    assert melee[:, 0].min() < 2.1 and melee[:, 0].max() > 7.9 and melee[:, 1].max() > 59.0
    # A function of the key: the same keys draw the same, others other numbers.
    chex.assert_trees_all_equal(draws, draws_of(ranges, 0))
    assert (np.asarray(draws_of(ranges, 1).regrow_prob) != regrow).mean() > 0.99
    # One world's draw is the vmapped draw of its key.
    one = nj.draw_params(jax.random.split(jax.random.PRNGKey(0), n)[7], ranges)
    chex.assert_trees_all_close(one, pick(draws, 7))


def test_drawn_params_step_a_world():
    ranges = nj.param_ranges(nj.default_params(SMALL), RANGES, SMALL)
    params = jax.tree.map(np.asarray, pick(draws_of(ranges, 1), 0))
    nj.check_params(params, SMALL)
    obs, state = jit_reset(jax.random.PRNGKey(2), SMALL, params)
    obs, state, *_ = jit_step(jax.random.PRNGKey(3), state, act(SMALL), SMALL, params)
    assert int(state.tick) == 1


@pytest.mark.parametrize("ranges,message", [
    ({"food_decay": (3, 1)}, r"^food_decay: LO=3 > HI=1$"),
    ({"melee_damage": ((5, 45), (4, 50))}, r"^melee_damage: LO=\(5.0, 45.0\) > HI=\(4.0, 50.0\)$"),
    ({"speed": (0, 1)}, "^speed: not a Params field"),
    ({"map_size": (16, 32)}, r"^map_size: a Config field \(it sets shapes or compiled structure\), "
                             "not a Params field$"),
    ({"food_decay": 3}, r"^food_decay: expected a range \(LO, HI\), got 3$"),
    ({"food_decay": (0, 1, 2)}, r"^food_decay: expected a range \(LO, HI\), got \(0, 1, 2\)$"),
    ({"regrow_prob": (0.0, 1.5)}, r"^Params.regrow_prob=1.5: must be >= 0.0 and <= 1.0$"),
    ({"food_decay": (-1, 2)}, r"^Params.food_decay=-1: must be >= 0"),
    ({"hit_base": (0.2, NAN)}, r"^Params.hit_base=nan: must be finite$"),
    ({"mage_range": (1, 8)}, r"^Params.mage_range=8: must be <= Config.vision=7"),
    ({"water_threshold": (0.2, 0.6), "grass_threshold": (0.5, 0.7)},
     r"^water_threshold: its range reaches 0.6.*, above the lowest grass_threshold 0.5.*; "
     "a draw could break water <= grass <= forest$"),
    ({"grass_threshold": (0.6, 0.8)}, r"^Params.grass_threshold=0.8.*: must be <= forest_threshold"),
    # The worst draw pairs the highest damage with the lowest divisor, at neither end.
    ({"melee_damage": ((5, 45), (5, 20000)), "damage_level_divisor": (1, 99)},
     r"^Params.xp_constitution_per_damage=20: times a tick's damage .* XP would overflow int32 "
     r"\(the ranges' highest damage and XP with their lowest damage_level_divisor: a draw could "
     r"reach it\)$"),
])
def test_param_ranges_refusals_name_the_field(ranges, message):
    with pytest.raises(ValueError, match=message):
        nj.param_ranges(nj.default_params(nj.Config()), ranges, nj.Config())


def test_param_ranges_at_the_damage_limit_draw_only_valid_params():
    config = nj.Config()
    ranges = nj.param_ranges(nj.default_params(config), {
        "melee_damage": ((5, 45), (5, 1000)), "damage_level_divisor": (1, 99)}, config)
    draws = draws_of(ranges, 3)
    nj.check_params(jax.tree.map(np.asarray, draws), config, batch=(DRAWS,))
    hit = (np.asarray(draws.melee_damage[:, 0]) + np.asarray(draws.melee_damage[:, 1])
           * config.max_level / np.asarray(draws.damage_level_divisor))
    assert hit.max() > 20000  # draws come near the worst case


# ------------------------------------------------------------------ from text
def test_parse_assignments():
    parsed = parse_assignments(["melee_damage=5,45", "regrow_prob=0.1", " food_decay = 2 ",
                                "range_damage = 3.5, 32"])
    assert parsed == {"melee_damage": (5.0, 45.0), "regrow_prob": 0.1, "food_decay": 2.0,
                      "range_damage": (3.5, 32.0)}
    params = nj.default_params(SMALL, **parsed)
    assert params.melee_damage.tolist() == [5.0, 45.0] and params.range_damage.tolist() == [3.5, 32.0]
    chex.assert_type(params.food_decay, np.int32)
    assert params.food_decay == 2 and params.regrow_prob == np.float32(0.1)
    assert parse_assignments([]) == {}


@pytest.mark.parametrize("texts,message", [
    (["food_decay"], r"^--params 'food_decay': expected FIELD=VALUE$"),
    (["speed=3"], r"^speed: not a Params field \(fields: "),
    (["map_size=3"], r"^map_size: a Config field"),
    (["food_decay=abc"], r"^Params.food_decay='abc': not a number$"),
    (["food_decay=1,2"], r"^Params.food_decay='1,2': one number expected$"),
    (["melee_damage=a,b"], r"^Params.melee_damage='a,b': not a number pair BASE,PER_LEVEL$"),
])
def test_parse_assignments_refusals(texts, message):
    with pytest.raises(ValueError, match=message):
        parse_assignments(texts)


@pytest.mark.parametrize("text", ["melee_damage=5", "melee_damage=5,4,3"])
def test_a_pair_of_the_wrong_length_is_refused_by_default_params(text):
    with pytest.raises(ValueError, match="^Params.melee_damage=.*: must be a pair"):
        nj.default_params(SMALL, **parse_assignments([text]))


@pytest.mark.parametrize("name", ["weapon_damage", "ammunition_damage"])
def test_gear_damage_that_would_overflow_a_tick_is_named_only_with_items_on(name):
    with pytest.raises(ValueError, match=rf"^Params.{name}=.*weapon and ammunition of level "
                                         r"item_level_max .* overflow int32$"):
        nj.default_params(nj.Config(inventory_slots=12), **{name: (1e6, 1e6)})
    nj.default_params(nj.Config(), **{name: (1e6, 1e6)})  # no items: the number is never read
