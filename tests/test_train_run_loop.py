"""A few PPO updates on the small preset: metrics, checkpoints, exact resume, errors, and
how a run stops: budget, divergence, signals, failed checkpoint writes."""
import csv
import os
import shutil
import signal
import subprocess
import sys
import time

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from policies.resolve import pretrained_path
from train.config import TrainConfig
from train.ppo.loss import ppo_loss
from train.ppo.trainer import make_trainer
from train.ppo.update import PPO
from train.run import checkpoint, loop
from train.run.cli import main
from train.run.loop import run
from train.run.policy import export_policy, load_model, load_policy

TINY = TrainConfig.of(preset="small", num_worlds=2, rollout_len=8, num_minibatches=2, epochs=1,
                      updates_per_chunk=2, checkpoint_every=1, total_steps=4 * 8 * 2 * 16,
                      minutes=0.0, width=16, eval_ticks=30, eval_worlds=1)


def leaves(path):
    return checkpoint.read(path)[1]


def flags(tc: TrainConfig) -> list[str]:
    """The command line of a config."""
    return tc.flags()


def rows(out) -> list[int]:
    return [int(r["update"]) for r in csv.DictReader(open(out / "metrics.csv"))]


def names(out) -> list[str]:
    folder = out / "checkpoints"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def copy_run(full_run, tmp_path, drop=()):
    """A copy of the full run's directory without the checkpoints of updates `drop`."""
    dst = tmp_path / "run"
    shutil.copytree(full_run[0], dst)
    for u in drop:
        (dst / "checkpoints" / f"ckpt_{u:07d}.npz").unlink()
    return dst


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    summary = run(TINY, out, evaluate=False)
    return out, summary


@pytest.mark.slow
def test_run_writes_metrics_and_checkpoints(full_run):
    out, summary = full_run
    assert summary["update"] == 4 and not summary["interrupted"]
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [int(r["update"]) for r in rows] == [2, 4]
    for r in rows:
        for k in ("policy_loss", "value_loss", "entropy", "agent_steps_per_s"):
            assert np.isfinite(float(r[k])), k
        assert float(r["entropy"]) > 0
    assert checkpoint.latest(out).name == "ckpt_0000004.npz"
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "ckpt_0000002.npz", "ckpt_0000004.npz"]


