"""Navigation features against a plain-Python breadth-first search."""
from collections import deque

import jax
import numpy as np
import pytest

import nmmo_jax as nj
from policies import navigation as nav

V = 15  # the default window
WALKABLE = (nj.GRASS, nj.SCRUB, nj.FOREST)


def python_distance(tiles: np.ndarray, agents: np.ndarray, start: tuple[int, int], goal: str,
                    max_steps: int) -> int:
    """Fewest 4-neighbour steps from `start` over walkable cells of the window to
    a goal cell, by a breadth-first search from the start (the module searches
    from the goals); nav.UNREACHABLE past max_steps or without a path."""
    v = tiles.shape[0]
    c = v // 2

    def inside(r, q):
        return 0 <= r < v and 0 <= q < v

    def is_goal(r, q):
        if goal == "food":
            return tiles[r, q] == nj.FOREST and agents[r, q] - ((r, q) == (c, c)) == 0
        return any(inside(r + dr, q + dq) and tiles[r + dr, q + dq] == nj.WATER
                   for dr, dq in nj.MOVE_DELTAS[1:])

    if not inside(*start) or tiles[start] not in WALKABLE:
        return nav.UNREACHABLE
    seen, queue = {start}, deque([(start, 0)])
    while queue:
        (r, q), d = queue.popleft()
        if is_goal(r, q):
            return d
        if d == max_steps:
            continue
        for dr, dq in nj.MOVE_DELTAS[1:]:
            nxt = (r + dr, q + dq)
            if inside(*nxt) and nxt not in seen and tiles[nxt] in WALKABLE:
                seen.add(nxt)
                queue.append((nxt, d + 1))
    return nav.UNREACHABLE


def python_move_distances(tiles, agents, max_steps) -> np.ndarray:
    c = tiles.shape[0] // 2
    return np.asarray([[python_distance(tiles, agents, (c + dr, c + dq), goal, max_steps)
                        for dr, dq in nj.MOVE_DELTAS] for goal in nav.GOALS])


def random_windows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n windows [n, V, V] with every tile type, and agent counts (the observer at the centre)."""
    rng = np.random.default_rng(seed)
    p = np.asarray([0.06, 0.1, 0.36, 0.1, 0.18, 0.2])  # lava water grass scrub forest stone
    tiles = rng.choice(nj.NUM_TILE_TYPES, size=(n, V, V), p=p).astype(np.int8)
    tiles[:, V // 2, V // 2] = rng.choice(WALKABLE, size=n)  # a living agent's cell
    agents = (rng.random((n, V, V)) < 0.1).astype(np.int8)
    agents[:, V // 2, V // 2] += 1
    return tiles, agents


distances = jax.jit(nav.move_distances, static_argnums=2)
features = jax.jit(nav.features, static_argnums=2)


@pytest.mark.parametrize("max_steps", [3, 14])
def test_move_distances_match_a_python_breadth_first_search(max_steps):
    tiles, agents = random_windows(300, seed=max_steps)
    got = np.asarray(distances(tiles, agents, max_steps))
    want = np.stack([python_move_distances(t, a, max_steps) for t, a in zip(tiles, agents)])
    np.testing.assert_array_equal(got, want)
    here = want[:, :, 0]
    # The windows exercise every case: reached, unreachable, and (at 3) cut by max_steps.
    assert (here == 0).any() and (here == nav.UNREACHABLE).any() and (here >= 2).any()
    assert ((want[:, :, 1:] == nav.UNREACHABLE) & (here[..., None] < nav.UNREACHABLE)).any()


def test_features_follow_the_distances():
    tiles, agents = random_windows(200, seed=5)
    dist = np.stack([python_move_distances(t, a, 14) for t, a in zip(tiles, agents)])
    got = np.asarray(features(tiles, agents, 14)).reshape(200, 2, nav.FEATURES_PER_GOAL)
    assert got.dtype == np.uint8
    reachable = dist[:, :, 0] < nav.UNREACHABLE
    np.testing.assert_array_equal(got[:, :, 0], reachable)
    np.testing.assert_array_equal(got[:, :, 1], np.where(reachable, dist[:, :, 0], 15))
    toward = reachable[..., None] & (dist[:, :, 1:] + 1 == dist[:, :, :1])
    np.testing.assert_array_equal(got[:, :, 2:], toward)
    assert toward.any(axis=-1)[reachable & (dist[:, :, 0] > 0)].all()  # a first step exists


def test_a_hand_built_window_takes_the_way_around():
    """The forest two cells north sits behind stone: the way round is 4 steps,
    starting east; lava closes the south; the water beyond the window's
    edge does not count, the pond inside it does."""
    tiles = np.full((V, V), nj.GRASS, np.int8)
    agents = np.zeros((V, V), np.int8)
    c = V // 2
    agents[c, c] = 1
    tiles[c - 1, c] = nj.STONE
    tiles[c - 2, c] = nj.FOREST
    tiles[c + 1, c] = nj.LAVA
    tiles[c - 1, c - 1] = nj.STONE  # the way round west is one step longer
    tiles[V - 1, V - 1] = nj.WATER  # corner pond: its edge cells are 14 steps away
    dist = np.asarray(distances(tiles, agents, 14))
    np.testing.assert_array_equal(dist[0], [4, nav.UNREACHABLE, nav.UNREACHABLE, 3, 5])
    np.testing.assert_array_equal(dist[1], [13, nav.UNREACHABLE, nav.UNREACHABLE, 12, 14])
    feats = np.asarray(features(tiles, agents, 14)).reshape(2, -1)
    np.testing.assert_array_equal(feats[0], [1, 4, 0, 0, 1, 0])  # go east
    np.testing.assert_array_equal(feats[1], [1, 13, 0, 0, 1, 0])

    agents[c - 2, c] = 1  # another agent takes the forest: no food left in view
    tiles[V - 1, V - 1] = nj.GRASS  # and no water
    feats = np.asarray(features(tiles, agents, 14)).reshape(2, -1)
    np.testing.assert_array_equal(feats, [[0, 15, 0, 0, 0, 0]] * 2)


def test_bad_window_raises():
    with pytest.raises(ValueError, match="window 17"):
        nav.move_distances(np.zeros((17, 17), np.int8), np.zeros((17, 17), np.int8), 14)
