"""A few PPO updates on the small preset: metrics, checkpoints, exact resume, errors."""
import csv

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from train import checkpoint
from train.cli import main, run
from train.config import TrainConfig
from train.ppo import make_trainer, ppo_loss

TINY = TrainConfig(preset="small", num_worlds=2, rollout_len=8, num_minibatches=2, epochs=1,
                   updates_per_chunk=2, checkpoint_every=1, total_steps=4 * 8 * 2 * 16,
                   minutes=0.0, width=16, eval_ticks=30, eval_worlds=1)


def leaves(path):
    return checkpoint.read(path)[1]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    summary = run(TINY, out, evaluate=False)
    return out, summary


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


def test_corrupt_or_missing_checkpoint(full_run, tmp_path):
    out, _ = full_run
    bad = tmp_path / "ckpt_0000009.npz"
    bad.write_bytes(open(checkpoint.latest(out), "rb").read()[:100])
    with pytest.raises(checkpoint.CheckpointError, match="corrupt"):
        checkpoint.load_policy(bad)
    with pytest.raises(checkpoint.CheckpointError, match="does not exist"):
        checkpoint.load_policy(tmp_path / "nowhere")
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint"):
        run(TINY, tmp_path / "empty", resume=True, evaluate=False)


def test_load_policy_runs(full_run):
    import nmmo_jax as nj
    out, _ = full_run
    policy, config = checkpoint.load_policy(out)
    assert config == nj.Config.small()
    obs, _ = nj.reset(jax.random.PRNGKey(0), config)
    actions = policy(jax.random.PRNGKey(1), obs)
    assert actions.move.shape == (config.num_agents,)


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
    la, _ = ppo_loss(trainer.model, TINY, runner.params, batch)
    lb, _ = ppo_loss(trainer.model, TINY, runner.params, noisy)
    assert np.isfinite(float(la)) and float(la) == float(lb)


def test_cli_rejects_bad_flag(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--num-worlds", "0"])
    assert e.value.code == 2
    assert "--num-worlds=0" in capsys.readouterr().err


@pytest.mark.slow
def test_run_ends_with_evaluation_plot_and_replay(tmp_path, monkeypatch):
    import json
    from train.evaluate import FIELDS
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


def test_policy_export_is_small_and_acts_like_the_run(full_run, tmp_path):
    import nmmo_jax as nj
    out, _ = full_run
    small = checkpoint.export_policy(out, tmp_path / "policy.npz")
    assert small.stat().st_size < checkpoint.latest(out).stat().st_size / 2
    header, _ = checkpoint.read(small)
    assert header["kind"] == "policy" and header["update"] == 4
    (run_fn, cfg), (export_fn, cfg2) = checkpoint.load_policy(out), checkpoint.load_policy(small)
    assert cfg == cfg2 == nj.Config.small()
    obs, _ = nj.reset(jax.random.PRNGKey(3), cfg)
    a, b = run_fn(jax.random.PRNGKey(4), obs), export_fn(jax.random.PRNGKey(4), obs)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert np.array_equal(x, y)
    with pytest.raises(checkpoint.CheckpointError, match="policy export"):
        checkpoint.restore(small, None, TINY)


def test_only_the_newest_checkpoints_are_kept(full_run, tmp_path):
    out, _ = full_run
    header, arrays = checkpoint.read(checkpoint.latest(out))
    runner = checkpoint.restore(checkpoint.latest(out), jax.eval_shape(
        make_trainer(TINY).init, jax.random.PRNGKey(0)), TINY)[0]
    for u in (1, 2, 3, 4):
        checkpoint.save(tmp_path, runner.replace(update=jnp.int32(u)), TINY, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt_0000003.npz", "ckpt_0000004.npz"]


def test_shipped_pretrained_policy_loads():
    import nmmo_jax as nj
    from scripts.replay import pretrained_path
    policy, config = checkpoint.load_policy(pretrained_path())
    assert config == nj.Config()
    assert pretrained_path().stat().st_size < 1_000_000
    obs, _ = nj.reset(jax.random.PRNGKey(0), config)
    actions = policy(jax.random.PRNGKey(1), obs)
    assert bool(jnp.all(jnp.take_along_axis(obs.move_mask, actions.move[:, None], 1)))


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


def test_lr_decays_linearly_to_zero_over_lr_decay_steps():
    from train.ppo import make_ppo
    tc = TINY.replace(lr_decay_steps=3 * TINY.steps_per_update)  # 3 updates x 2 minibatches
    tx = make_ppo(tc).tx
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
