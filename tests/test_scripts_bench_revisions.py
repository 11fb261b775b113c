"""scripts/bench_revisions.py: the flags each revision's case gets, and the
same-process comparison of two source trees."""
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import bench_revisions

ROOT = Path(__file__).resolve().parents[1]


def test_both_revisions_get_args_and_only_the_new_one_new_args():
    args = bench_revisions.parse_args(["HEAD", "WORKTREE", "--args=--full --chunk 4",
                                       "--new-args=--params per-world"])
    old = bench_revisions.bench_env_argv(args, "nmmo2", 16, new=False)
    new = bench_revisions.bench_env_argv(args, "nmmo2", 16, new=True)
    assert old == ["--preset", "nmmo2", "--worlds", "16", "--no-phases", "--full", "--chunk", "4"]
    assert new == old + ["--params", "per-world"]


def test_zero_rounds_is_refused():
    with pytest.raises(SystemExit):
        bench_revisions.parse_args(["HEAD", "WORKTREE", "--rounds", "0"])


def test_a_tree_without_prepare_is_refused_in_one_line(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "__init__.py").write_text("")
    (tmp_path / "scripts" / "bench_env.py").write_text("def main():\n    pass\n")
    # In a subprocess: loading a tree drops this checkout's modules from sys.modules.
    done = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                           "from scripts.bench_revisions import load_bench_env; "
                           f"load_bench_env(Path({str(tmp_path)!r}))"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1
    assert "has no prepare()" in done.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_same_process_a_a_prints_both_times_and_their_paired_ratio(capsys):
    bench_revisions.main(["WORKTREE", "WORKTREE", "--preset", "small", "--worlds", "2",
                          "--rounds", "3", "--same-process", "--args=--ticks 2"])
    row = capsys.readouterr().out.strip().splitlines()[-1]
    w, old_ms, new_ms, ratio = (x.strip() for x in row.strip("|").split("|"))
    assert w == "2" and float(old_ms) > 0 and float(new_ms) > 0
    assert 0.2 < float(ratio) < 5  # one program against itself: the noise, not a change
