"""NPC kills and deaths by NPCs in every table (issue 33): the match runner's counts on
a hand-built NPC scene, the rows and tables of the evaluation, the tournament and the
replay, the training log, the yardstick cache, and `train.evaluate` on a run trained
with NPCs. Without NPCs every row, stored row and table is v1.3's."""
from __future__ import annotations

import csv
import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from scripts import replay as replay_script
from tests.conftest import act, jit_step
from tests.test_systems_npc import A, NPC_SCENE, STILL, npc_scene
from tests.test_train_evaluation import hand_sums
from train.evaluation import cache, matches, report, tournament
from train.evaluation.matches import NO_NPCS, Sums, has_npcs, play, sums_fields, tick_counts
from train.evaluation.population import summarize
from train.run import logger as run_logger
from train.run.loop import chunk_row
from viz.record import record

P = NPC_SCENE.num_populations  # 4: slot i belongs to population i % 4


def fight_scene() -> nj.State:
    """Agents 0 (population 0) and 1 (population 1) both hit NPC 0 (4 health, frozen:
    it stays) and kill it in the first tick; the hostile NPC 2 beside agent 3
    (population 3, health 3) kills it in the same tick; agent 7 (population 3)
    lives far from everyone. Under STILL every attack hits and no NPC spawns."""
    return npc_scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 12)),
                      dict(slot=3, pos=(20, 20), health=3), dict(slot=7, pos=(25, 5))],
                     [dict(slot=0, pos=(10, 11), health=4, freeze=2),
                      dict(slot=2, pos=(20, 21), kind=nj.HOSTILE)])


BOTH_HIT = dict(style={0: nj.MELEE, 1: nj.RANGE}, target={0: A, 1: A})


def one_cell(counts: dict) -> Sums:
    """The Sums of one window of one world holding one tick's counts."""
    cell = lambda x: np.asarray(x)[None, None]
    return Sums(**{k: cell(v) for k, v in counts.items()}, forests_start=cell(0),
                forests_end=cell(0), forests_reset=np.ones(1))


# ------------------------------------------------------------------ the match runner
@pytest.mark.slow
def test_tick_counts_credit_npc_kills_to_every_hitter_and_deaths_by_npcs_apart():
    state = fight_scene()
    _, after, _, done, info = jit_step(jax.random.PRNGKey(0), state, act(NPC_SCENE, **BOTH_HIT),
                                       NPC_SCENE, STILL)
    assert np.asarray(info["npc_done"]).tolist() == [True, False, False, False]
    assert np.asarray(info["attack_target"])[:2].tolist() == [A, A]  # targets >= A
    assert bool(done[3]) and int(info["death_cause"][3]) == nj.CAUSE_NPC
    c = jax.tree.map(np.asarray, tick_counts(state, after, done, info, NPC_SCENE, STILL))
    # Both hitters of the dying NPC get its kill (the game's info["npc_kill"]).
    np.testing.assert_array_equal(c["npc_kills"], [1, 1, 0, 0])
    np.testing.assert_array_equal(c["npc_deaths"], [0, 0, 0, 1])
    # A death by an NPC is no cause column and no agent's kill; hits on NPCs kill no agent.
    np.testing.assert_array_equal(c["deaths"], np.zeros((P, 3)))
    np.testing.assert_array_equal(c["kills"], np.zeros((P, P)))
    np.testing.assert_array_equal(c["ended"], [0, 0, 0, 1])
    assert c["npc_kills"].dtype == c["npc_deaths"].dtype == np.int32
    # Per 1,000 agent-ticks alive of the held cells: one agent-tick each in populations
    # 0 and 1 (one kill each), one in population 3 (agent 7; agent 3 died).
    sums = one_cell(c)
    assert has_npcs(sums)
    rows = {q: summarize(sums, 0, 1, held=np.arange(P)[None] == q) for q in range(P)}
    assert [rows[q]["npc_kills"] for q in range(P)][:2] == [1000.0, 1000.0]
    assert rows[3]["npc_deaths"] == 1000.0 and rows[3]["npc_kills"] == 0.0
    assert np.isnan(rows[2]["npc_kills"])  # no agent-ticks: no rate
    whole = summarize(sums, 0, 1)
    assert (whole["npc_kills"], whole["npc_deaths"]) == (2000 / 3, 1000 / 3)


