"""train/evaluation/: the population evaluation's numbers (matches, population), its
yardstick cache and its command line (report)."""
import hashlib
import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from policies.resolve import Resolved
from policies.scripted import forager, random_policy
from train.evaluation import cache, matches, report
from train.evaluation.cache import yardstick_key, yardsticks
from train.evaluation.matches import Sums, holders_for_all, play, play_each, tick_counts
from train.evaluation.numbers import params_changes
from train.evaluation.population import (EVAL_SEED, evaluate, evaluate_settings,
                                         population_ceiling, summarize)
from train.evaluation.report import format_table


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


def test_food_and_water_are_counted_at_the_played_xp_rates():
    """XP gained / XP per point: 40 hunting XP is 4 food points at v1.3's 10 per
    point, 2 at 20; a rate of 0 counts none."""
    cfg = nj.Config.small()
    before = nj.initial_state(jnp.full((cfg.map_size, cfg.map_size), nj.GRASS, jnp.int8), cfg)
    xp = before.agents.xp.at[0, nj.HUNTING].add(40).at[1, nj.FISHING].add(30)
    after = before.replace(agents=before.agents.replace(xp=xp))
    a = cfg.num_agents
    info = {"death_cause": jnp.zeros(a, jnp.int32), "attack_target": jnp.arange(a),
            "attack_hit": jnp.zeros(a, bool), "alive": jnp.ones(a, bool),
            "spawned": jnp.zeros(a, bool), "lifetime": jnp.zeros(a, jnp.int32)}
    count = lambda params: tick_counts(before, after, jnp.zeros(a, bool), info, cfg, params)
    v13 = count(None)
    np.testing.assert_array_equal(v13["food"], [4, 0, 0, 0])   # slot 0: population 0
    np.testing.assert_array_equal(v13["water"], [0, 3, 0, 0])  # slot 1: population 1
    other = count(nj.default_params(cfg, xp_hunting_per_food=20, xp_fishing_per_water=0))
    np.testing.assert_array_equal(other["food"], [2, 0, 0, 0])
    np.testing.assert_array_equal(other["water"], [0, 0, 0, 0])


@pytest.mark.slow
def test_first_ticks_of_a_fresh_map_are_exact(small):
    row = evaluate(forager, small, ticks=10, worlds=1)
    # One spawn per tick and no deaths yet: 2, 3, ..., 11 alive after ticks 1..10.
    assert row["mean_alive"] == 6.5 and row["lives_ended"] == 0
    assert row["spawns"] == 10 and row["lifetime_little"] == 6.5
    assert population_ceiling(small, ticks=10) == 6.5  # no deaths: the ceiling is reached


def test_population_ceiling_is_exact_for_both_presets():
    """Counted tick t holds at most min(cap, s * (t + 2)) (s agents at reset, s per
    tick after): over 1,000 fresh ticks the sum is 2 + ... + 127 + 874 * 128 =
    119,999 on the default preset, 2 + ... + 15 + 986 * 16 = 15,895 on the small one."""
    default, small = nj.Config(), nj.Config.small()
    assert population_ceiling(default, 1000) == 119_999 / 1000 == 119.999
    assert population_ceiling(small, 1000) == 15_895 / 1000 == 15.895
    # 2 spawns per tick: 2 * (2 + ... + 64) + 937 * 128 = 124,094
    assert population_ceiling(default.replace(spawn_per_tick=2), 1000) == 124.094
    # settled: full from tick 127 (default) and 15 (small) on: the cap
    assert population_ceiling(default, 1000, warmup=2000) == 128.0
    assert population_ceiling(small, 1000, warmup=2000) == 16.0
    assert population_ceiling(default, 3, warmup=124) == (126 + 127 + 128) / 3  # filling up
    with pytest.raises(ValueError, match="ticks"):
        population_ceiling(default, 0)


def test_printed_table_gives_the_ceiling_of_both_windows():
    row = summarize(hand_sums(), 0, ticks=10)
    results = {"trained": {"fresh": row, "settled": row}}
    lines = format_table(results, 1000, 2, 2000, {}, nj.Config()).splitlines()
    (ceiling,) = [line for line in lines if line.startswith("ceiling")]
    assert ceiling.split() == ["ceiling", "120.0", "128.0"]
    assert "cap 128" in "\n".join(lines)
    small = format_table(results, 1000, 2, 2000, {}, nj.Config.small())
    assert "15.9" in small and "16.0" in small and "cap 16" in small
    assert "ceiling" not in format_table(results, 1000, 2, 2000)  # no config, no line


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


