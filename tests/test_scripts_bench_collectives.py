"""scripts/bench_collectives.py: refuses bad sizes; times three sums between two processes."""
import pytest

from scripts import bench_collectives as bc


def test_bad_sizes_are_refused(capsys):
    for argv in (["--floats", "0"], ["--repeats", "0"], ["--rounds", "0"], ["--busy", "-1"]):
        with pytest.raises(SystemExit):
            bc.main(argv)
        assert "--floats, --repeats and --rounds must be positive" in capsys.readouterr().err


def test_row_gives_what_each_sum_adds_to_the_loop_without_one():
    assert bc.format_row(12569, (6.5, 8.25, 7.0, 7.75)) == \
        "| 12,569 | 50,276 | 6.50 | 1.75 | 0.50 | 1.25 |"


@pytest.mark.slow  # two JAX processes
def test_two_processes_time_three_sums(capsys):
    bc.main(["--floats", "16", "--repeats", "20", "--busy", "2", "--rounds", "1"])
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "| float32 values | bytes | no sum | psum | all_gather + sum | " \
                     "world_sum (ppermute) |"
    row = out[-1]
    assert row.startswith("| 16 | 64 | ")
    base, *added = (float(v) for v in row.strip("| ").split("|")[2:])
    assert 0 < base < 1000 and len(added) == 3
    assert all(-base < a < 1000 for a in added)
