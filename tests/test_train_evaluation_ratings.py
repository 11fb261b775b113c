"""train/evaluation/ratings.py: OpenSkill ratings of tournament games, seeded and anchored."""
from train.evaluation.ratings import ANCHOR_MU, rate


def test_ratings_are_deterministic_for_a_seed_and_anchored():
    names = ["forager", "a", "b"]
    games = [([0, 1], [3.0, 1.0]), ([1, 2], [2.0, 1.0]), ([0, 1, 2], [5.0, 4.0, 1.0]),
             ([0, 2], [2.0, 2.0])]
    first = rate(names, games, seed=7)
    assert first == rate(names, games, seed=7)
    assert first != rate(names, games, seed=8)  # the game order changes the updates
    r = first["ratings"]
    assert first["anchor"] == "forager" and r["forager"]["mu"] == ANCHOR_MU
    assert r["forager"]["mu"] > r["a"]["mu"] > r["b"]["mu"]
    assert all(0 < x["sigma"] < 25 / 3 for x in r.values())  # every game made them surer
    assert rate(["a", "b"], [([0, 1], [2.0, 1.0])], seed=0)["anchor"] is None
