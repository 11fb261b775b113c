"""scripts/bench_collectives.py: refuses bad sizes; times a psum between two processes."""
import pytest

from scripts import bench_collectives as bc


def test_bad_sizes_are_refused(capsys):
    for argv in (["--floats", "0"], ["--repeats", "0"]):
        with pytest.raises(SystemExit):
            bc.main(argv)
        assert "--floats and --repeats must be positive" in capsys.readouterr().err


@pytest.mark.slow  # two JAX processes
def test_two_processes_time_a_psum(capsys):
    bc.main(["--floats", "16", "--repeats", "20"])
    row = capsys.readouterr().out.splitlines()[-1]
    assert row.startswith("| 16 | 64 | ")
    assert 0 < float(row.split("|")[3]) < 1000
