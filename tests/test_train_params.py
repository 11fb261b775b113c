"""`python -m train --params FIELD=VALUE --randomize FIELD=LO:HI`: the flags' errors, the
numbers in the runner (per world, within the ranges, redrawn when a world is replaced,
a function of the seed), in checkpoints, the summary and a resumed run, and a fixed
change that the trainer really plays."""
import json
import shutil

import jax
import numpy as np
import pytest

import nmmo_jax as nj
from envs.batch import world_params_of
from nmmo_jax.systems.skills import max_vitals_from_xp
from tests.test_train_run_cli import refused
from train.config import TrainConfig
from train.evaluation import report
from train.ppo.trainer import make_model, make_trainer
from train.run import checkpoint, loop
from train.run.cli import parse
from train.run.loop import run
from train.run.policy import export_policy

TINY = TrainConfig.of(preset="small", num_worlds=2, rollout_len=8, num_minibatches=2, epochs=1,
                      updates_per_chunk=2, checkpoint_every=1, total_steps=4 * 8 * 2 * 16,
                      minutes=0.0, width=16, eval_ticks=30, eval_worlds=1)
# Four worlds replaced every 5 ticks (each chunk of 16 ticks replaces every world), a
# fixed change and three randomized fields of each kind (int, real, damage pair).
RANGES = {"food_decay": (0, 4), "hit_base": (0.2, 0.8), "melee_damage": ((1, 10), (5, 40))}
RANDOM = TINY.replace(num_worlds=4, max_ticks=5, total_steps=4 * 8 * 4 * 16,
                      params=("water_decay=0",),
                      randomize=("food_decay=0:4", "hit_base=0.2:0.8", "melee_damage=1,10:5,40"))




def host(tree):
    return jax.tree.map(np.asarray, tree)


def within(game: nj.Params, name: str) -> bool:
    """Every world's value of `name` lies in RANGES[name] (pairs: each column)."""
    lo, hi = (np.asarray(b, np.float64) for b in RANGES[name])
    value = np.asarray(getattr(game, name), np.float64)
    return bool(np.all((value >= lo - 1e-6) & (value <= hi + 1e-6)))


@pytest.mark.parametrize("argv, message", [
    (["--params", "food_decay"], "--params 'food_decay': expected FIELD=VALUE"),
    (["--params", "food_decay=x"], "--params food_decay=x: Params.food_decay='x': not a number"),
    (["--params", "foo=1"], "--params foo=1: foo: not a Params field (fields: noise_frequency"),
    (["--params", "map_size=40"], "--params map_size=40: map_size: a Config field"),
    (["--params", "food_decay=-1"], "--params food_decay=-1: Params.food_decay=-1: must be >= 0"),
    (["--params", "hit_base=nan"], "--params hit_base=nan: Params.hit_base=nan: must be finite"),
    (["--params", "melee_damage=5"], "--params melee_damage=5: Params.melee_damage='5': must be "
                                     "a pair (base, per_level)"),
    (["--params", "food_decay=1", "--params", "food_decay=2"],
     "--params food_decay=2: food_decay is given twice"),
    (["--params", "water_threshold=0.9"], "--params water_threshold=0.9: Params.water_threshold"),
    (["--randomize", "food_decay=2"], "--randomize food_decay=2: expected FIELD=LO:HI (a damage "
                                      "pair FIELD=B1,P1:B2,P2)"),
    (["--randomize", "food_decay=3:1"], "--randomize food_decay=3:1: food_decay: LO=3 > HI=1"),
    (["--randomize", "num_agents=8:16"], "--randomize num_agents=8:16: num_agents: a Config "
                                         "field"),
    (["--randomize", "bogus=0:1"], "--randomize bogus=0:1: bogus: not a Params field"),
    (["--randomize", "hit_base=0:inf"], "--randomize hit_base=0:inf: Params.hit_base=inf: must be "
                                        "finite"),
    (["--randomize", "hit_base=0.2:1.5"], "--randomize hit_base=0.2:1.5: Params.hit_base=1.5: "
                                          "must be >= 0.0 and <= 1.0"),
    (["--randomize", "melee_range=1:9"], "Params.melee_range=9: must be <= Config.vision=7"),
    (["--randomize", "melee_damage=1,2:3"], "--randomize melee_damage=1,2:3: Params.melee_damage"
                                            "='3': must be a pair"),
    (["--randomize", "food_decay=0:1", "--randomize", "food_decay=1:2"],
     "--randomize food_decay=1:2: food_decay is given twice"),
    (["--randomize", "water_threshold=0.2:0.5", "--randomize", "grass_threshold=0.4:0.6"],
     "--randomize: water_threshold: its range reaches 0.5, above the lowest grass_threshold"),
    (["--randomize", "food_decay=0:2", "--max-ticks", "0"],
     "--randomize food_decay=0:2: a world draws its numbers only when it is reset (at the start "
     "and every --max-ticks ticks), so --max-ticks=0"),
])
def test_bad_game_numbers_are_refused_in_one_line(capsys, argv, message):
    assert message in refused(capsys, ["--preset", "small", *argv])


