"""train/evaluate.py and train/matches.py: the population evaluation's numbers."""
import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from policies.scripted import forager, random_policy
from train.evaluate import evaluate, evaluate_settings, format_table, summarize, yardsticks
from train.matches import Sums, holders_for_all, play, play_each, tick_counts


def hand_sums() -> Sums:
    """One window of 10 ticks, 2 worlds, 2 populations, with round numbers."""
    z = lambda *shape: np.zeros((1,) + shape, np.int64)
    s = Sums(alive=z(2, 2), spawns=z(2, 2), ended=z(2, 2), ended_age=z(2, 2),
             deaths=z(2, 2, 3), kills=np.zeros((1, 2, 2, 2), np.float32),
             food=np.zeros((1, 2, 2), np.float32), water=np.zeros((1, 2, 2), np.float32),
             forests_start=z(2), forests_end=z(2), forests_reset=np.array([100, 50]))
    # World 0 holds 30 + 10 agent-ticks, world 1 50 + 10: 4 and 6 alive per tick.
    s.alive[0] = [[30, 10], [50, 10]]
    s.spawns[0] = [[2, 0], [3, 0]]  # 5 spawns in 20 world-ticks
    s.ended[0] = [[1, 0], [2, 1]]
    s.ended_age[0] = [[12, 0], [30, 6]]  # ended lives: 12, and 30 + 6 over three
    s.deaths[0, 1, 0] = [0, 2, 0]  # two starved, one killed
    s.deaths[0, 1, 1] = [0, 0, 1]
    s.food[0] = [[8, 0], [12, 0]]
    s.forests_end[0] = [50, 40]
    return s


def test_summary_of_hand_built_sums_is_exact():
    row = summarize(hand_sums(), 0, ticks=10)
    assert row["mean_alive"] == 5.0                        # (4 + 6) / 2
    assert row["se_alive"] == pytest.approx(1.0)           # std([4, 6], ddof=1) / sqrt(2)
    assert row["lifetime_little"] == 100 / 5               # alive agent-ticks per spawn
    assert row["mean_lifetime"] == 48 / 4
    assert (row["lives_ended"], row["spawns"]) == (4, 5)
    assert (row["deaths_lava"], row["deaths_starvation"], row["deaths_combat"]) == (0, 2, 1)
    assert row["food_per_agent_tick"] == pytest.approx(20 / 100)
    assert row["forests_left"] == pytest.approx((0.5 + 0.8) / 2)


def test_summary_of_one_population_counts_only_its_cells():
    held = np.array([[True, False], [True, False]])
    row = summarize(hand_sums(), 0, ticks=10, held=held)
    assert row["mean_alive"] == 4.0                        # (3 + 5) / 2
    assert row["lifetime_little"] == 80 / 5
    assert row["mean_lifetime"] == 42 / 3
    assert row["deaths_combat"] == 0 and row["deaths_starvation"] == 2