def test_without_npcs_counts_rows_and_sums_are_v13s(small):
    state = nj.initial_state(jnp.full((small.map_size, small.map_size), nj.GRASS, jnp.int8),
                             small)
    a = small.num_agents
    info = {"death_cause": jnp.zeros(a, jnp.int32), "attack_target": jnp.arange(a),
            "attack_hit": jnp.zeros(a, bool), "alive": jnp.ones(a, bool),
            "spawned": jnp.zeros(a, bool), "lifetime": jnp.zeros(a, jnp.int32)}
    counts = tick_counts(state, state, jnp.zeros(a, bool), info, small)
    assert set(counts) == set(sums_fields(small)) - {"forests_start", "forests_end",
                                                      "forests_reset"}
    assert "npc_kills" not in sums_fields(small) and "npc_kills" in sums_fields(NPC_SCENE)
    sums = hand_sums()
    assert not has_npcs(sums) and sums.npc_kills is NO_NPCS
    assert "npc_kills" not in summarize(sums, 0, 10) and "npc_deaths" not in summarize(sums, 0, 10)


@pytest.mark.slow  # compiles a match with NPCs (about 30 s on 2 cores)
def test_match_runner_gives_npc_kills_and_deaths_to_the_holding_policy(monkeypatch):
    """The fight scene played by the match runner (its reset replaced by the scene) for
    3 ticks: policy "hunters" holds populations 0 and 2 and makes agent 0 hit NPC 0
    (its only hitter); policy "prey" holds populations 1 and 3, whose agent 3 dies
    by the hostile NPC 2. (The match steps worlds that can be replaced, which needs
    spawning on: newcomers, spawn-immune, join one a tick and only add agent-ticks.)"""
    config = NPC_SCENE.replace(spawn_per_tick=1)
    params = nj.default_params(config, npc_spawn_attempts=0, hit_base=1.0)
    state = fight_scene()
    obs = nj.observe(state, config, params)
    stack = lambda tree: jax.tree.map(lambda x: jnp.asarray(x)[None], tree)
    monkeypatch.setattr(matches, "batch_reset", lambda *a, **k: (stack(obs), stack(state)))
    monkeypatch.setattr(matches, "_CACHE", {})
    hit = act(config, style={0: nj.MELEE}, target={0: A})
    hunters = lambda key, o: hit
    prey = lambda key, o: act(config)
    holders = np.array([[0, 1, 0, 1]])
    sums = play([hunters, prey], holders, config, [(0, 3)], seed=0, params=params)
    assert has_npcs(sums) and sums.npc_kills.shape == sums.npc_deaths.shape == (1, 1, P)
    np.testing.assert_array_equal(sums.npc_kills[0, 0], [1, 0, 0, 0])
    np.testing.assert_array_equal(sums.npc_deaths[0, 0], [0, 0, 0, 1])
    np.testing.assert_array_equal(sums.deaths[0, 0], np.zeros((P, 3)))
    alive = sums.alive[0, 0]
    assert alive[0] >= 3 and alive[1] >= 3 and alive[3] >= 3  # agents 0, 1, 7 and newcomers
    rows = tournament.match_result(sums, holders, 3, ["hunters", "prey"])["rows"]
    assert rows["hunters"]["npc_kills"] == 1000 / (alive[0] + alive[2])
    assert rows["hunters"]["npc_deaths"] == 0.0 and rows["prey"]["npc_kills"] == 0.0
    assert rows["prey"]["npc_deaths"] == 1000 / (alive[1] + alive[3])
    assert rows["prey"]["deaths_combat"] == 0 and rows["prey"]["lives_ended"] == 1


# ------------------------------------------------------------------ tables
def npc_rows(kills: float, deaths: float) -> dict:
    row = summarize(hand_sums(), 0, ticks=10) | {"npc_kills": kills, "npc_deaths": deaths}
    return {"fresh": row, "settled": row}


