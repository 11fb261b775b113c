"""Skill ratings from tournament games: OpenSkill's Plackett-Luce model, anchored.

A game is one world of one match: the entrants that met there and a score
each (higher is better). Bayesian updates depend on the order of the games,
so the order is shuffled by a seed: the same games and seed give the same
ratings. The ratings are then shifted so that the anchor entrant (`forager`
by default) sits at ANCHOR_MU; only differences between ratings carry
meaning, and the shift keeps them comparable across tournaments.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from openskill.models import PlackettLuce

ANCHOR = "forager"
ANCHOR_MU = 25.0  # OpenSkill's prior mean: the anchor keeps the starting rating


def rate(names: Sequence[str], games: Sequence[tuple[Sequence[int], Sequence[float]]],
         seed: int, anchor: str = ANCHOR) -> dict:
    """Ratings of `names` from `games` [(entrant indices, scores)], each game
    a free-for-all of the listed entrants ranked by score (ties are ties).

    Returns {"ratings": {name: {"mu": float, "sigma": float}}, "anchor": the
    anchor's name, or None when no entrant has it (then the ratings keep
    OpenSkill's prior scale: mu 25, sigma 25/3 before any game)}.
    """
    if len(set(names)) != len(names):
        raise ValueError(f"rate: entrant names must be unique, got {list(names)}")
    model = PlackettLuce()
    ratings = [model.rating(name=n) for n in names]
    for g in np.random.default_rng(seed).permutation(len(games)):
        who, scores = games[g]
        rated = model.rate([[ratings[i]] for i in who], scores=[float(s) for s in scores])
        for i, (r,) in zip(who, rated):
            ratings[i] = r
    shift = ANCHOR_MU - ratings[list(names).index(anchor)].mu if anchor in names else 0.0
    return {"ratings": {n: {"mu": r.mu + shift, "sigma": r.sigma} for n, r in zip(names, ratings)},
            "anchor": anchor if anchor in names else None}
