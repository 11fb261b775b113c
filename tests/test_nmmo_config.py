"""nmmo_jax.config: the scale presets and the validation of every field (the
numbers of the rules are Params fields: tests/test_nmmo_params.py)."""
import dataclasses

import jax
import numpy as np
import pytest

import nmmo_jax as nj


def test_presets_by_name():
    assert nj.Config.PRESETS == ("small", "default", "large", "nmmo2")
    assert nj.Config.preset("default") == nj.Config()
    small = nj.Config.preset("small")
    assert (small.map_size, small.num_agents, small.num_populations, small.max_entities) == (32, 16, 4, 8)
    assert small == nj.Config.small()
    large = nj.Config.preset("large", vision=5)
    assert (large.map_size, large.num_agents, large.num_populations, large.vision) == (256, 1024, 16, 5)
    assert large == nj.Config.large(vision=5)


def test_unknown_preset_lists_the_names():
    with pytest.raises(ValueError, match="unknown preset 'huge': choose one of small, default, large, nmmo2"):
        nj.Config.preset("huge")


def test_every_field_has_a_check():
    from nmmo_jax.config import _FIELDS
    assert list(_FIELDS) == [f.name for f in dataclasses.fields(nj.Config)]
    assert list(_FIELDS) == ["map_size", "border", "noise_octaves", "num_agents",
                             "num_populations", "spawn_per_tick", "max_level", "vision",
                             "max_entities", "num_npcs", "inventory_slots", "professions"]


@pytest.mark.parametrize("field,value", [
    # types: strings, bools, floats, None and arrays are not integers
    ("num_agents", "16"), ("map_size", 32.0), ("vision", 7.5), ("max_level", True),
    ("spawn_per_tick", np.bool_(True)), ("border", None), ("noise_octaves", np.array([3])),
    ("max_entities", float("inf")), ("num_populations", float("nan")),
    # ranges of one field
    ("map_size", 0), ("map_size", 46341), ("num_agents", 0), ("num_agents", 2 ** 31),
    ("num_populations", 0), ("noise_octaves", 0), ("noise_octaves", 25),
    ("spawn_per_tick", -1), ("border", -1), ("vision", -1),
    ("max_entities", 0), ("max_level", 0), ("max_level", 100),
    # rules between fields
    ("border", 39), ("vision", 40), ("num_populations", 3), ("num_populations", 200),
    ("spawn_per_tick", 129), ("max_entities", 129),
    ("num_npcs", -1), ("num_npcs", 1.0), ("num_npcs", 2 ** 30),  # 2**30: keys overflow int32
    ("inventory_slots", -1), ("inventory_slots", 1025), ("inventory_slots", 2.0),
    ("professions", 2), ("professions", "yes"), ("professions", 1.0),
    ("professions", True),  # harvests into items: needs inventory_slots > 0
])
def test_bad_value_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"Config.{field}="):
        nj.Config(**{field: value})


@pytest.mark.parametrize("make", [
    lambda name: nj.Config.small(**{name: 0.1}),
    lambda name: nj.Config.preset("default", **{name: 0.1}),
    lambda name: nj.Config.large(**{name: 0.1}),
    lambda name: nj.Config().replace(**{name: 0.1}),
])
@pytest.mark.parametrize("name", ["regrow_prob", "hit_base", "melee_damage", "food_decay"])
def test_a_params_field_given_to_config_is_named_as_one(make, name):
    with pytest.raises(ValueError) as error:
        make(name)
    message = str(error.value)
    assert message == (f"Config.{name}: a Params field (a number of the rules, data under "
                       f"jit): nmmo_jax.default_params(config, {name}=...)")
    assert "\n" not in message


def test_professions_is_a_flag_stored_as_bool():
    assert nj.Config.small(inventory_slots=12, professions=1).professions is True
    assert nj.Config.small(professions=np.bool_(False)).professions is False


def test_an_unknown_field_lists_the_config_fields():
    with pytest.raises(ValueError, match=r"^Config.speed: no such field \(fields: border, "
                                         r"inventory_slots, map_size, max_entities, max_level, "
                                         r"noise_octaves, num_agents, num_npcs, num_populations, "
                                         r"professions, spawn_per_tick, vision\)$"):
        nj.Config.small(speed=3)


def test_entity_keys_bound_names_num_agents():
    with pytest.raises(ValueError, match="Config.num_agents=.*entity keys"):
        nj.Config(num_agents=2 ** 28, num_populations=1, max_entities=1)


def test_small_with_four_agents_is_refused_clearly():
    with pytest.raises(ValueError, match=r"Config.max_entities=8: more entity rows than agents "
                                         r"\(num_agents=4\); pass max_entities <= num_agents"):
        nj.Config.small(num_agents=4)
    assert nj.Config.small(num_agents=4, max_entities=4).max_entities == 4


def test_numpy_numbers_are_stored_as_python_numbers():
    config = nj.Config.small(num_agents=np.int64(16), vision=np.int32(5), max_level=np.uint8(50))
    assert config.num_agents == 16 and type(config.num_agents) is int
    assert type(config.vision) is int and type(config.max_level) is int
    assert config == nj.Config.small(vision=5, max_level=50)
    assert hash(config) == hash(config.replace()) == hash(nj.Config.small(vision=5, max_level=50))


def test_presets_and_edge_values_are_valid():
    for name in nj.Config.PRESETS:
        nj.Config.preset(name)
    nj.Config.small(spawn_per_tick=0, border=0, vision=0, max_entities=16, num_populations=16,
                    max_level=10)
    nj.Config(map_size=46340, num_agents=1, num_populations=1, max_entities=1, noise_octaves=24,
              max_level=1)


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
    ("num_populations", 0), ("spawn_per_tick", -1),
])
def test_validation_names_field(field, value):
    with pytest.raises(ValueError, match=field):
        nj.Config(**{field: value})