def test_evaluation_table_shows_npc_columns_only_with_npcs():
    plain_row = summarize(hand_sums(), 0, ticks=10)
    plain = {"trained": {"fresh": plain_row, "settled": plain_row}}
    with_npcs = {"trained": npc_rows(12.5, 0.25), "hunter": npc_rows(3.0, 1.5)}
    cfg = nj.Config.small()
    table = report.format_table(with_npcs, 1000, 2, 2000, {}, cfg.replace(num_npcs=8))
    lines = table.splitlines()
    (head,) = [line for line in lines if line.startswith("settled worlds")]
    assert head.endswith("npc kills/1k ag-t npc deaths/1k ag-t")
    hunter = [line for line in lines if line.startswith("hunter ")][-1]  # the settled table
    assert hunter.split()[-2:] == ["3.000", "1.500"]
    assert "per 1,000 agent-ticks alive" in lines[-1]
    # v1.3: no columns, the same bytes whether or not the rows hold NPC numbers
    v13 = report.format_table(plain, 1000, 2, 2000, {}, cfg)
    assert "npc" not in v13
    assert report.format_table({"trained": npc_rows(1.0, 2.0)}, 1000, 2, 2000, {}, cfg) == v13
    # without a config the rows decide
    assert "npc kills" in report.format_table(with_npcs, 1000, 2, 2000)
    assert "npc" not in report.format_table(plain, 1000, 2, 2000)


def test_tournament_table_shows_npc_columns_only_with_npcs():
    holders = np.array([[0, 1], [1, 0]])
    plain = tournament.match_result(hand_sums(), holders, 10, ["a", "b"])
    with_npcs = {**plain, "rows": {k: v | {"npc_kills": 4.25, "npc_deaths": 0.5}
                                   for k, v in plain["rows"].items()}}
    ratings = {"ratings": {"a": {"mu": 25.0, "sigma": 1.0}, "b": {"mu": 20.0, "sigma": 2.0}},
               "anchor": None}
    table = lambda m: tournament.format_table({"16": {"matches": [m], **ratings}}, 2, 2000, 10)
    lines = table(with_npcs).splitlines()
    assert "npc kills, npc deaths per 1,000 agent-ticks alive" in lines[1]
    assert lines[2].split()[-4:] == ["npc", "kills", "npc", "deaths"]
    a_row = [line for line in lines if line.startswith("  a ")][0]  # the match's row
    assert a_row.split()[-2:] == ["4.25", "0.50"]
    assert "npc" not in table(plain)
    assert len(lines) == len(table(plain).splitlines())


# ------------------------------------------------------------------ the yardstick cache
def test_cache_stores_npc_fields_only_for_npc_worlds(small, tmp_path, monkeypatch):
    """Rows are played (stubbed) and stored: a v1.3 row holds exactly v1.3's fields; a
    row of a world with NPCs also npc_kills and npc_deaths, read back the same."""
    both = lambda s: Sums(**{k: v if k == "forests_reset" else np.concatenate([v, v])
                             for k, v in s._asdict().items()
                             if k not in matches.NPC_FIELDS or has_npcs(s)})
    plain = both(hand_sums())
    npc = both(hand_sums()._replace(npc_kills=np.full((1, 2, 2), 3), npc_deaths=np.ones((1, 2, 2),
                                                                                      int)))
    for config, sums in ((small, plain), (small.replace(num_npcs=8), npc)):
        fields, rows = stored_rows(monkeypatch, tmp_path / str(config.num_npcs), config,
                                   "hunter", sums)
        if config.num_npcs:
            assert fields == set(Sums._fields) - set(matches.ITEM_FIELDS)  # no items
            # 3 kills and 1 death per world and population over 100 agent-ticks alive
            assert rows["hunter"]["settled"]["npc_kills"] == 1000 * 12 / 100
            assert rows["hunter"]["settled"]["npc_deaths"] == 1000 * 4 / 100
        else:
            assert fields == set(Sums._fields) - set(matches.NPC_FIELDS) - set(
                matches.ITEM_FIELDS)
            assert "npc_kills" not in rows["hunter"]["settled"]


def stored_rows(monkeypatch, folder, config: nj.Config, name: str, sums: Sums):
    """Yardstick `name` with Sums `sums` played (stubbed) in worlds of `config`, stored
    in `folder` under a key naming that config and read back as the same rows
    (asserted). Returns (the stored field names, the rows)."""
    monkeypatch.setattr(cache, "_code_fingerprint", lambda: "code")
    monkeypatch.setattr(cache, "settings_sums", lambda *a, **k: {name: sums})
    rows = cache.yardsticks(config, 10, 2, warmup=0, cache_dir=folder, shipped=False)
    (stored,) = folder.glob("*.json")
    doc = json.loads(stored.read_text())
    assert json.loads(doc["key"])["config"] == dataclasses.asdict(config)
    monkeypatch.setattr(cache, "settings_sums", lambda *a, **k: pytest.fail("replayed"))
    again = cache.yardsticks(config, 10, 2, warmup=0, cache_dir=folder, shipped=False)
    np.testing.assert_equal(again, rows)  # read back: the same rows
    return set(doc["sums"][name]), rows