@pytest.mark.slow
def test_resume_is_bit_exact(full_run, tmp_path):
    out, _ = full_run
    run(TINY.replace(total_steps=TINY.total_steps // 2), tmp_path, evaluate=False)
    assert checkpoint.latest(tmp_path).name == "ckpt_0000002.npz"
    run(TINY, tmp_path, resume=True, evaluate=False)
    a, b = leaves(checkpoint.latest(out)), leaves(checkpoint.latest(tmp_path))
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [int(r["update"]) for r in rows] == [2, 4]


def test_resume_refuses_other_config(full_run):
    out, _ = full_run
    with pytest.raises(checkpoint.CheckpointError, match="lr: checkpoint has 0.001"):
        run(TINY.replace(lr=0.01), out, resume=True, evaluate=False)


def test_init_from_starts_a_fresh_run_with_the_source_policy(full_run, tmp_path):
    out, _ = full_run
    tc = TINY.replace(init_from=str(out), total_steps=TINY.total_steps // 2)
    runner, wall = loop.start(tc, tmp_path, resume=False)
    _, source, _ = load_model(out)
    fresh = make_trainer(TINY).init(jax.random.PRNGKey(TINY.seed))
    # The source's parameters; everything else as a fresh run has it (Adam's moments at zero).
    chex.assert_trees_all_equal(runner.params, source)
    chex.assert_trees_all_equal(runner.opt_state, fresh.opt_state)
    chex.assert_trees_all_equal(runner.env_state, fresh.env_state)
    assert int(runner.update) == 0 and wall == 0.0
    with pytest.raises(AssertionError):
        chex.assert_trees_all_equal(runner.params, fresh.params)
    # It trains from there and records where it began.
    summary = run(tc, tmp_path / "run", evaluate=False)
    assert summary["update"] == 2 and rows(tmp_path / "run") == [2]
    assert checkpoint.config_of(checkpoint.load(tmp_path / "run")).init_from == str(out)


def test_init_from_refuses_a_policy_of_other_shapes_or_none(full_run, tmp_path):
    out, _ = full_run
    with pytest.raises(loop.RunError, match=r"--init-from .*--width 16.* shapes of this run"):
        loop.start(TINY.replace(init_from=str(out), width=8), tmp_path, resume=False)
    with pytest.raises(loop.RunError, match=r"--init-from .*nowhere.*does not exist"):
        loop.start(TINY.replace(init_from=str(tmp_path / "nowhere")), tmp_path, resume=False)
    assert not (tmp_path / "config.json").exists()  # refused before the run directory is written


def test_corrupt_or_missing_checkpoint(full_run, tmp_path):
    out, _ = full_run
    bad = tmp_path / "ckpt_0000009.npz"
    bad.write_bytes(open(checkpoint.latest(out), "rb").read()[:100])
    with pytest.raises(checkpoint.CheckpointError, match="corrupt"):
        load_policy(bad)
    with pytest.raises(checkpoint.CheckpointError, match="does not exist"):
        load_policy(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(checkpoint.CheckpointError, match="no ckpt_.*checkpoint in"):
        run(TINY, tmp_path / "empty", resume=True, evaluate=False)


@pytest.mark.slow  # compiles its own programs
def test_load_policy_runs(full_run):
    import nmmo_jax as nj
    out, _ = full_run
    policy, config = load_policy(out)
    assert config == nj.Config.small()
    obs, _ = nj.reset(jax.random.PRNGKey(0), config)
    actions = policy(jax.random.PRNGKey(1), obs)
    assert actions.move.shape == (config.num_agents,)


@pytest.mark.slow  # compiles its own programs
def test_masked_loss_ignores_empty_slots():
    trainer = make_trainer(TINY)
    runner = trainer.init(jax.random.PRNGKey(0))
    obs = runner.obs  # [W, A, ...]
    dist, value = trainer.model.apply(runner.params, obs)
    choice = dist.sample(jax.random.PRNGKey(1))
    valid = obs.entity_mask[..., 0]
    assert bool(valid.any()) and not bool(valid.all())
    batch = {"inputs": trainer.model.prepare(obs), "choice": choice, "logp": dist.log_prob(choice), "value": value,
             "valid": valid, "adv": jnp.where(valid, 1.0, 0.0), "target": jnp.where(valid, 0.5, 0.0)}
    noisy = dict(batch, adv=jnp.where(valid, 1.0, 1e6), target=jnp.where(valid, 0.5, -1e6),
                 logp=jnp.where(valid, batch["logp"], 50.0))
    la, _ = ppo_loss(trainer.model, TINY.ppo, runner.params, batch)
    lb, _ = ppo_loss(trainer.model, TINY.ppo, runner.params, noisy)
    assert np.isfinite(float(la)) and float(la) == float(lb)


def test_cli_rejects_bad_flag(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--num-worlds", "0"])
    assert e.value.code == 2
    assert "--num-worlds=0" in capsys.readouterr().err


@pytest.mark.slow
def test_run_ends_with_evaluation_plot_and_replay(tmp_path, monkeypatch):
    import json
    from train.evaluation.population import FIELDS
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    run(TINY.replace(total_steps=TINY.total_steps // 2, eval_ticks=20, eval_warmup=30,
                     eval_worlds=2), tmp_path / "run")
    report = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert (report["worlds"], report["ticks"], report["warmup"]) == (2, 20, 30)
    assert sorted(report["policies"]) == ["careful_forager", "combat", "forager", "random",
                                          "trained", "trained (greedy)", "yielding_forager"]
    for name, settings in report["policies"].items():
        for setting in ("fresh", "settled"):
            assert set(FIELDS) <= set(settings[setting]), name
            assert 0 < settings[setting]["mean_alive"] <= 16, name
    assert list((tmp_path / "cache").rglob("*.json"))  # the yardsticks were cached
    tmp_path = tmp_path / "run"
    assert (tmp_path / "population.png").read_bytes()[:4] == b"\x89PNG"
    page = (tmp_path / "replay.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "http://" not in page and "https://" not in page


@pytest.mark.slow  # compiles its own programs
def test_policy_export_is_small_and_acts_like_the_run(full_run, tmp_path):
    import nmmo_jax as nj
    out, _ = full_run
    small = export_policy(out, tmp_path / "policy.npz")
    assert small.stat().st_size < checkpoint.latest(out).stat().st_size / 2
    header, _ = checkpoint.read(small)
    assert header["kind"] == "policy" and header["update"] == 4
    (run_fn, cfg), (export_fn, cfg2) = load_policy(out), load_policy(small)
    assert cfg == cfg2 == nj.Config.small()
    obs, _ = nj.reset(jax.random.PRNGKey(3), cfg)
    a, b = run_fn(jax.random.PRNGKey(4), obs), export_fn(jax.random.PRNGKey(4), obs)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert np.array_equal(x, y)
    with pytest.raises(checkpoint.CheckpointError, match="policy export"):
        checkpoint.restore(checkpoint.load(small), None, TINY)


def test_only_the_newest_checkpoints_are_kept(full_run, tmp_path):
    out, _ = full_run
    header, arrays = checkpoint.read(checkpoint.latest(out))
    runner = checkpoint.restore(checkpoint.load(out), jax.eval_shape(
        make_trainer(TINY).init, jax.random.PRNGKey(0)), TINY)[0]
    for u in (1, 2, 3, 4):
        checkpoint.save(tmp_path, runner.replace(update=jnp.int32(u)), TINY, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt_0000003.npz", "ckpt_0000004.npz"]


@pytest.mark.slow  # compiles its own programs
def test_shipped_pretrained_policy_loads():
    import nmmo_jax as nj
    policy, config = load_policy(pretrained_path())
    assert config == nj.Config()
    assert pretrained_path().stat().st_size < 1_000_000
    obs, _ = nj.reset(jax.random.PRNGKey(0), config)
    actions = policy(jax.random.PRNGKey(1), obs)
    assert bool(jnp.all(jnp.take_along_axis(obs.move_mask, actions.move[:, None], 1)))


@pytest.mark.slow  # compiles its own programs
def test_worlds_are_replaced_at_max_ticks_and_resets_are_not_deaths():
    tc = TINY.replace(max_ticks=5)  # rollouts of 8 ticks: every update crosses a reset
    trainer = make_trainer(tc)
    runner, m = trainer.train_chunk(trainer.init(jax.random.PRNGKey(0)))
    assert int(runner.update) == 2
    assert np.all(np.asarray(runner.env_state.tick) <= 5)  # 16 ticks played, worlds renewed
    # Truncated lives are done for GAE but not counted as deaths: every counted end
    # has a cause, and lives cut at the reset would otherwise add lifetimes of 0.
    deaths = sum(int(m[k].sum()) for k in ("deaths_lava", "deaths_starvation", "deaths_combat"))
    assert int(m["lives_ended"].sum()) == deaths
    with pytest.raises(ValueError, match="--max-ticks=-1"):
        TINY.replace(max_ticks=-1)


@pytest.mark.slow
def test_lives_cut_at_max_ticks_bootstrap_from_the_old_worlds_last_observation(monkeypatch):
    """One rollout of 8 ticks through the replacement at tick 5, with and without the
    terminal values: the targets differ exactly on the lives cut at the reset (rollout
    tick 4) and, discounted by gamma * lambda, on the earlier ticks of those lives;
    never on a tick after the reset or on a slot nobody held."""
    from envs.batch import WORLDS
    tc = TINY.replace(max_ticks=5)
    trainer = make_trainer(tc)
    ppo, runner = trainer.ppo, trainer.init(jax.random.PRNGKey(0))
    spec = jax.sharding.PartitionSpec(WORLDS)

    def rollout():
        fn = jax.shard_map(lambda s, o, k: ppo.rollout(runner.params, s, o, k)[3],
                           mesh=trainer.mesh, in_specs=(spec, spec, None),
                           out_specs=spec, check_vma=False)
        return jax.jit(fn)(runner.env_state, runner.obs, jax.random.PRNGKey(1))

    data = rollout()
    monkeypatch.setattr(PPO, "terminal_value",
                        lambda self, params, info, game: jnp.zeros(info["truncated"].shape))
    cut_off = rollout()
    diff = np.asarray(data["target"] - cut_off["target"])  # [W, T, A]
    valid = np.asarray(data["valid"])
    cut = diff[:, 4] != 0  # gamma * V(last obs): an agent that died at the reset has none
    assert cut.sum() >= 4 and cut.sum() >= valid[:, 4].sum() - 2
    assert not (cut & ~valid[:, 4]).any() and not diff[:, 5:].any()
    # Earlier ticks of a cut life: the tick-4 difference discounted (gamma * lambda)^k.
    alive = valid[:, :5].all(axis=1) & cut
    for k in range(1, 5):
        np.testing.assert_allclose(diff[:, 4 - k][alive],
                                   (tc.ppo.gamma * tc.ppo.gae_lambda) ** k * diff[:, 4][alive],
                                   rtol=1e-3, atol=1e-6)


def test_lr_decays_linearly_to_zero_over_lr_decay_steps():
    tc = TINY.replace(lr_decay_steps=3 * TINY.steps_per_update)  # 3 updates x 2 minibatches
    tx = make_trainer(tc).ppo.tx
    params = {"w": jnp.zeros(2)}
    state, steps = tx.init(params), []
    for _ in range(8):
        update, state = tx.update({"w": jnp.ones(2)}, state, params)
        steps.append(-float(update["w"][0]))  # Adam's first step is lr * sign(grad)
    np.testing.assert_allclose(steps[:6], [1e-3 * (1 - i / 6) for i in range(6)], rtol=1e-3)
    assert steps[6:] == [0.0, 0.0]
    with pytest.raises(ValueError, match="--lr-decay-steps=-1"):
        TINY.replace(lr_decay_steps=-1)


def test_a_field_newer_than_the_checkpoint_counts_as_its_default():
    from train.config import differences
    saved = TINY.to_dict()
    del saved["lr_decay_steps"]  # written before the field existed
    assert differences(saved, TINY) == []
    assert differences(saved, TINY.replace(lr_decay_steps=5)) == [
        "lr_decay_steps: checkpoint has 0, this run has 5"]


def after_chunk(monkeypatch, act):
    """Make loop.Local.chunk call act(backend, n) after its n-th chunk (n from 1)."""
    real, calls = loop.Local.chunk, []

    def chunk(self):
        m = real(self)
        calls.append(1)
        act(self, len(calls))
        return m

    monkeypatch.setattr(loop.Local, "chunk", chunk)


def test_a_diverging_run_stops_and_keeps_its_good_checkpoints(tmp_path, monkeypatch, capsys):
    def poison(backend, n):  # from the second chunk on, the parameters are NaN
        if n >= 2:
            backend._runner = backend._runner.replace(
                params=jax.tree.map(lambda x: x * np.nan, backend._runner.params))

    after_chunk(monkeypatch, poison)
    out = tmp_path / "run"
    tc = TINY.replace(total_steps=4 * TINY.total_steps)
    assert main(flags(tc) + ["--out", str(out), "--no-eval"]) == 1
    err = capsys.readouterr().err
    assert "training diverged at update 4 (non-finite parameters in ['params']" in err
    assert "keeping the checkpoint of update 2" in err
    assert names(out) == ["ckpt_0000002.npz"]
    header, arrays = checkpoint.read(out)
    assert header["update"] == 2 and all(np.isfinite(a).all() for a in arrays
                                         if np.issubdtype(a.dtype, np.floating))


def test_cli_resume_takes_the_run_budget_and_repeated_flags(full_run, tmp_path):
    out = copy_run(full_run, tmp_path, drop=[4])
    # flags repeated as given at the start; the budget (4 updates) is the run's own
    assert main(["--resume", str(out), "--preset", "small", "--num-worlds", "2", "--no-eval"]) == 0
    assert names(out) == ["ckpt_0000002.npz", "ckpt_0000004.npz"]
    assert checkpoint.read(out)[0]["train_config"] == TINY.to_dict()


def test_metrics_have_each_update_once_after_kill_and_resume(full_run, tmp_path):
    out = copy_run(full_run, tmp_path, drop=[4])  # killed after logging update 4, before saving it
    assert rows(out) == [2, 4]
    summary = run(TINY, out, resume=True, evaluate=False)
    assert summary["update"] == 4 and rows(out) == [2, 4]


def test_resume_falls_back_past_a_corrupt_newest_checkpoint(full_run, tmp_path, capsys):
    out = copy_run(full_run, tmp_path)
    newest = out / "checkpoints" / "ckpt_0000004.npz"
    newest.write_bytes(b"garbage, not a zip")
    assert checkpoint.read(out)[0]["update"] == 2
    assert "ckpt_0000004.npz' is not a checkpoint" in capsys.readouterr().err
    policy, _ = load_policy(out)  # the note is given once per process
    assert callable(policy) and capsys.readouterr().err == ""
    summary = run(TINY, out, resume=True, evaluate=False)
    err = capsys.readouterr().err
    assert "renamed ckpt_0000004.npz.corrupt" in err and "resuming" in err
    assert summary["update"] == 4 and rows(out) == [2, 4]
    assert names(out) == ["ckpt_0000002.npz", "ckpt_0000004.npz", "ckpt_0000004.npz.corrupt"]
    for x, y in zip(leaves(full_run[0] / "checkpoints" / "ckpt_0000004.npz"), leaves(newest)):
        assert np.array_equal(x, y)  # the same run as the uninterrupted one


def test_ctrl_c_finishes_the_chunk_logs_it_and_saves(tmp_path, monkeypatch):
    after_chunk(monkeypatch, lambda b, n: n == 2 and os.kill(os.getpid(), signal.SIGINT))
    out, before = tmp_path / "run", signal.getsignal(signal.SIGINT)
    summary = run(TINY.replace(total_steps=4 * TINY.total_steps, checkpoint_every=3), out,
                  evaluate=False)
    assert summary["interrupted"] == "SIGINT" and summary["update"] == 4
    assert rows(out) == [2, 4] and names(out) == ["ckpt_0000004.npz"]
    assert signal.getsignal(signal.SIGINT) is before  # the handlers are restored


@pytest.mark.parametrize("when, saved", [(1, []), (2, ["ckpt_0000002.npz"])])
def test_ctrl_c_in_the_first_chunk_or_twice_quits_without_traceback(tmp_path, monkeypatch,
                                                                   capsys, when, saved):
    def interrupt(backend, n):
        if n == when:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    after_chunk(monkeypatch, interrupt)
    out = tmp_path / "run"
    tc = TINY.replace(total_steps=4 * TINY.total_steps)
    assert main(flags(tc) + ["--out", str(out), "--no-eval"]) == 130
    err = capsys.readouterr().err
    assert "SIGINT: stopped at once" in err and "Traceback" not in err
    assert names(out) == saved


def test_a_failed_checkpoint_write_warns_and_is_retried(tmp_path, monkeypatch, capsys):
    real, calls = checkpoint.write, []

    def full_disk_once(*args):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(*args)

    monkeypatch.setattr(checkpoint, "write", full_disk_once)
    summary = run(TINY, tmp_path / "run", evaluate=False)
    assert "the checkpoint of update 2 could not be written" in capsys.readouterr().err
    assert (summary["failed"], summary["written"]) == (1, 1)
    assert names(tmp_path / "run") == ["ckpt_0000004.npz"]


def test_no_checkpoint_written_exits_nonzero(tmp_path, monkeypatch, capsys):
    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "write", full_disk)
    out = tmp_path / "run"
    assert main(flags(TINY) + ["--out", str(out), "--no-eval"]) == 1
    assert f"error: no checkpoint could be written in {out / 'checkpoints'}" in \
        capsys.readouterr().err


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint(tmp_path):
    out = tmp_path / "run"
    tc = TINY.replace(total_steps=10 ** 9, checkpoint_every=1000)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-m", "train", *flags(tc), "--out", str(out),
                             "--no-eval"], cwd=root, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 900  # a hung run fails instead of blocking the suite
    while not ((out / "metrics.csv").exists() and rows(out)):
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read()
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "SIGTERM: finishing this chunk" in err and "Traceback" not in err
    assert checkpoint.read(out)[0]["update"] == rows(out)[-1]


def test_progress_bar_ends_where_the_budget_stops_the_run():
    tc = TINY.replace(total_steps=10 ** 9, minutes=1.0)
    chunk = tc.updates_per_chunk * tc.steps_per_update
    # 30 s spent, chunks of 10 s: three more chunks start before the minute is up
    assert loop.expected_stop(tc, 5 * chunk, 30.0, 10.0) == 8 * chunk
    assert loop.expected_stop(tc, 5 * chunk, 61.0, 10.0) == 5 * chunk
    assert loop.expected_stop(tc.replace(total_steps=6 * chunk), 5 * chunk, 30.0, 10.0) == 6 * chunk
    assert loop.expected_stop(tc.replace(minutes=0.0), 0, 30.0, 10.0) == 10 ** 9
