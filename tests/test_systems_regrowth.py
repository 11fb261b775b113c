"""Forest regrowth (docs/rules.md §3.8) and resource regrowth (§10.6)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.resources import MATERIALS
from nmmo_jax.systems.regrowth import regrowth
from tests.conftest import SCENE, act, run, scene


def test_regrowth_rate():
    cfg = nj.Config.small(spawn_per_tick=0, map_size=64)
    s = scene([], config=cfg, fill=nj.SCRUB)
    _, s, *_ = run(s, act(cfg), config=cfg)
    rate = float(np.mean(np.asarray(s.tiles) == nj.FOREST))
    assert abs(rate - 0.025) < 0.008, rate  # 4096 tiles: std about 0.0024


# Professions (docs/rules.md §10.6): harvested resource tiles regrow with their
# material's respawn chance, from the items stream.

PROFESSIONS = nj.Config.small(spawn_per_tick=0, inventory_slots=4, professions=True)
RESPAWN_FIELDS = [m.respawn for m in MATERIALS]
DEPLETED = [nj.SLAG, nj.STUMP, nj.FRAGMENT, nj.WEEDS, nj.OCEAN]


def resource_regrowth(key, state, params):
    """regrowth with the resource tiles', its forest seed apart from `key`."""
    return regrowth(jax.random.PRNGKey(7), state, params, key)


def every_tile_kind(config):
    """A map whose rows cycle through all 16 tile kinds."""
    n = config.map_size
    return jnp.asarray(np.arange(n)[:, None] % nj.NUM_PROFESSION_TILE_TYPES
                       * np.ones((1, n), int), jnp.int8)


@pytest.mark.parametrize("field", RESPAWN_FIELDS)
def test_each_depleted_kind_regrows_with_its_own_chance(field):
    params = nj.default_params(PROFESSIONS, **{**{f: 0.0 for f in RESPAWN_FIELDS}, field: 1.0},
                               regrow_prob=0.0)
    s = scene([], config=PROFESSIONS).replace(tiles=every_tile_kind(PROFESSIONS))
    out = jax.jit(resource_regrowth)(jax.random.PRNGKey(0), s, params)
    grown = next(m for m in MATERIALS if m.respawn == field)
    expected = np.where(np.asarray(s.tiles) == grown.tile + 1, grown.tile, np.asarray(s.tiles))
    np.testing.assert_array_equal(out.tiles, expected)
    assert out.tiles.dtype == jnp.int8


def test_nothing_regrows_with_zero_chances_and_scrub_follows_regrow_prob():
    params = nj.default_params(PROFESSIONS, **{f: 0.0 for f in RESPAWN_FIELDS}, regrow_prob=0.0)
    s = scene([], config=PROFESSIONS).replace(tiles=every_tile_kind(PROFESSIONS))
    out = jax.jit(resource_regrowth)(jax.random.PRNGKey(0), s, params)
    np.testing.assert_array_equal(out.tiles, s.tiles)
    params = nj.default_params(PROFESSIONS, **{f: 1.0 for f in RESPAWN_FIELDS}, regrow_prob=0.0)
    out = jax.jit(resource_regrowth)(jax.random.PRNGKey(0), s, params)
    assert int(jnp.sum(out.tiles == nj.FOREST)) == int(jnp.sum(s.tiles == nj.FOREST))
    assert not bool(jnp.isin(out.tiles, jnp.asarray(DEPLETED, jnp.int8)).any())
    # Scrub regrows with its own chance in the same pass; v1.3's regrowth (no
    # resource key) leaves the resource tiles alone.
    params = nj.default_params(PROFESSIONS, **{f: 0.0 for f in RESPAWN_FIELDS}, regrow_prob=1.0)
    for out in (jax.jit(resource_regrowth)(jax.random.PRNGKey(0), s, params),
                jax.jit(regrowth)(jax.random.PRNGKey(0), s, params.replace(
                    **{f: 1.0 for f in RESPAWN_FIELDS}))):
        np.testing.assert_array_equal(np.asarray(out.tiles) != np.asarray(s.tiles),
                                      np.asarray(s.tiles) == nj.SCRUB)


def test_one_pass_draws_as_two_separate_passes():
    # Each tile's draw comes from the seed of its kind: forest from regrowth's,
    # resource tiles from the items seed's sub-stream, as if drawn apart.
    params = nj.default_params(PROFESSIONS, regrow_prob=0.5,
                               **{f: 0.5 for f in RESPAWN_FIELDS})
    s = scene([], config=PROFESSIONS).replace(tiles=every_tile_kind(PROFESSIONS))
    k_forest, k_items = jax.random.PRNGKey(3), jax.random.PRNGKey(4)
    both = jax.jit(regrowth)(k_forest, s, params, k_items).tiles
    forest_only = jax.jit(regrowth)(k_forest, s, params).tiles
    other_forest = jax.jit(regrowth)(jax.random.PRNGKey(5), s, params, k_items).tiles
    scrub, depleted = np.asarray(s.tiles) == nj.SCRUB, np.isin(np.asarray(s.tiles), DEPLETED)
    np.testing.assert_array_equal(np.asarray(both)[scrub], np.asarray(forest_only)[scrub])
    np.testing.assert_array_equal(np.asarray(both)[depleted], np.asarray(other_forest)[depleted])
    assert 0 < np.mean(np.asarray(both)[depleted] != np.asarray(s.tiles)[depleted]) < 1


def test_resource_regrowth_rate():
    cfg = nj.Config.small(spawn_per_tick=0, map_size=64, inventory_slots=4, professions=True)
    s = scene([], config=cfg, fill=nj.SLAG)
    out = jax.jit(resource_regrowth)(jax.random.PRNGKey(1), s, nj.default_params(cfg))
    rate = float(np.mean(np.asarray(out.tiles) == nj.ORE))
    assert abs(rate - 0.10) < 0.02, rate  # 4096 tiles: std about 0.005