# ------------------------------------------------------------------ replay, training log
def test_replay_summary_counts_npc_kills_and_deaths_by_npcs():
    actions = act(NPC_SCENE, **BOTH_HIT)
    rec = record(lambda key, obs: actions, NPC_SCENE, 2, state=fight_scene(), params=STILL)
    assert replay_script.npc_summary(rec) == (
        "NPCs: 1 killed by agents (2 agent kills of NPCs, one for each agent that hit a dying "
        "NPC); 1 agents killed by NPCs")
    # a recording without NPCs has no NPC arrays, and no line
    assert replay_script.npc_summary(dataclasses.replace(rec, npcs=None)) is None


def test_replay_and_tournament_take_a_number_of_npcs(capsys):
    with pytest.raises(SystemExit) as exit_info:
        replay_script.main(["--policy", "hunter", "--num-npcs", "-1"])
    assert exit_info.value.code == 2 and "--num-npcs must be >= 0" in capsys.readouterr().err
    assert tournament.world_config([], "small", 8) == nj.Config.small(num_npcs=8)
    assert tournament.world_config([], "small") == nj.Config.small()  # v1.3's worlds


def v13_update_metrics() -> dict:
    """Two updates' metrics of a v1.3 world as `PPO.update` stacks them: counts 1 and 2,
    means 0.5 (the systems' metrics are added by each test)."""
    m = {k: np.array([1, 2]) for k in ("lives_ended", "lifetime_sum", "deaths_lava",
                                       "deaths_starvation", "deaths_combat")}
    return m | {k: np.array([0.5, 0.5]) for k in ("alive_mean", "policy_loss", "value_loss",
                                                   "entropy", "approx_kl", "clip_frac")}


def test_training_log_adds_npc_columns_only_with_npcs(tmp_path):
    assert run_logger.columns(False) == run_logger.COLUMNS
    cols = run_logger.columns(True)
    at = cols.index("deaths_combat")
    assert cols[at + 1: at + 3] == ("npc_kills", "npc_deaths")
    assert [c for c in cols if c not in run_logger.NPC_COLUMNS] == list(run_logger.COLUMNS)
    m = v13_update_metrics()
    plain = chunk_row(m, 2, 100, 1.0, 1.0)
    assert not set(run_logger.NPC_COLUMNS) & set(plain)
    row = chunk_row(m | {"npc_kills": np.array([3, 4]), "npc_deaths": np.array([0, 2])},
                    2, 100, 1.0, 1.0)
    assert (row["npc_kills"], row["npc_deaths"]) == (7, 2) and row == plain | row
    for npcs, out in ((False, tmp_path / "plain"), (True, tmp_path / "npcs")):
        out.mkdir()
        log = run_logger.RunLogger(out, 1000, npcs=npcs)
        log.log(row | {"update": 2, "agent_steps": 200, "wall_s": 1.0,
                       "agent_steps_per_s": 200.0, "restarts": 0})
        log.close()
        (written,) = list(csv.DictReader(open(out / "metrics.csv")))
        assert tuple(written) == run_logger.columns(npcs)
        if npcs:
            assert (written["npc_kills"], written["npc_deaths"]) == ("7", "2")
        # a resumed run keeps its file's columns
        again = run_logger.RunLogger(out, 1000, resumed_at=2, npcs=not npcs)
        assert again.columns == run_logger.columns(npcs)
        again.close()


