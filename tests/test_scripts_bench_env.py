"""scripts/bench_env.py: one case measured in-process, with either action sampler."""
import pytest

from scripts import bench_env


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["fast", "scripted"])
def test_one_small_case_runs(policy):
    args = bench_env.parse_args(["--preset", "small", "--worlds", "2", "--ticks", "2", "--repeats", "1",
                                 "--devices", "1", "--no-phases", "--policy", policy])
    result = bench_env.measure(args)
    assert (result["preset"], result["worlds"], result["num_agents"]) == ("small", 2, 16)
    assert result["slot_steps_per_s"] > 0 and 0 < result["mean_alive"] <= 16


@pytest.mark.slow
def test_a_case_with_npcs_counts_their_slots():
    args = bench_env.parse_args(["--preset", "small", "--worlds", "2", "--ticks", "2", "--repeats", "1",
                                 "--devices", "1", "--npcs", "8"])
    result = bench_env.measure(args)
    assert (result["num_agents"], result["num_npcs"]) == (16, 8)
    # Slot steps count the agents' and the NPCs' slots: 16 + 8 per world-tick.
    slots = result["slot_steps_per_s"] * result["us_per_world_tick"] / 1e6
    assert abs(slots - 24) < 1e-6 * 24
    assert 0 < result["state_update_frac"] <= 1


def test_flags_are_checked():
    with pytest.raises(SystemExit):
        bench_env.parse_args(["--preset", "huge"])
    with pytest.raises(SystemExit):
        bench_env.parse_args(["--policy", "clever"])
    with pytest.raises(SystemExit):
        bench_env.parse_args(["--npcs", "-2"])
    with pytest.raises(SystemExit):
        bench_env.parse_args(["--set", "professions=yes"])


def test_set_changes_every_preset():
    args = bench_env.parse_args(["--preset", "nmmo2", "--set", "inventory_slots=0",
                                 "--set", "professions=0"])
    assert args.changes == {"inventory_slots": 0, "professions": 0}
    argv = bench_env.worker_argv(args, "nmmo2", 1)
    assert argv[argv.index("--set") + 1] == "inventory_slots=0" and argv.count("--set") == 2
    row = dict(preset="nmmo2", full=True, num_npcs=128, changes=args.changes, num_agents=128,
               worlds=1, devices=1, chunk=1, slot_steps_per_s=1.0, live_steps_per_s=1.0,
               env_steps_per_s=1.0, us_per_world_tick=256.0, compile_s=1.0, state_bytes=1024,
               peak_rss_mib=1.0)
    table = bench_env.table([row])
    assert "nmmo2+full+128 NPCs inventory_slots=0 professions=0" in table and " 2,000 |" in table


def test_npcs_default_to_the_presets_and_zero_switches_them_off():
    npcs = lambda *argv: bench_env.case_config(bench_env.parse_args(list(argv)), "nmmo2").num_npcs
    assert npcs() == 128 and npcs("--npcs", "0") == 0 and npcs("--npcs", "8") == 8
    full = bench_env.case_config(bench_env.parse_args(["--full"]), "default")
    assert (full.num_npcs, full.spawn_per_tick) == (0, 128)
    assert bench_env.worker_argv(bench_env.parse_args([]), "nmmo2", 1)[-2:] == ["--npcs", "-1"]


@pytest.mark.parametrize("argv", [["--alternate"], ["--alternate", "--preset", "default,nmmo2"],
                                  ["--alternate", "--preset", "small,default", "--worlds", "1,2"]])
def test_alternate_needs_two_presets_and_one_w(capsys, argv):
    with pytest.raises(SystemExit):
        bench_env.parse_args(argv)
    assert "--alternate: give two or more presets and one W" in capsys.readouterr().err


@pytest.mark.slow
def test_alternating_presets_share_one_process_and_pair_their_rounds():
    args = bench_env.parse_args(["--preset", "small,default", "--worlds", "2", "--ticks", "2",
                                 "--repeats", "3", "--devices", "1", "--no-phases",
                                 "--alternate"])
    small, default = bench_env.alternate(args)
    assert (small["preset"], small["num_agents"], default["preset"], default["num_agents"]) == (
        "small", 16, "default", 128)
    assert small["paired_ratio"] == 1.0 and default["paired_ratio"] > 0
    assert all(r["worlds"] == 2 and r["ns_per_agent_step"] > 0 for r in (small, default))


def test_presets_are_the_configs():
    import nmmo_jax as nj
    assert bench_env.PRESETS == nj.Config.PRESETS
    assert bench_env.parse_args(["--preset", "default,nmmo2"]).presets == ["default", "nmmo2"]


@pytest.mark.slow
def test_item_actions_are_uniform_over_allowed_slots_and_none():
    import jax
    import jax.numpy as jnp
    import numpy as np

    import nmmo_jax as nj
    config = nj.Config.small(inventory_slots=4)
    obs, _ = nj.jit_reset(jax.random.PRNGKey(0), config)
    a = config.num_agents
    use_mask = jnp.zeros((a, 4), bool).at[:, 1].set(True).at[:, 3].set(True)
    destroy_mask = jnp.zeros((a, 4), bool).at[:, 2].set(True)
    obs = obs.replace(use_mask=use_mask, destroy_mask=destroy_mask)
    draws = jax.jit(jax.vmap(bench_env.masked_random_actions, in_axes=(0, None)))(
        jnp.arange(200, dtype=jnp.uint32), obs)
    use, destroy = np.asarray(draws.use), np.asarray(draws.destroy)
    assert set(np.unique(use)) == {1, 3, 4} and set(np.unique(destroy)) == {2, 4}  # 4: none
    assert 0.25 < np.mean(use == 4) < 0.42 and 0.4 < np.mean(destroy == 4) < 0.6
    assert draws.use.dtype == draws.destroy.dtype == jnp.int32
    # items off: v1.3's three heads only
    obs0, _ = nj.jit_reset(jax.random.PRNGKey(0), nj.Config.small())
    assert bench_env.masked_random_actions(jnp.uint32(1), obs0).use is None


@pytest.mark.slow
def test_one_nmmo2_world_runs():
    args = bench_env.parse_args(["--preset", "nmmo2", "--worlds", "1", "--ticks", "2",
                                 "--repeats", "1", "--devices", "1", "--no-phases", "--full"])
    result = bench_env.measure(args)
    assert (result["num_agents"], result["num_npcs"], result["map_size"]) == (128, 128, 160)
    assert result["ns_per_agent_step"] > 0 and result["mean_alive"] > 100


def test_a_case_uses_the_most_devices_that_divide_its_worlds():
    assert [bench_env.devices_for(w, 2) for w in (1, 2, 3, 64)] == [1, 2, 1, 2]
    assert bench_env.devices_for(6, 4) == 3


def test_devices_pin_the_process_to_as_many_cores():
    # In a child process: pinning is for the whole process and cannot be undone.
    import os
    import subprocess
    import sys
    if not hasattr(os, "sched_setaffinity") or bench_env._accelerator_plugin():
        pytest.skip("no CPU affinity here, or an accelerator's devices (not pinned)")
    allowed = len(os.sched_getaffinity(0))
    code = ("import os; from scripts.bench_env import pin_cores; "
            "print(len(pin_cores({d})), len(os.sched_getaffinity(0)))")
    for devices, expected in ((1, 1), (allowed + 1, allowed)):
        out = subprocess.run([sys.executable, "-c", code.format(d=devices)], capture_output=True,
                             text=True, check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
        assert out.stdout.split() == [str(expected), str(expected)]
