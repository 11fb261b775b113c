"""viz.draw: frame shapes, tile colours, agent markers, health bars, attack lines, deaths."""
from __future__ import annotations

import jax
import numpy as np
import pytest

import nmmo_jax as nj
from tests.conftest import SCENE, scene
from viz.draw import (DEATH_COLOR, HEALTH_EMPTY_COLOR, HEALTH_FULL_COLOR, OUTLINE_COLOR,
                      POPULATION_COLORS, STYLE_COLORS, TILE_COLORS, population_colors,
                      render, render_arrays)

S = 8  # pixels per tile in most tests


def block(img: np.ndarray, r: int, c: int, scale: int = S) -> np.ndarray:
    """The scale x scale pixels of tile (r, c)."""
    return img[r * scale:(r + 1) * scale, c * scale:(c + 1) * scale]


def centre(img: np.ndarray, r: int, c: int, scale: int = S) -> list[int]:
    return img[r * scale + scale // 2, c * scale + scale // 2].tolist()


@pytest.mark.parametrize("scale", [1, 3, 8])
def test_shape_and_dtype(scale):
    img = render(scene([dict(slot=0, pos=(5, 5))]), SCENE, scale=scale)
    assert img.shape == (32 * scale, 32 * scale, 3) and img.dtype == np.uint8


def test_tile_colours():
    kinds = {(2, 3): nj.LAVA, (2, 4): nj.WATER, (2, 5): nj.GRASS, (2, 6): nj.SCRUB,
             (2, 7): nj.FOREST, (2, 8): nj.STONE}
    img = render(scene([], tiles=kinds, fill=nj.GRASS), SCENE, scale=S)
    for (r, c), kind in kinds.items():
        assert (block(img, r, c) == TILE_COLORS[kind]).all(), nj.TILE_NAMES[kind]
    assert (img[: 2 * S] == TILE_COLORS[nj.GRASS]).all()  # rows 0-1: all grass
    assert len({tuple(map(int, c)) for c in TILE_COLORS}) == 6  # every kind looks different


def test_agents_are_population_coloured_discs_with_health_bars():
    s = scene([dict(slot=0, pos=(10, 12)),                  # population 0, full health
               dict(slot=5, pos=(20, 7), health=5),         # population 1, half health
               dict(slot=7, pos=(3, 3), health=1)])         # population 3, 1 of 10
    img = render(s, SCENE, scale=S)
    assert centre(img, 10, 12) == POPULATION_COLORS[0].tolist()
    assert centre(img, 20, 7) == POPULATION_COLORS[1].tolist()
    assert centre(img, 3, 3) == POPULATION_COLORS[3].tolist()
    # Bar: top pixel row of the tile, 1 px in from each side: 6 px wide at scale 8.
    bar = lambda r, c: block(img, r, c)[0, 1:S - 1]
    assert (bar(10, 12) == HEALTH_FULL_COLOR).all()
    assert (bar(20, 7)[:3] == HEALTH_FULL_COLOR).all() and (bar(20, 7)[3:] == HEALTH_EMPTY_COLOR).all()
    assert (bar(3, 3)[:1] == HEALTH_FULL_COLOR).all() and (bar(3, 3)[1:] == HEALTH_EMPTY_COLOR).all()
    # Dark outline around the disc; tile corners keep the ground colour.
    assert (block(img, 10, 12)[S // 2, 0] == OUTLINE_COLOR).all()
    assert (block(img, 10, 12)[S - 1, S - 1] == TILE_COLORS[nj.GRASS]).all()
    # An empty slot (not alive) is not drawn, even though its pos is (0, 0).
    assert (block(img, 0, 0) == TILE_COLORS[nj.GRASS]).all()


def test_health_bar_uses_constitution_level_as_max():
    s = scene([dict(slot=0, pos=(6, 6), health=10, levels={nj.CONSTITUTION: 20})])
    bar = block(render(s, SCENE, scale=S), 6, 6)[0, 1:S - 1]
    assert (bar[:3] == HEALTH_FULL_COLOR).all() and (bar[3:] == HEALTH_EMPTY_COLOR).all()


def test_small_scales_fill_the_tile_and_skip_bars():
    s = scene([dict(slot=2, pos=(4, 9), health=3)])
    img = render(s, SCENE, scale=2)
    assert (block(img, 4, 9, 2) == POPULATION_COLORS[2]).all()


def test_attack_lines_in_style_colours():
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 13)),
               dict(slot=2, pos=(20, 10)), dict(slot=3, pos=(21, 10))])
    img = render(s, SCENE, scale=S, attacks=[(0, 1, nj.MAGE), (3, 2, nj.MELEE)])
    row = 10 * S + S // 2
    # The mage line crosses the empty tiles between the two agents on the centre row.
    for x in range(11 * S, 13 * S):
        assert img[row, x].tolist() == STYLE_COLORS[nj.MAGE].tolist(), x
    col = 10 * S + S // 2
    assert img[20 * S + S - 1, col].tolist() == STYLE_COLORS[nj.MELEE].tolist()
    # No attacks, no lines: the same pixels are grass again.
    plain = render(s, SCENE, scale=S)
    assert plain[row, 11 * S + 1].tolist() == TILE_COLORS[nj.GRASS].tolist()
    with pytest.raises(ValueError, match="attacks"):
        render(s, SCENE, attacks=[(0, 16, 0)])


def test_dead_this_tick_drawn_as_cross():
    s = scene([dict(slot=0, pos=(8, 8)), dict(slot=1, pos=(8, 20))])
    s = s.replace(agents=s.agents.replace(alive=s.agents.alive.at[1].set(False)))
    died = np.zeros(16, bool)
    died[1] = True
    img = render(s, SCENE, scale=S, died=died)
    cross = block(img, 8, 20)
    assert (np.diagonal(cross) == DEATH_COLOR[:, None]).all()  # both diagonals
    assert (np.diagonal(cross[:, ::-1]) == DEATH_COLOR[:, None]).all()
    assert (block(render(s, SCENE, scale=S), 8, 20) == TILE_COLORS[nj.GRASS]).all()  # not died: gone
    # `died` never turns a living agent into a cross.
    died[0] = True
    assert centre(render(s, SCENE, scale=S, died=died), 8, 8) == POPULATION_COLORS[0].tolist()


def test_later_slots_on_top_and_numpy_input():
    s = scene([dict(slot=0, pos=(5, 5)), dict(slot=1, pos=(5, 5))])
    as_numpy = jax.tree.map(np.asarray, s)
    assert centre(render(as_numpy, SCENE), 5, 5) == POPULATION_COLORS[1].tolist()


@pytest.mark.parametrize("scale", [0, -2, 1.5, True, "4"])
def test_bad_scale(scale):
    with pytest.raises(ValueError, match="scale"):
        render(scene([]), SCENE, scale=scale)


def test_batched_state_and_bad_positions_refused():
    s = scene([])
    batch = jax.tree.map(lambda x: np.stack([x, x]), s)
    with pytest.raises(ValueError, match="one world"):
        render(batch, SCENE)
    with pytest.raises(ValueError, match="pos"):
        render_arrays(np.zeros((4, 4), np.int8), [[4, 0]], [0])


def test_population_palette_cycles():
    assert (population_colors(20)[16:] == POPULATION_COLORS[:4]).all()