@pytest.mark.slow  # compiles two trainers with NPCs (about a minute each on 2 cores)
def test_logged_npc_numbers_leave_training_bit_identical(monkeypatch):
    """The rollout's npc_kills and npc_deaths are only reported: a run whose worlds hide
    info["npc_kill"] (so nothing NPC is logged) learns the same bits."""
    from train.config import TrainConfig
    from train.ppo import trainer as trainer_mod
    from train.ppo.worlds import Worlds

    tc = TrainConfig.of(preset="small", num_npcs=4, num_worlds=2, rollout_len=8,
                        num_minibatches=2, epochs=1, updates_per_chunk=2, width=16)

    def chunk():
        trainer_mod._build.cache_clear()
        t = trainer_mod.make_trainer(tc)
        runner, m = t.train_chunk(t.init(jax.random.PRNGKey(0)))
        return jax.tree.map(np.asarray, (runner.params, runner.opt_state)), jax.tree.map(
            np.asarray, m)

    (learned, m) = chunk()
    assert m["npc_kills"].shape == m["npc_deaths"].shape == (2,)
    step = Worlds.step

    def hidden(self, *a):
        out = step(self, *a)
        return out[:4] + ({k: v for k, v in out[4].items() if k != "npc_kill"},) + out[5:]

    monkeypatch.setattr(Worlds, "step", hidden)
    (hid, m_hidden) = chunk()
    trainer_mod._build.cache_clear()
    assert "npc_kills" not in m_hidden and "npc_deaths" not in m_hidden
    jax.tree.map(np.testing.assert_array_equal, learned, hid)
    for k, v in m_hidden.items():
        np.testing.assert_array_equal(m[k], v)


# ------------------------------------------------------------------ train.evaluate
@pytest.mark.slow  # trains one update and evaluates nine policies with NPCs (minutes)
def test_evaluate_a_run_trained_with_npcs_plays_its_world(tmp_path, capsys):
    from train.run.cli import main as train_main
    run_dir = tmp_path / "run"
    assert train_main(["--preset", "small", "--num-npcs", "4", "--num-worlds", "2",
                       "--total-steps", str(8 * 2 * 16), "--rollout-len", "8",
                       "--num-minibatches", "2", "--epochs", "1", "--updates-per-chunk", "1",
                       "--width", "16", "--minutes", "0", "--no-eval",
                       "--out", str(run_dir)]) == 0
    assert json.loads((run_dir / "config.json").read_text())["num_npcs"] == 4
    (logged,) = list(csv.DictReader(open(run_dir / "metrics.csv")))
    assert int(logged["npc_kills"]) >= 0 and int(logged["npc_deaths"]) >= 0
    capsys.readouterr()
    out = tmp_path / "eval.json"
    assert report.main([str(run_dir), "--ticks", "4", "--worlds", "1", "--warmup", "2",
                        "--no-cache", "--out", str(out)]) == 0
    policies = json.loads(out.read_text())["policies"]
    assert {"trained", "trained (greedy)", "hunter", "wary_forager"} <= set(policies)
    assert set(policies) == {"trained", "trained (greedy)"} | set(
        cache.scripted_policies(nj.Config.small(num_npcs=4)))
    for name, both in policies.items():
        for setting in ("fresh", "settled"):
            row = both[setting]
            assert {"npc_kills", "npc_deaths"} <= set(row), (name, setting)
            assert row["npc_kills"] >= 0 and row["npc_deaths"] >= 0
    printed = capsys.readouterr().out
    assert "npc kills/1k ag-t" in printed and "wary_forager" in printed


# ------------------------------------------------------------------ train.tournament
@pytest.mark.slow  # compiles a match with NPCs (about 20 s on 2 cores)
def test_tournament_with_npcs_reports_npc_kills_and_deaths(tmp_path, capsys):
    out = tmp_path / "t"
    assert tournament.main(["hunter", "wary_forager", "--preset", "small", "--num-npcs", "8",
                            "--worlds", "2", "--warmup", "0", "--ticks", "30", "--seed", "0",
                            "--out", str(out)]) == 0
    doc = json.loads((out / "tournament.json").read_text())
    assert doc["world"]["num_npcs"] == 8
    (match,) = doc["caps"]["16"]["matches"]
    for row in match["rows"].values():
        assert row["npc_kills"] >= 0 and row["npc_deaths"] >= 0
    printed = capsys.readouterr().out
    assert "npc kills, npc deaths per 1,000 agent-ticks alive" in printed
    assert "error" in one_line_tournament_error(capsys, ["hunter", "forager", "--num-npcs", "-1"])


def one_line_tournament_error(capsys, argv: list[str]) -> str:
    assert tournament.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "num_npcs" in err, err
    return err