def test_npc_aware_yardsticks_play_only_where_npcs_exist(small):
    without = cache.scripted_policies(small)
    with_npcs = cache.scripted_policies(small.replace(num_npcs=8))
    assert set(with_npcs) - set(without) == {"wary_forager", "hunter"}
    assert "careful_forager" in without


@pytest.mark.slow
def test_yardsticks_are_cached_and_reused(small, tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "_code_fingerprint", lambda: "code-a")
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
    monkeypatch.setattr(cache, "SHIPPED_DIR", shipped)
    assert yardsticks(small, 5, 1, warmup=3)["forager"]["fresh"]["mean_alive"] == \
        first["forager"]["fresh"]["mean_alive"] + 20
    monkeypatch.setattr(cache, "_code_fingerprint", lambda: "code-b")  # the code changed
    other = yardsticks(small, ticks=5, worlds=1, warmup=3, cache_dir=tmp_path)
    assert other["forager"]["fresh"]["mean_alive"] == first["forager"]["fresh"]["mean_alive"]
    table = format_table(first, 5, 1, 3, config=small)
    assert "careful_forager" in table and "settled = ticks 4-8" in table
    # fresh: (2 + 3 + 4 + 5 + 6) / 5; settled ticks 4-8: (5 + ... + 9) / 5
    assert ["ceiling", "4.0", "7.0"] in [line.split() for line in table.splitlines()]


@pytest.mark.slow
def test_shipped_pretrained_policy_keeps_more_alive_than_the_forager():
    from policies.resolve import resolve
    from train.evaluation.report import greedy_policy
    from train.run.policy import load_trained
    named = resolve("pretrained", load_trained)
    model, params, cfg = named.model, named.params, named.config
    rows = {name: both["settled"] for name, both in evaluate_settings(
        {"trained": greedy_policy(model, params), "forager": forager},
        cfg, ticks=500, worlds=8, warmup=2000).items()}
    # fixed seed: deterministic; the margin is two standard errors of the difference
    se = (rows["trained"]["se_alive"] ** 2 + rows["forager"]["se_alive"] ** 2) ** 0.5
    assert rows["trained"]["mean_alive"] > rows["forager"]["mean_alive"] + 2 * se, rows


# ---------------------------------------------------------------- the game's numbers
HARD_TICKS, HARD_WORLDS = 60, 2  # one compiled match shared by the tests below


@pytest.mark.slow
def test_harder_numbers_keep_fewer_alive_on_the_same_worlds(small):
    """Food or water decaying 3 a tick instead of 1 starves foragers that v1.3's
    numbers keep alive (60 ticks, 2 worlds; measured: 14.1 alive per world vs 12.9
    and 13.8, starvation deaths 18 vs 72 and 41)."""
    row = lambda params: evaluate(forager, small, HARD_TICKS, HARD_WORLDS, params=params)
    v13 = row(None)
    np.testing.assert_equal(row(nj.default_params(small)), v13)  # explicit defaults: v1.3's
    for change in ({"food_decay": 3}, {"water_decay": 3}):
        hard = row(nj.default_params(small, **change))
        assert hard["mean_alive"] < v13["mean_alive"], change
        assert hard["deaths_starvation"] > v13["deaths_starvation"], change


@pytest.mark.slow
def test_other_numbers_play_without_recompiling(small, monkeypatch):
    """params are data of the compiled match: a second value neither retraces nor
    adds a compiled match; None and Params are the only two programs."""
    monkeypatch.setattr(matches, "_CACHE", {})
    traces = []
    step = matches.step_worlds
    monkeypatch.setattr(matches, "step_worlds", lambda *a, **k: traces.append(1) or step(*a, **k))
    row = lambda **change: evaluate(forager, small, HARD_TICKS, HARD_WORLDS,
                                    params=nj.default_params(small, **change))
    first = row(food_decay=2)
    assert len(traces) >= 1 and len(matches._CACHE) == 1
    traced = len(traces)
    second = row(food_decay=3, hit_base=0.9)  # other values, same dtypes and shapes
    assert len(traces) == traced and len(matches._CACHE) == 1
    assert second["mean_alive"] < first["mean_alive"]  # the new numbers were played


