"""scripts/bench_processes.py: the pure helpers (no training)."""
import pytest

from scripts import bench_processes as bp


def test_chunk_rates_skip_the_compile_chunk(tmp_path):
    (tmp_path / "metrics.csv").write_text("update,agent_steps_per_s\n10,700.5\n20,5000\n30,5200.25\n")
    assert bp.chunk_rates(tmp_path / "metrics.csv") == [5000.0, 5200.25]


def test_table_is_relative_to_the_last_row():
    lines = bp.format_table([("2 processes x 1 device", 40_000.0),
                             ("1 process x 2 devices", 50_000.0)]).splitlines()
    assert lines[0] == "| setup | agent-steps/s | ratio |"
    assert lines[2] == "| 2 processes x 1 device | 40,000 | 0.80x |"
    assert lines[3] == "| 1 process x 2 devices | 50,000 | 1.00x |"


def test_too_few_updates_are_refused(capsys):
    with pytest.raises(SystemExit):
        bp.parse_args(["--updates", "10"])
    assert "--updates=10: must be at least two chunks (20)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bp.parse_args(["--rounds", "0"])
    assert "--rounds=0: must be at least 1" in capsys.readouterr().err
    assert bp.parse_args(["--train-flags", "--num-minibatches 4"]).train_flags == \
        "--num-minibatches 4"
