"""scripts/survival.py agrees with the evaluation and counts the lives still running."""
import math

import numpy as np

from policies import scripted
from scripts.survival import survival
from train.evaluate import evaluate, play


def test_survival_matches_the_evaluation_and_adds_the_running_lives(small):
    row = survival(scripted.forager, small, ticks=60, worlds=2, warmup=0)
    ref = evaluate(scripted.forager, small, ticks=60, worlds=2)
    assert math.isclose(row["mean_ended"], ref["mean_lifetime"], rel_tol=1e-6)
    assert math.isclose(row["mean_alive"], ref["mean_alive"], rel_tol=1e-6)
    assert math.isclose(row["ended_per_1000"], ref["lives_ended"] / 2 * 1000 / 60)
    # every life of the window: the ended ones, and the running ones at their age now
    (done, life), final = play(scripted.forager, small, 60, 2,
                               record=lambda d, info: (d, info["lifetime"]))
    running = np.asarray(final.agents.time_alive)[np.asarray(final.agents.alive)]
    lives = np.concatenate([np.asarray(life)[np.asarray(done)], running])
    assert running.size > 0 and math.isclose(row["mean_age_all"], lives.mean(), rel_tol=1e-6)
