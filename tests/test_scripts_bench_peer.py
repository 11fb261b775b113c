"""scripts/bench_peer.py: the pure helpers only (no venv, no nmmo, no subprocess)."""
from __future__ import annotations

import pytest

from scripts import bench_peer as bp

PEER = dict(nmmo="2.1.2", live_steps_per_s=5000.0, env_steps_per_s=39.0625,
            ms_per_tick=25.6, mean_alive=128.0)
OURS = [dict(worlds=1, devices=1, live_steps_per_s=50_000.0, env_steps_per_s=400.0,
             us_per_world_tick=2500.0, mean_alive=125.0),
        dict(worlds=64, devices=2, live_steps_per_s=2_000_000.0, env_steps_per_s=16_000.0,
             us_per_world_tick=62.5, mean_alive=125.0)]


def test_ratio():
    assert bp.ratio(2_000_000, 5000) == pytest.approx(400.0)
    assert bp.ratio(1.0, 0.0) is None
    assert bp.ratio(1.0, None) is None


def test_rows_and_table():
    rows = bp.rows_for(PEER, OURS)
    assert [r["system"] for r in rows] == ["nmmo 2.1.2", "nmmo-jax", "nmmo-jax"]
    assert [r["ratio"] for r in rows] == [1.0, pytest.approx(10.0), pytest.approx(400.0)]
    assert rows[2]["ms_per_world_tick"] == pytest.approx(0.0625)
    lines = bp.format_table(rows).splitlines()
    assert len(lines) == 5 and len({len(x) for x in lines}) == 1  # aligned columns
    assert "5,000" in lines[2] and "1.0x" in lines[2]
    assert "2,000,000" in lines[4] and "400.0x" in lines[4] and "0.0625" in lines[4]


def test_error_row_and_missing_peer():
    rows = bp.rows_for(None, [dict(worlds=64, error="Traceback ... boom")] + OURS[:1])
    assert rows[0]["error"].endswith("boom") and rows[1]["ratio"] is None
    table = bp.format_table(rows)
    assert "error: Traceback ... boom" in table and "| -" not in table.splitlines()[0]
    assert table.splitlines()[-1].rstrip().endswith("- |")


def test_rounds_take_medians_and_each_rounds_own_ratio():
    # Round 2 ran on a host half as fast: both sides slowed, so its ratios match round 1's.
    slow = lambda d, f: {**d, **{k: d[k] * f for k in ("live_steps_per_s", "env_steps_per_s")}}
    rounds = [bp.rows_for(PEER, OURS),
              bp.rows_for(slow(PEER, 0.5), [slow(r, 0.5) for r in OURS]),
              bp.rows_for(PEER, [slow(OURS[0], 1.2), OURS[1]])]
    rows = bp.median_rows(rounds)
    assert rows[0]["live_steps_per_s"] == 5000.0 and rows[0]["ratio"] == 1.0
    assert rows[1]["live_steps_per_s"] == 50_000.0
    assert rows[1]["ratio"] == pytest.approx(10.0)
    assert (rows[1]["ratio_low"], rows[1]["ratio_high"]) == (pytest.approx(10.0),
                                                             pytest.approx(12.0))
    assert rows[2]["ratio"] == pytest.approx(400.0) and "ratio_low" in rows[2]
    lines = bp.format_table(rows).splitlines()
    assert "10.0x (10.0-12.0)" in lines[3] and lines[4].rstrip().endswith("400.0x |")
    assert len({len(x) for x in lines}) == 1
    failed = bp.median_rows([rounds[0], bp.rows_for(PEER, [dict(worlds=1, error="boom"),
                                                           OURS[1]])])
    assert failed[1]["error"] == "boom" and failed[2]["ratio"] == pytest.approx(400.0)
    assert bp.parse_args(["--rounds", "3"]).rounds == 3 and bp.parse_args([]).rounds == 1
    with pytest.raises(SystemExit):
        bp.parse_args(["--rounds", "0"])


def test_last_json_and_tail():
    assert bp.last_json("noise\n{\"a\": 1}\nwarning\n") == {"a": 1}
    assert bp.last_json("no json here") is None
    text = "WARNING: Location 'file:///opt/x' is ignored\nERROR: real problem\n\n"
    assert bp.tail(text) == "ERROR: real problem"


def test_parse_args_defaults():
    args = bp.parse_args([])
    assert args.worlds == [1, 64] and args.ticks == 1000 and args.warmup == 5
    assert args.venv == bp.DEFAULT_VENV
    # both presets, ours pinned to the reference's core: one core each
    assert args.presets == ["default", "nmmo2"] and args.our_core == args.core
    assert bp.parse_args(["--worlds", "2,8", "--core", "-1"]).worlds == [2, 8]
    with pytest.raises(SystemExit):
        bp.parse_args(["--worlds", "a"])


def test_presets_and_cores():
    args = bp.parse_args(["--preset", "nmmo2", "--core", "0", "--worlds", "1,16"])
    assert args.presets == ["nmmo2"] and (args.core, args.our_core) == (0, 0)
    cmd = bp.ours_command(args)
    assert cmd[cmd.index("--preset") + 1] == "nmmo2" and cmd[cmd.index("--devices") + 1] == "1"
    assert "--full" in cmd and cmd[cmd.index("--worlds") + 1] == "1,16"
    # not pinned: worlds sharded over --devices, no preexec pinning
    free = bp.parse_args(["--our-core", "-1", "--devices", "2"])
    assert bp.ours_command(free)[bp.ours_command(free).index("--devices") + 1] == "2"
    assert bp.pin(-1) is None and (bp.pin(0) is None) == (not hasattr(bp.os, "sched_setaffinity"))
    assert bp.parse_args(["--preset", " default , nmmo2 "]).presets == ["default", "nmmo2"]
    for bad in (["--preset", "nmmo3"], ["--preset", ","], ["--our-core", "-2"],
                ["--devices", "0"]):
        with pytest.raises(SystemExit):
            bp.parse_args(bad)


def test_rows_name_the_preset_and_work_lines():
    ours = [dict(OURS[0], preset="default"), dict(OURS[0], preset="nmmo2", live_steps_per_s=25_000.0),
            dict(preset="nmmo2", worlds=64, error="boom")]
    rows = bp.rows_for(PEER, ours)
    assert [r["system"] for r in rows] == ["nmmo 2.1.2", "nmmo-jax default", "nmmo-jax nmmo2",
                                           "nmmo-jax nmmo2"]
    assert rows[1]["ratio"] == pytest.approx(10.0) and rows[2]["ratio"] == pytest.approx(5.0)
    assert "| nmmo-jax nmmo2 | 64 |  | error: boom |" in bp.format_table(rows)
    lines = bp.work_lines(["default", "nmmo2"])
    assert len(lines) == 3 and "IMMORTAL" in lines[0] and "market" in lines[2]
    assert set(bp.OUR_WORK) == set(bp.PRESETS)


def test_reference_core_defaults_to_the_last_allowed_cpu():
    import os
    assert bp.reference_core(3) == 3 and bp.reference_core(-1) == -1
    if hasattr(os, "sched_getaffinity"):
        assert bp.reference_core(None) == max(os.sched_getaffinity(0))
