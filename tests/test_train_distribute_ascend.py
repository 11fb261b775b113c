"""train.distribute.ascend: broadcast vs shard, gathering in worker order, timing accounting and
the summary, with local objects and with Ray actors; a killed actor is WorkerLost; the
module's own example runs."""
import os
import signal
import textwrap

import pytest

from train.distribute import ascend
from train.distribute.ascend import Ascend, Stateless, Worker, WorkerLost, runtime, waittime


class Echo(Worker):
    """Answers its index, its constructor arguments and its call's arguments."""

    def __init__(self, index, base, scale=1):
        self.index, self.base, self.scale = index, base, scale
        self.calls = 0

    @runtime
    def step(self, *args):
        self.calls += 1
        return (self.index, self.base, self.scale, *args)

    @runtime
    def work(self):
        """Compute around an inner `pause`, which counts as wait."""
        ascend._now()  # a tick of the fake clock in the local test
        self.pause()
        return self.index

    @waittime
    def pause(self):
        ascend._now()

    def count(self):
        return self.calls

    def forget(self):
        raise Stateless("lost my state")


class FakeClock:
    """A perf_counter that advances one second per reading."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        self.t += 1.0
        return self.t


def test_local_broadcast_and_shard():
    layer = Ascend(Echo, 3, 10, use_ray=False, scale=2)
    assert layer.step("all") == [(i, 10, 2, "all") for i in range(3)]
    out = layer.step("all", ["a", "b", "c"], shard=(False, True))
    assert out == [(0, 10, 2, "all", "a"), (1, 10, 2, "all", "b"), (2, 10, 2, "all", "c")]
    # a sequence that is not sharded goes whole to every worker
    assert layer.step([1, 2, 3]) == [(i, 10, 2, [1, 2, 3]) for i in range(3)]
    assert layer.call(1, "x") == (1, 10, 2, "x")
    assert layer.step(method="count") == [3, 4, 3]


def test_wrong_shards_are_refused():
    layer = Ascend(Echo, 2, 0, use_ray=False)
    with pytest.raises(ValueError, match="argument 1 is sharded over 2 server workers but has 3"):
        layer.distrib("x", [1, 2, 3], shard=(False, True))
    with pytest.raises(ValueError, match="shard has 1 flags for 2 arguments"):
        layer.distrib("x", [1, 2], shard=(True,))
    with pytest.raises(ValueError, match="n=0"):
        Ascend(Echo, 0, use_ray=False)
    assert layer.step(method="count") == [0, 0]  # nothing was sent


def test_local_timing_accounting(monkeypatch):
    monkeypatch.setattr(ascend, "_now", FakeClock())
    # Every reading of the clock advances it 1 s. The layer's clock starts at 1, the
    # workers' at 2 and 3.
    layer = Ascend(Echo, 2, 0, use_ray=False, name="core")
    # distrib opens at 4; worker 0's work reads 5 (open), 6 (tick), 7 (pause opens),
    # 8 (tick), 9 (pause closes), 10 (close): 5 s of which 2 s in pause, so compute
    # 3 s and wait 2 s; worker 1 the same from 11 to 16; distrib closes at 17 and
    # sync reads 18 and 19.
    assert layer.step(method="work") == [0, 1]
    summary = layer.summary()  # reads 20 (driver), 21 and 22 (workers)
    assert list(summary) == ["driver", "core"]
    drv, core = summary["driver"], summary["core"]
    assert drv == {"n": 1, "total": 19.0, "compute": 13.0, "wait": 1.0}
    assert core["workers"] == [{"total": 19.0, "compute": 3.0, "wait": 2.0}] * 2
    assert (core["n"], core["total"], core["compute"], core["wait"]) == (2, 19.0, 3.0, 2.0)
    table = layer.format_summary(summary).splitlines()
    assert table[0].split()[:4] == ["layer", "n", "total", "s"]
    assert [line.split()[0] for line in table[2:]] == ["driver", "core"]
    assert all(line.count("%") == 3 for line in table[2:])


def test_decorators_nest_and_keep_names():
    assert Echo.work.__name__ == "work" and "inner `pause`" in Echo.work.__doc__
    clock = ascend.Clock()
    with clock.section("compute"):
        with clock.section("wait"):
            pass
    r = clock.report()
    assert r["compute"] >= 0 and r["wait"] >= 0 and r["compute"] + r["wait"] <= r["total"]
    with pytest.raises(ValueError, match="kind='idle'"):
        with clock.section("idle"):
            pass


def test_local_stateless_propagates():
    layer = Ascend(Echo, 1, 0, use_ray=False)
    with pytest.raises(Stateless):
        layer.step(method="forget")
    assert layer.restarts == 0


# ---------------------------------------------------------------------------- Ray

@pytest.mark.slow
def test_ray_broadcast_shard_and_summary(ray_cluster):
    layer = Ascend(Echo, 2, 10, scale=3)
    try:
        handles = layer.distrib("all", ["a", "b"], shard=(False, True))
        assert all(isinstance(h, ray_cluster.ObjectRef) for h in handles)
        assert layer.sync(handles) == [(0, 10, 3, "all", "a"), (1, 10, 3, "all", "b")]
        with pytest.raises(ValueError, match="has 1 pieces"):
            layer.distrib(["a"], shard=(True,))
        assert layer.step(method="work") == [0, 1]
        summary = layer.summary()
        assert summary["server"]["n"] == 2
        for w in summary["server"]["workers"]:
            assert w["compute"] > 0 and w["wait"] > 0
            assert w["compute"] + w["wait"] <= w["total"]
        assert summary["driver"]["wait"] > 0
        assert len(set(layer.step(method="pid"))) == 2 and os.getpid() not in layer.step(method="pid")
        assert "server" in layer.format_summary()
    finally:
        layer.close()


@pytest.mark.slow
def test_ray_lost_worker_is_restarted(ray_cluster):
    layer = Ascend(Echo, 2, 7)
    try:
        layer.step("x")
        pids = layer.step(method="pid")
        os.kill(pids[1], signal.SIGKILL)
        with pytest.raises(WorkerLost) as lost:
            layer.step("y")
        assert lost.value.indices == (1,) and layer.restarts == 1
        new_pid = layer.wait_alive(1)
        assert new_pid != pids[1] and layer.step(method="pid") == [pids[0], new_pid]
        # the restarted worker was rebuilt with the same constructor arguments
        assert layer.step("z") == [(0, 7, 1, "z"), (1, 7, 1, "z")]
        assert layer.step(method="count")[1] == 1
        # a worker that reports missing state is lost too
        with pytest.raises(WorkerLost) as lost:
            layer.step(method="forget")
        assert lost.value.indices == (0, 1) and layer.restarts == 3
    finally:
        layer.close()


def test_the_module_docstring_example_runs(capsys):
    """The indented block of train.distribute.ascend's docstring, as written there."""
    lines = ascend.__doc__.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    "))
    end = next(i for i in range(start, len(lines))
               if lines[i].strip() and not lines[i].startswith("    "))
    example = "\n".join(lines[start:end])
    space = {"Worker": Worker, "Ascend": Ascend, "runtime": runtime}
    exec(textwrap.dedent(example), space)
    layer = space["layer"]
    assert layer.sync(layer.distrib([3, 4], shard=(True,))) == [9, 16]
    assert layer.step(5) == [25, 25]
    assert "driver" in capsys.readouterr().out
