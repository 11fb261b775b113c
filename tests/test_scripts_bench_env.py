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
        bench_env.parse_args(["--npcs", "-1"])
