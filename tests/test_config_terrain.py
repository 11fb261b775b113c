"""Config validation and presets; terrain generation (docs/rules.md §1)."""
import jax
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax import terrain


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


def test_map_layout_and_mix():
    cfg = nj.Config()
    maps = np.asarray(jax.jit(jax.vmap(lambda k: terrain.generate(k, cfg)))(
        jax.random.split(jax.random.PRNGKey(0), 16)))
    assert maps.dtype == np.int8
    lava = np.ones((80, 80), bool)
    lava[9:71, 9:71] = False
    assert (maps[:, lava] == nj.LAVA).all()
    for r, c in np.ndindex(80, 80):
        if 9 <= r <= 70 and 9 <= c <= 70 and (r in (9, 70) or c in (9, 70)):
            assert (maps[:, r, c] == nj.GRASS).all()
    inner = maps[:, 10:70, 10:70]
    mix = [float((inner == t).mean()) for t in (nj.WATER, nj.GRASS, nj.FOREST, nj.STONE)]
    for got, want in zip(mix, (0.08, 0.47, 0.28, 0.17)):
        assert abs(got - want) < 0.04, mix
    assert not (inner == nj.LAVA).any() and not (inner == nj.SCRUB).any()
    assert (maps[0] != maps[1]).mean() > 0.3  # different keys, different maps


def test_ring_cells_cover_perimeter():
    cfg = nj.Config()
    cells = np.asarray(terrain.ring_cell(np.arange(cfg.num_ring_cells), cfg))
    assert len({tuple(c) for c in cells}) == cfg.num_ring_cells
    assert all(max(abs(r - 39.5), abs(c - 39.5)) == 30.5 for r, c in cells)
