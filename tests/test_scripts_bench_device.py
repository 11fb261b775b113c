"""scripts/bench_device.py: sizes chosen by backend, the table's columns, and (slow,
subprocesses that compile) one quick env case and one training case on CPU."""
import argparse

import pytest

from scripts import bench_device
from train.distribute import backend

HEADER = ("| what | preset | A | W | dev | agent-steps/s | world-ticks/s | s per call "
          "| compile s | peak MiB | memory |")


def squeeze(line: str) -> str:
    return " ".join(line.split())


@pytest.mark.parametrize("name, size, worlds", [
    ("cpu", "quick", [4, 8, 16]),
    ("gpu", "full", [1024, 2048, 4096, 8192, 16384]),
    ("tpu", "full", [1024, 2048, 4096, 8192, 16384]),
])
def test_sizes_default_by_backend(monkeypatch, name, size, worlds):
    monkeypatch.setattr(backend, "platform", lambda: name)
    args = bench_device.parse_args([])
    assert (args.size, args.worlds, args.preset) == (
        size, worlds, "small" if size == "quick" else "default")
    args = bench_device.parse_args(["--quick" if size == "full" else "--full",
                                    "--worlds", "2", "--train-worlds", ""])
    assert args.size != size and (args.worlds, args.train_worlds) == ([2], [])


def test_bad_flags_are_refused():
    for argv in (["--worlds", "4,x"], ["--worlds", "0"], ["--ticks", "0"],
                 ["--quick", "--full"], ["--preset", "huge"]):
        with pytest.raises(SystemExit):
            bench_device.parse_args(argv)


def test_table_has_the_columns_and_shows_a_failed_case():
    ok = dict(what="env", preset="default", agents=128, worlds=16384, devices=1,
              agent_steps_per_s=12345678.9, world_ticks_per_s=96450.6, call_s=5.4349,
              compile_s=12.34, peak_mib=40960.4, memory="device")
    failed = dict(what="train", preset="default", worlds=4096, error="RESOURCE_EXHAUSTED")
    lines = bench_device.table([ok, failed]).splitlines()
    assert squeeze(lines[0]) == HEADER
    assert [c.strip() for c in lines[2].strip("|").split("|")] == [
        "env", "default", "128", "16,384", "1", "12,345,679", "96,451", "5.435", "12.3",
        "40,960", "device"]
    assert squeeze(lines[3]) == "| train | default | | 4,096 | | error: RESOURCE_EXHAUSTED |"


def test_peak_memory_on_cpu_is_the_rss():
    mib, what = bench_device.peak_memory()
    if what == "device":
        pytest.skip("this device keeps memory statistics")
    assert what == "host RSS" and mib > 10


def test_a_case_that_fails_is_a_row(monkeypatch):
    args = argparse.Namespace(size="quick", preset="small", ticks=1, repeats=1, chunks=1)
    monkeypatch.setattr(bench_device, "worker_argv",
                        lambda *a: ["python", "-c", "raise SystemExit('out of memory')"])
    assert bench_device.run_case(args, "env", 4) == dict(
        what="env", preset="small", worlds=4, error="out of memory")


@pytest.mark.slow  # two subprocesses that compile (about a minute on 2 busy cores)
def test_quick_run_on_cpu_prints_the_table(capsys):
    if backend.platform() != "cpu":
        pytest.skip("the quick sizes are checked on CPU")
    assert bench_device.main(["--quick", "--worlds", "4", "--train-worlds", "8"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("cpu x") and "quick sizes" in out[0]
    assert squeeze(out[1]) == HEADER
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in out[3:]]
    assert [r[:4] for r in rows] == [["env", "small", "16", "4"], ["train", "small", "16", "8"]]
    for r in rows:
        assert float(r[5].replace(",", "")) > 0 and float(r[6].replace(",", "")) > 0
        assert float(r[7]) > 0 and float(r[8]) >= 0 and float(r[9].replace(",", "")) > 10
        assert r[10] == "host RSS"
