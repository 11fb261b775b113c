"""Data parallel training (and evaluation) over local devices equals the 1-device run.

Runs in a subprocess because the number of CPU devices is fixed when JAX starts
(XLA_FLAGS=--xla_force_host_platform_device_count=2).
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from train.config import TrainConfig

SCRIPT = textwrap.dedent("""
    import jax, numpy as np
    from train.config import TrainConfig
    from train.ppo.trainer import make_trainer
    assert jax.device_count() == 2, jax.devices()
    tc = TrainConfig.of(preset="small", num_worlds=4, rollout_len=8, num_minibatches=2, epochs=2,
                        updates_per_chunk=3, width=16, minutes=0.0)
    params, shardings = {}, {}
    for d in (1, 2):
        trainer = make_trainer(tc.replace(devices=d))
        start = trainer.init(jax.random.PRNGKey(0))
        init_leaves = [np.asarray(x) for x in jax.tree.leaves(start.params)]
        runner, metrics = trainer.train_chunk(start)
        params[d] = [np.asarray(x) for x in jax.tree.leaves(runner.params)]
        shardings[d] = (len(runner.env_state.tick.sharding.device_set),
                        len(jax.tree.leaves(runner.params)[0].sharding.device_set))
        assert int(runner.update) == 3 and np.isfinite(float(metrics["entropy"].mean()))
    assert shardings == {1: (1, 1), 2: (2, 2)}, shardings
    worst = max(float(np.max(np.abs(a - b))) for a, b in zip(params[1], params[2]))
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(params[1], init_leaves))
    print("max abs difference", worst, "moved from init", moved)
    assert moved > 1e-3, moved  # the updates did change the parameters
    for a, b in zip(params[1], params[2]):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    print("OK")
""")


def run_on_devices(script: str, devices: int = 2) -> None:
    """Run `script` in a Python with `devices` CPU devices; it must print OK last."""
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
               JAX_PLATFORMS="cpu")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.rstrip().endswith("OK"), done.stdout + done.stderr


@pytest.mark.slow
def test_two_devices_match_one():
    run_on_devices(SCRIPT)


RANDOMIZED_SCRIPT = textwrap.dedent("""
    import jax, numpy as np
    from train.config import TrainConfig
    from train.ppo.trainer import make_trainer
    tc = TrainConfig.of(preset="small", num_worlds=4, rollout_len=8, num_minibatches=2, epochs=1,
                        updates_per_chunk=2, width=16, minutes=0.0, max_ticks=5,
                        randomize=("food_decay=0:4", "hit_base=0.2:0.8", "melee_damage=1,10:5,40"))
    games = {}
    for d in (1, 2):
        trainer = make_trainer(tc.replace(devices=d))
        start = trainer.init(jax.random.PRNGKey(0))
        first = [np.asarray(x) for x in jax.tree.leaves(start.game)]
        runner, _ = trainer.train_chunk(start)  # every world is replaced and draws again
        games[d] = first + [np.asarray(x) for x in jax.tree.leaves(runner.game)]
        assert len(runner.game.hit_base.sharding.device_set) == d
    for a, b in zip(games[1], games[2]):
        np.testing.assert_array_equal(a, b)
    print("OK")
""")


@pytest.mark.slow
def test_randomized_numbers_do_not_depend_on_the_devices():
    """World w draws its numbers from key w, at the start and at each replacement, and
    they are split over the devices like the worlds."""
    run_on_devices(RANDOMIZED_SCRIPT)


MATCH_SCRIPT = textwrap.dedent("""
    import jax, numpy as np
    import nmmo_jax as nj
    from policies.scripted import forager, random_policy
    from train.evaluation import matches
    cfg = nj.Config.small()
    holders = np.arange(4 * cfg.num_populations).reshape(4, -1) % 2
    play = lambda: matches.play([forager, random_policy], holders, cfg, [(0, 15), (10, 30)], 9)
    assert matches.devices_dividing(4) == 2 and matches.devices_dividing(3) == 1
    split = play()
    matches.devices_dividing = lambda worlds: 1
    matches._CACHE.clear()
    whole = play()
    for name, a, b in zip(split._fields, split, whole):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert split.alive.sum() > 0
    print("OK")
""")


@pytest.mark.slow
def test_match_over_two_devices_equals_one():
    """The evaluation's matches split the worlds over the local devices with
    identical results."""
    run_on_devices(MATCH_SCRIPT)


def test_devices_flag_is_checked():
    with pytest.raises(ValueError, match="--devices=3: must divide --num-worlds=4"):
        TrainConfig.of(preset="small", num_worlds=4, devices=3)
    from train.ppo.trainer import world_mesh
    with pytest.raises(ValueError, match="--devices=64: only"):
        world_mesh(devices=64, num_worlds=64)
    assert world_mesh(devices=0, num_worlds=3).size == 1  # 1 device here


SUM_SCRIPT = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import PartitionSpec as P
    from envs.batch import WORLDS, world_mesh_of
    from train.ppo.collectives import world_sum
    assert jax.device_count() == 4
    for d in (1, 2, 3, 4):  # 2 and 4: the ppermute butterfly; 3: gather and add
        summed = jax.jit(jax.shard_map(lambda x: world_sum(x[0])[None],
                                       mesh=world_mesh_of(jax.devices()[:d]),
                                       in_specs=P(WORLDS), out_specs=P(WORLDS)))
        ints = (jnp.arange(d * 5, dtype=jnp.int32).reshape(d, 5) + 1) ** 3
        assert (np.asarray(summed(ints)) == np.asarray(ints).sum(0)).all(), d
        floats = jax.random.normal(jax.random.PRNGKey(d), (d, 300)) * 10.0 ** jnp.arange(d)[:, None]
        got = np.asarray(summed(floats))
        for row in got:  # every device holds the same bits
            np.testing.assert_array_equal(row, got[0])
        np.testing.assert_allclose(got[0], np.asarray(floats, np.float64).sum(0), rtol=1e-5, atol=1e-4)
    print("OK")
""")


@pytest.mark.slow
def test_world_sum_is_the_sum_and_identical_on_every_device():
    """The trainer's cross-device sum, for power-of-two and other device counts."""
    run_on_devices(SUM_SCRIPT, devices=4)