def test_yardstick_key_holds_every_number_jax_and_backend(small):
    key = lambda params=None: yardstick_key(small, 5, 1, EVAL_SEED, 3, params)
    assert key() == key(nj.default_params(small))  # None means the defaults
    assert key(nj.default_params(small, food_decay=2)) != key()
    assert key(nj.default_params(small, food_decay=2)) != key(nj.default_params(small,
                                                                                water_decay=2))
    doc = json.loads(key(nj.default_params(small, melee_damage=(6, 45))))
    assert doc["params"]["melee_damage"] == [6.0, 45.0] and set(doc["params"]) == set(
        nj.params.FIELDS)
    assert doc["jax"] == jax.__version__ and doc["backend"] == jax.default_backend()
    assert params_changes(None, small) == {} == params_changes(nj.default_params(small), small)
    assert params_changes(nj.default_params(small, food_decay=2, hit_base=0.25), small) == {
        "food_decay": 2, "hit_base": 0.25}


def test_shipped_rows_are_read_only_when_asked(small, tmp_path, monkeypatch):
    """A row in SHIPPED_DIR with the evaluation's key is used unless shipped=False
    (--no-cache), which plays instead (settings_sums stubbed: nothing is played)."""
    played = []
    both = Sums(**{k: v if k == "forests_reset" else np.concatenate([v, v])  # fresh, settled
                   for k, v in hand_sums()._asdict().items()})
    fake = lambda value: {"forager": both._replace(alive=both.alive * value)}
    monkeypatch.setattr(cache, "settings_sums", lambda *a, **k: played.append(a) or fake(1))
    monkeypatch.setattr(cache, "SHIPPED_DIR", tmp_path)
    key = yardstick_key(small, 10, 2, EVAL_SEED, 0)
    doc = {"key": key, "sums": {n: {f: np.asarray(v).tolist() for f, v in s._asdict().items()}
                                for n, s in fake(3).items()}}
    (tmp_path / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.json").write_text(
        json.dumps(doc))
    shipped = yardsticks(small, 10, 2, warmup=0)["forager"]["fresh"]["mean_alive"]
    assert shipped == 15.0 and not played  # the shipped row: 3 x 5 alive
    assert yardsticks(small, 10, 2, warmup=0, shipped=False)["forager"]["fresh"]["mean_alive"] \
        == 5.0 and len(played) == 1


def one_line_error(capsys, argv: list[str]) -> str:
    assert report.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_bad_params_are_one_line_errors_naming_the_field(capsys):
    assert "bogus" in one_line_error(capsys, ["pretrained", "--params", "bogus=1"])
    assert "food_decay" in one_line_error(capsys, ["pretrained", "--params", "food_decay=-1"])
    assert "food_decay" in one_line_error(capsys, ["pretrained", "--params", "food_decay=x"])
    assert "FIELD=VALUE" in one_line_error(capsys, ["pretrained", "--params", "food_decay"])


def test_command_line_passes_params_and_no_cache_through(small, tmp_path, monkeypatch, capsys):
    """--params reaches every row, --no-cache reads neither cache nor shipped rows,
    and the JSON records the changed numbers (evaluate_trained stubbed)."""
    calls, told = [], []  # told: the numbers the trained policy is told it plays
    model = type("Model", (), {"policy_fn": lambda self, w, game: told.append(game) or forager})()
    monkeypatch.setattr(report, "resolve", lambda spec, load, scripted=True: Resolved(
        spec, model=model, params={}, config=small))
    monkeypatch.setattr(report, "evaluate_trained", lambda *a, **k: calls.append((a, k)) or {})
    out = tmp_path / "eval.json"
    assert report.main(["run", "--params", "food_decay=2", "--params", "melee_damage=6,45",
                    "--no-cache", "--out", str(out)]) == 0
    (args, kwargs), = calls
    assert args[6] is None and kwargs["shipped"] is False  # cache_dir, shipped rows
    assert int(args[7].food_decay) == 2 and args[7].melee_damage.tolist() == [6, 45]
    assert told == [args[7]]  # a policy that sees the numbers sees the ones played
    assert json.loads(out.read_text())["params"] == {"food_decay": 2, "melee_damage": [6.0, 45.0]}
    printed = capsys.readouterr().out
    assert "food_decay=2, melee_damage=6,45" in printed
    # the small preset's ceiling under the table: 15.895 fresh, the cap of 16 settled
    assert ["ceiling", "15.9", "16.0"] in [line.split() for line in printed.splitlines()]
    assert report.main(["run"]) == 0
    assert calls[-1][0][6] == cache.default_cache_dir() and calls[-1][1]["shipped"] is True
    assert params_changes(calls[-1][0][7], small) == {}