def test_the_fields_must_be_tuples_of_strings():
    with pytest.raises(ValueError, match=r"--params='food_decay=2': must be a tuple of strings"):
        TINY.replace(params="food_decay=2")
    with pytest.raises(ValueError, match=r"--randomize=\(1,\): must be a tuple of strings"):
        TINY.replace(randomize=(1,))
    assert TINY.replace(params=["food_decay=2"]).params == ("food_decay=2",)  # JSON's lists


def test_flags_parse_into_the_config_and_its_numbers():
    tc, _ = parse(["--preset", "small", "--max-ticks", "5", "--params", "food_decay=2",
                   "--params", "melee_damage=6,40", "--randomize", "hit_base=0.2:0.8",
                   "--randomize", "mage_damage=1,20:2,30"])
    assert tc.params == ("food_decay=2", "melee_damage=6,40")
    assert tc.randomize == ("hit_base=0.2:0.8", "mage_damage=1,20:2,30")
    game = tc.game_params
    assert int(game.food_decay) == 2 and np.asarray(game.melee_damage).tolist() == [6, 40]
    assert int(tc.env_params.food_decay) == 2
    ranges = tc.param_ranges
    assert float(ranges.low.hit_base) == pytest.approx(0.2)
    assert float(ranges.high.hit_base) == pytest.approx(0.8)
    assert np.asarray(ranges.high.mage_damage).tolist() == [2, 30]
    assert int(ranges.low.food_decay) == int(ranges.high.food_decay) == 2  # fixed, not drawn
    assert parse(tc.flags())[0] == tc  # the command line of a config gives it back
    plain = TrainConfig.of(preset="small")
    assert plain.env_params is None and plain.param_ranges is None  # v1.3's, compiled in
    assert int(plain.game_params.food_decay) == 1


@pytest.mark.slow
def test_worlds_draw_their_own_numbers_within_the_ranges_and_again_when_replaced():
    trainer = make_trainer(RANDOM)
    key = jax.random.PRNGKey(7)
    start = trainer.init(key)
    first = host(start.game)
    assert len(set(first.hit_base.tolist())) == RANDOM.num_worlds  # the worlds differ
    assert len({tuple(p) for p in first.melee_damage.tolist()}) == RANDOM.num_worlds
    for name in RANGES:
        assert within(first, name), name
    assert (first.water_decay == 0).all()  # --params: fixed in every world
    assert np.allclose(first.regrow_prob, 0.025)  # the rest: v1.3's
    # World w draws from fold_in(its reset key, PARAMS_STREAM): a function of the seed alone.
    k_env = jax.random.split(key, 3)[1]
    expected = host(world_params_of(jax.random.split(k_env, RANDOM.num_worlds),
                                    RANDOM.param_ranges))
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6)  # within the program: fused float ops
    again = host(trainer.init(key).game)
    other = host(trainer.init(jax.random.PRNGKey(8)).game)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(again)))
    assert not np.array_equal(first.hit_base, other.hit_base)
    # 16 ticks with --max-ticks 5: every world was replaced and drew anew.
    runner, _ = trainer.train_chunk(start)
    after = host(runner.game)
    assert (np.asarray(runner.env_state.tick) <= 5).all()
    assert (after.hit_base != first.hit_base).all()
    for name in RANGES:
        assert within(after, name), name
    assert (after.water_decay == 0).all()
    # The worlds play their numbers: no water was lost anywhere (water_decay=0).
    agents = host(runner.env_state.agents)
    _, _, max_water = (np.asarray(x) for x in max_vitals_from_xp(agents.xp, RANDOM.env_config))
    assert agents.alive.any() and (agents.water[agents.alive] == max_water[agents.alive]).all()


@pytest.fixture(scope="module")
def random_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("random") / "run"
    return out, run(RANDOM, out, evaluate=False)


