"""nmmo_jax.config: the scale presets and the validation of every field."""
import dataclasses

import jax
import numpy as np
import pytest

import nmmo_jax as nj


def test_presets_by_name():
    assert nj.Config.PRESETS == ("small", "default", "large")
    assert nj.Config.preset("default") == nj.Config()
    small = nj.Config.preset("small")
    assert (small.map_size, small.num_agents, small.num_populations, small.max_entities) == (32, 16, 4, 8)
    assert small == nj.Config.small()
    large = nj.Config.preset("large", vision=5)
    assert (large.map_size, large.num_agents, large.num_populations, large.vision) == (256, 1024, 16, 5)
    assert large == nj.Config.large(vision=5)


def test_unknown_preset_lists_the_names():
    with pytest.raises(ValueError, match="unknown preset 'huge': choose one of small, default, large"):
        nj.Config.preset("huge")


INF, NAN = float("inf"), float("nan")


def test_every_field_has_a_check():
    from nmmo_jax.config import _FIELDS
    assert list(_FIELDS) == [f.name for f in dataclasses.fields(nj.Config)]


@pytest.mark.parametrize("field,value", [
    # types: strings, bools, arrays and tuples are not numbers
    ("regrow_prob", "0.5"), ("num_agents", "16"), ("map_size", 32.0), ("vision", 7.5),
    ("combat_start_level", True), ("hit_base", False), ("spawn_per_tick", np.bool_(True)),
    ("noise_scale", None), ("freeze_ticks", np.array([3])),
    ("melee_damage", ("a", "b")), ("range_damage", (3.0,)), ("mage_damage", "15"),
    ("mage_damage", (1.0, 2.0, 3.0)), ("melee_damage", 5.0),
    # finiteness
    ("noise_frequency", INF), ("noise_frequency", NAN), ("forest_threshold", NAN),
    ("water_threshold", NAN), ("hit_level_divisor", INF), ("damage_level_divisor", NAN),
    ("noise_scale", -INF), ("heal_fraction", NAN), ("melee_damage", (INF, 0.0)),
    ("range_damage", (3.0, NAN)),
    # ranges of one field
    ("map_size", 0), ("map_size", 46341), ("num_agents", 0), ("num_agents", 2 ** 31),
    ("num_populations", 0), ("noise_octaves", 0), ("noise_octaves", 25),
    ("spawn_per_tick", -1), ("spawn_immunity", -1), ("border", -1), ("vision", -1),
    ("max_entities", 0), ("max_level", 0), ("max_level", 100), ("freeze_ticks", 0),
    ("combat_start_level", 0), ("hunting_start_level", 100), ("food_decay", -1),
    ("starve_damage", 2 ** 31), ("mage_range", -2), ("xp_fishing_per_water", -1),
    ("regrow_prob", 1.5), ("hit_base", -0.1), ("eat_fraction", 1.01), ("noise_persistence", 2.0),
    ("water_threshold", 0.0), ("grass_threshold", -0.1), ("forest_threshold", 1.5),
    ("noise_frequency", 0.0), ("noise_scale", -1.0), ("hit_level_divisor", 0.0),
    ("damage_level_divisor", -99.0), ("melee_damage", (5.0, -1.0)),
    # rules between fields
    ("border", 39), ("vision", 40), ("water_threshold", 0.9), ("grass_threshold", 0.8),
    ("num_populations", 3), ("num_populations", 200), ("spawn_per_tick", 129),
    ("max_entities", 129), ("hunting_start_level", 60),
    ("noise_frequency", 2.0 ** 20),  # top octave 2**27
    ("melee_damage", (1e8, 0.0)), ("mage_damage", (0.0, 1e9)),  # a tick's damage overflows
    ("xp_combat_per_damage", 2 ** 20), ("xp_defense_per_damage", 10 ** 6),
    ("xp_constitution_per_damage", 2 ** 30), ("xp_hunting_per_food", 2 ** 24),
])
def test_bad_value_names_the_field(field, value):
    overrides = {"max_level": 50} if field == "hunting_start_level" and value == 60 else {}
    with pytest.raises(ValueError, match=f"Config.{field}="):
        nj.Config(**{field: value, **overrides})


def test_entity_keys_bound_names_num_agents():
    with pytest.raises(ValueError, match="Config.num_agents=.*entity keys"):
        nj.Config(num_agents=2 ** 28, num_populations=1, max_entities=1)


def test_small_with_four_agents_is_refused_clearly():
    with pytest.raises(ValueError, match=r"Config.max_entities=8: more entity rows than agents "
                                         r"\(num_agents=4\); pass max_entities <= num_agents"):
        nj.Config.small(num_agents=4)
    assert nj.Config.small(num_agents=4, max_entities=4).max_entities == 4


def test_numpy_numbers_are_stored_as_python_numbers():
    config = nj.Config.small(num_agents=np.int64(16), regrow_prob=np.float32(0.25),
                             vision=np.int32(5), melee_damage=[np.int64(4), 40],
                             noise_frequency=8)
    assert config.num_agents == 16 and type(config.num_agents) is int
    assert type(config.vision) is int and type(config.regrow_prob) is float
    assert config.regrow_prob == 0.25 and config.noise_frequency == 8.0
    assert config.melee_damage == (4.0, 40.0) and type(config.melee_damage) is tuple
    assert config == nj.Config.small(vision=5, regrow_prob=0.25, melee_damage=(4.0, 40.0),
                                     noise_frequency=8.0)
    assert hash(config) == hash(config.replace())


def test_presets_and_edge_values_are_valid():
    for name in nj.Config.PRESETS:
        nj.Config.preset(name)
    nj.Config.small(spawn_per_tick=0, border=0, vision=0, regrow_prob=1.0, hit_base=0.0,
                    max_entities=16, num_populations=16, max_level=10, combat_start_level=10)


def test_reset_refuses_a_world_without_spawns():
    with pytest.raises(ValueError, match="spawn_per_tick=0"):
        nj.reset(jax.random.PRNGKey(0), nj.Config.small(spawn_per_tick=0))


def test_presets():
    c, s, l = nj.Config(), nj.Config.small(), nj.Config.large()
    assert (c.map_size, c.border, c.num_agents, c.num_populations, c.vision, c.max_entities) == (
        80, 9, 128, 8, 7, 16)
    assert c.num_ring_cells == 4 * 61 and c.window == 15
    assert (s.map_size, s.num_agents, s.num_populations) == (32, 16, 4)
    assert l.map_size >= 256 and l.num_agents >= 1024 and l.num_populations >= 16
    assert hash(c) == hash(nj.Config()) and c == nj.Config()
    assert c.replace(num_agents=64).num_agents == 64


@pytest.mark.parametrize("field,value", [
    ("map_size", 0), ("num_agents", -1), ("border", 39), ("vision", 40), ("max_entities", 0),
    ("regrow_prob", 1.5), ("hit_base", -0.1), ("num_populations", 0), ("spawn_per_tick", -1),
    ("melee_damage", (5.0,)), ("water_threshold", 0.9), ("constitution_start_level", 0),
])
def test_validation_names_field(field, value):
    with pytest.raises(ValueError, match=field):
        nj.Config(**{field: value})