def test_tick_counts_credit_a_combat_death_to_its_hitters():
    cfg = nj.Config.small(num_populations=2)
    a = cfg.num_agents
    state = nj.initial_state(jnp.full((cfg.map_size, cfg.map_size), nj.GRASS, jnp.int8), cfg)
    done = jnp.zeros(a, bool).at[3].set(True)
    info = {"death_cause": jnp.zeros(a, jnp.int32).at[3].set(nj.CAUSE_COMBAT),
            "attack_target": jnp.arange(a).at[0].set(3).at[2].set(3),
            "attack_hit": jnp.zeros(a, bool).at[0].set(True).at[2].set(True),
            "alive": jnp.zeros(a, bool).at[0].set(True).at[2].set(True),
            "spawned": jnp.zeros(a, bool), "lifetime": jnp.zeros(a, jnp.int32).at[3].set(17)}
    c = jax.tree.map(np.asarray, tick_counts(state, state, done, info, cfg))
    chex.assert_shape([c["alive"], c["spawns"], c["ended"], c["food"], c["water"]], (2,))
    chex.assert_shape(c["deaths"], (2, 3))
    chex.assert_shape(c["kills"], (2, 2))
    # Slots 0 and 2 (population 0) share the kill of slot 3 (population 1).
    np.testing.assert_allclose(c["kills"], [[0, 1], [0, 0]])
    np.testing.assert_array_equal(c["deaths"], [[0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(c["alive"], [2, 0])
    np.testing.assert_array_equal(c["ended_age"], [0, 17])


def test_first_ticks_of_a_fresh_map_are_exact(small):
    row = evaluate(forager, small, ticks=10, worlds=1)
    # One spawn per tick and no deaths yet: 2, 3, ..., 11 alive after ticks 1..10.
    assert row["mean_alive"] == 6.5 and row["lives_ended"] == 0
    assert row["spawns"] == 10 and row["lifetime_little"] == 6.5


@pytest.mark.slow
def test_windows_count_only_their_ticks(small):
    """A settled window [40, 50) holds exactly the ticks of [0, 50) that [0, 40) lacks."""
    holders = holders_for_all(2, small)
    s = play([forager], holders, small, [(0, 40), (0, 50), (40, 50)], seed=5)
    for field in ("alive", "spawns", "ended", "ended_age", "deaths"):
        x = getattr(s, field)
        np.testing.assert_array_equal(x[1] - x[0], x[2], err_msg=field)
    alone = play([forager], holders, small, [(40, 50)], seed=5)
    # the same ticks whatever the other windows: every window field equal
    per_window = lambda sums, start: {k: v[start:] for k, v in sums._asdict().items()
                                      if k != "forests_reset"}
    chex.assert_trees_all_equal(per_window(s, 2), per_window(alone, 0))
    settled = evaluate_settings({"f": forager}, small, ticks=10, worlds=2, seed=5, warmup=40)["f"]
    assert settled["settled"]["mean_alive"] == pytest.approx(s.alive[2].sum() / 10 / 2)
    with pytest.raises(ValueError, match="warmup"):
        evaluate(forager, small, ticks=10, worlds=1, warmup=-1)


@pytest.mark.slow
def test_each_policy_alone_equals_its_own_match(small):
    """play_each runs the policies one after the other in one program: policy i's
    Sums are those of its own one-policy match (same maps, same keys)."""
    each = play_each([forager, random_policy], small, 2, [(0, 20)], seed=3)
    for policy, sums in zip((forager, random_policy), each):
        chex.assert_trees_all_equal(sums, play([policy], holders_for_all(2, small), small,
                                               [(0, 20)], seed=3))
    assert each[0].deaths[..., 0].sum() == 0 < each[1].deaths[..., 0].sum()  # lava: random only


@pytest.mark.slow
def test_two_policies_hold_their_populations(small):
    cfg = small.replace(num_populations=2)
    holders = np.array([[0, 1], [1, 0]])
    s = play([forager, random_policy], holders, cfg, [(0, 30)], seed=1)
    mixed = [summarize(s, 0, 30, held=holders == i)["mean_alive"] for i in range(2)]
    assert mixed[0] + mixed[1] == pytest.approx(summarize(s, 0, 30)["mean_alive"])
    assert mixed[0] > mixed[1] > 0  # random walks into lava, the forager does not


@pytest.mark.slow
def test_yardsticks_are_cached_and_reused(small, tmp_path, monkeypatch):
    import train.evaluate as ev
    monkeypatch.setattr(ev, "_code_fingerprint", lambda: "code-a")
    first = yardsticks(small, ticks=5, worlds=1, warmup=3, cache_dir=tmp_path)
    assert set(first) == {"random", "forager", "yielding_forager", "careful_forager", "combat"}
    (cached,) = tmp_path.glob("*.json")
    doc = json.loads(cached.read_text())
    doc["sums"]["forager"]["alive"][0][0][0] += 50  # a cache hit returns the file's sums
    cached.write_text(json.dumps(doc))
    again = yardsticks(small, ticks=5, worlds=1, warmup=3, cache_dir=tmp_path)
    assert again["forager"]["fresh"]["mean_alive"] == first["forager"]["fresh"]["mean_alive"] + 10
    shipped = tmp_path / "shipped"  # sums shipped with the code are read first
    shipped.mkdir()
    doc["sums"]["forager"]["alive"][0][0][0] += 50
    (shipped / cached.name).write_text(json.dumps(doc))
    monkeypatch.setattr(ev, "SHIPPED_DIR", shipped)
    assert yardsticks(small, 5, 1, warmup=3)["forager"]["fresh"]["mean_alive"] == \
        first["forager"]["fresh"]["mean_alive"] + 20
    monkeypatch.setattr(ev, "_code_fingerprint", lambda: "code-b")  # the code changed
    other = yardsticks(small, ticks=5, worlds=1, warmup=3, cache_dir=tmp_path)
    assert other["forager"]["fresh"]["mean_alive"] == first["forager"]["fresh"]["mean_alive"]
    table = format_table(first, 5, 1, 3)
    assert "careful_forager" in table and "settled = ticks 4-8" in table


@pytest.mark.slow
def test_shipped_pretrained_policy_keeps_more_alive_than_the_forager():
    from train.evaluate import greedy_policy, load_trained
    model, params, cfg = load_trained("pretrained")
    rows = {name: both["settled"] for name, both in evaluate_settings(
        {"trained": greedy_policy(model, params), "forager": forager},
        cfg, ticks=500, worlds=8, warmup=2000).items()}
    # fixed seed: deterministic; the margin is two standard errors of the difference
    se = (rows["trained"]["se_alive"] ** 2 + rows["forager"]["se_alive"] ** 2) ** 0.5
    assert rows["trained"]["mean_alive"] > rows["forager"]["mean_alive"] + 2 * se, rows