@pytest.mark.slow
def test_a_randomized_run_records_its_numbers(random_run, tmp_path):
    out, summary = random_run
    assert summary["update"] == 4
    assert summary["params"] == ["water_decay=0"] and summary["randomize"] == list(RANDOM.randomize)
    assert json.loads((out / "config.json").read_text())["randomize"] == list(RANDOM.randomize)
    header = checkpoint.read(out)[0]
    assert header["train_config"]["params"] == ["water_decay=0"]
    assert header["train_config"]["randomize"] == list(RANDOM.randomize)
    assert checkpoint.config_of(checkpoint.load(out)) == RANDOM
    # The checkpoint holds each world's numbers.
    template = jax.eval_shape(make_trainer(RANDOM).init, jax.random.PRNGKey(0))
    runner, _ = checkpoint.restore(checkpoint.load(out), template, RANDOM)
    assert runner.game.hit_base.shape == (RANDOM.num_worlds,)
    for name in RANGES:
        assert within(host(runner.game), name), name
    policy = checkpoint.read(export_policy(out, tmp_path / "policy.npz"))[0]
    assert policy["train_config"]["params"] == ["water_decay=0"]
    assert policy["train_config"]["randomize"] == list(RANDOM.randomize)


@pytest.mark.slow  # trains a randomized run (the fast loop resumes a plain one)
def test_a_resumed_randomized_run_continues_exactly(random_run, tmp_path):
    out, _ = random_run
    half = tmp_path / "half"
    run(RANDOM.replace(total_steps=RANDOM.total_steps // 2), half, evaluate=False)
    tc, _ = parse(["--resume", str(half), "--total-steps", str(RANDOM.total_steps)])
    assert tc == RANDOM  # --resume keeps --params and --randomize
    run(tc, half, resume=True, evaluate=False)
    a, b = checkpoint.read(out)[1], checkpoint.read(half)[1]
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.slow  # needs the randomized run
def test_resume_refuses_other_numbers(random_run, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(random_run[0], out)
    err = refused(capsys, ["--resume", str(out), "--randomize", "food_decay=0:3"])
    assert ("--randomize=('food_decay=0:3',): the run has --randomize=('food_decay=0:4', "
            "'hit_base=0.2:0.8', 'melee_damage=1,10:5,40')") in err
    err = refused(capsys, ["--resume", str(out), "--params", "water_decay=1"])
    assert "--params=('water_decay=1',): the run has --params=('water_decay=0',)" in err
    with pytest.raises(checkpoint.CheckpointError, match="randomize: checkpoint has"):
        run(RANDOM.replace(randomize=("food_decay=0:3",)), out, resume=True, evaluate=False)


@pytest.mark.slow
def test_a_fixed_change_is_the_game_the_trainer_plays():
    tc = TINY.replace(params=("food_decay=0",))
    trainer = make_trainer(tc)
    assert trainer.ppo.worlds.fixed is not None and trainer.ppo.worlds.ranges is None
    runner, m = trainer.train_chunk(trainer.init(jax.random.PRNGKey(0)))
    assert runner.game is None  # the same numbers everywhere: nothing per world to carry
    agents = host(runner.env_state.agents)
    _, max_food, max_water = (np.asarray(x) for x in max_vitals_from_xp(agents.xp, tc.env_config))
    alive = agents.alive
    assert alive.sum() > 4 and int(np.asarray(runner.env_state.tick).min()) == 16
    assert (agents.food[alive] == max_food[alive]).all()  # food_decay=0: no agent went hungry
    assert (agents.water[alive] < max_water[alive]).any()  # v1.3's water_decay=1 still drains
    assert int(m["deaths_starvation"].sum()) == 0


@pytest.mark.parametrize("params, expected", [((), None), (("food_decay=2",), 2)])
def test_the_closing_evaluation_plays_the_fixed_numbers(monkeypatch, tmp_path, params, expected):
    tc = TINY.replace(params=params, max_ticks=5, randomize=("hit_base=0.2:0.8",))
    seen = {}

    def fake_report(tc_, out, policy, greedy=None, cache_dir=None, params=None):
        seen["params"] = params
        return {}

    monkeypatch.setattr(report, "run_report", fake_report)
    model = make_model(tc.ppo, tc.env_config)
    summary = loop.finish(tc, tmp_path, model, None, {})
    assert summary["eval"] == {}
    got = seen["params"]
    assert (got is None) if expected is None else int(got.food_decay) == expected
    if got is not None:  # --params, not a draw of --randomize
        assert float(got.hit_base) == pytest.approx(0.5)


def test_the_log_names_the_numbers():
    assert loop.describe_game(RANDOM) == (
        "game numbers: v1.3's with --params water_decay=0; --randomize food_decay=0:4 "
        "hit_base=0.2:0.8 melee_damage=1,10:5,40 (each world draws them at every reset: the "
        "start and each --max-ticks=5 replacement)")
