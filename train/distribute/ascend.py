"""Ascend: one layer of the hardware hierarchy as one object (after Neural MMO v1.3's Trinity).

A layer holds n workers of the layer below. `distrib` sends a method call to
every worker, each argument either broadcast to all or sharded (worker i gets
piece i), and returns handles at once; `sync` gathers the results in worker
order; `step` does both. The workers are Ray actors, one process each (on as
many hosts as the cluster has), or plain local objects when `use_ray=False`,
which makes the same program run and test without Ray.

    class Square(Worker):                       # any class; Worker adds a clock
        def __init__(self, index: int):
            self.index = index

        @runtime
        def step(self, x):
            return x * x

    layer = Ascend(Square, 2, use_ray=False)    # Square(0), Square(1): local objects
    handles = layer.distrib([3, 4], shard=(True,))  # worker i gets piece i
    layer.sync(handles)                         # [9, 16]
    layer.step(5)                               # [25, 25]: 5 broadcast to both
    print(layer.format_summary())               # driver and worker layers' timing

Timing: methods wrapped in `@runtime` count as compute of their object's
layer and methods wrapped in `@waittime` as wait (time spent waiting on the
layer below); nested sections count once, in the innermost. The driver layer
is the Ascend object itself (its `sync` is wait); each worker keeps its own
clock (the `Worker` base class) and answers `timings()`. `summary()` reports
both layers: seconds and % of each layer's elapsed time; `format_summary`
prints any such summary as a table (train.distribute.group prints its server and
core layers with it, train.distribute.cluster its cluster layer).

Faults: Ray actors are created with `max_restarts=-1`, so Ray restarts a
worker whose process died (killed, out of memory), calling its constructor
again with the same arguments. `sync` waits until such a worker answers
again, counts it in `restarts` and raises `WorkerLost` naming it; the caller
decides how to rebuild its state. A worker method that finds its state
missing (a fresh incarnation that the caller has not re-initialised) raises
`Stateless`, which `sync` reports the same way.
"""
from __future__ import annotations

import functools
import os
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

KINDS = ("compute", "wait")
_now = time.perf_counter  # the clock of all accounting (a module global, so tests can fake it)


class WorkerLost(RuntimeError):
    """Workers of a layer died (or came back without their state) and Ray restarted them."""

    def __init__(self, indices: Sequence[int], layer: str = "worker"):
        self.indices = tuple(indices)
        self.layer = layer
        super().__init__(f"{layer} worker(s) {list(self.indices)} lost their process or state; "
                         "restarted by Ray and answering again")


class Stateless(RuntimeError):
    """Raised by a worker method that needs state this worker does not hold (it was restarted)."""


# ---------------------------------------------------------------------------- timing

class Clock:
    """Seconds of compute and wait of one object since it was created."""

    def __init__(self) -> None:
        self.start = _now()
        self.seconds = dict.fromkeys(KINDS, 0.0)
        self._open: list[float] = []  # per open section: seconds already counted inside it

    @contextmanager
    def section(self, kind: str) -> Iterator[None]:
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r}: choose one of {KINDS}")
        self._open.append(0.0)
        t0 = _now()
        try:
            yield
        finally:
            dt = _now() - t0
            self.seconds[kind] += dt - self._open.pop()
            if self._open:
                self._open[-1] += dt

    def report(self) -> dict[str, float]:
        return {"total": _now() - self.start, **self.seconds}


def clock(obj: Any) -> Clock:
    """The Clock of obj (created on first use for objects that are not Workers)."""
    found = obj.__dict__.get("_ascend_clock")
    if found is None:
        found = obj.__dict__["_ascend_clock"] = Clock()
    return found


def timed(obj: Any, kind: str):
    """`with timed(obj, "compute"):` accounts a block like the decorators do."""
    return clock(obj).section(kind)


def _timed_method(kind: str, fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        with timed(self, kind):
            return fn(self, *args, **kwargs)
    return wrapper


def runtime(fn: Callable) -> Callable:
    """Decorator: the method's wall time is compute of its object's layer."""
    return _timed_method("compute", fn)


def waittime(fn: Callable) -> Callable:
    """Decorator: the method's wall time is waiting on the layer below."""
    return _timed_method("wait", fn)


class Worker:
    """Base class of Ascend workers: a clock started at construction, `timings()`, `pid()`."""

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        self._ascend_clock = Clock()
        return self

    def timings(self) -> dict[str, float]:
        """{"total", "compute", "wait"} seconds since this worker started."""
        return clock(self).report()

    def pid(self) -> int:
        return os.getpid()


# ---------------------------------------------------------------------------- layer

def _ray():
    try:
        import ray
    except ImportError as e:
        raise ImportError("Ascend with use_ray=True needs Ray: pip install -e '.[ray]'") from e
    return ray


class Ascend:
    """n workers `worker_cls(index, *args, **kwargs)`: Ray actors, or local objects.

    `ray_options` are passed to the actor's `.options(...)` (e.g. a scheduling
    strategy); `restart_timeout` bounds the wait for a restarted actor.
    """

    def __init__(self, worker_cls: type, n: int, *args, use_ray: bool = True, name: str = "server",
                 ray_options: dict | None = None, restart_timeout: float = 300.0, **kwargs):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n={n!r}: must be an integer >= 1")
        self._ascend_clock = Clock()
        self.n, self.name, self.use_ray = n, name, use_ray
        self.restarts = 0
        self.restart_timeout = restart_timeout
        if use_ray:
            ray = _ray()
            actor = ray.remote(max_restarts=-1, max_task_retries=0)(worker_cls)
            if ray_options:
                actor = actor.options(**ray_options)
            self.workers = [actor.remote(i, *args, **kwargs) for i in range(n)]
        else:
            self.workers = [worker_cls(i, *args, **kwargs) for i in range(n)]

    # -- calls

    def _pieces(self, args: tuple, shard: Sequence[bool] | None) -> list[tuple]:
        """The argument tuple of each worker."""
        shard = tuple(shard) if shard is not None else (False,) * len(args)
        if len(shard) != len(args):
            raise ValueError(f"shard has {len(shard)} flags for {len(args)} arguments")
        for pos, (arg, split) in enumerate(zip(args, shard)):
            if split and len(arg) != self.n:
                raise ValueError(f"argument {pos} is sharded over {self.n} {self.name} workers "
                                 f"but has {len(arg)} pieces")
        if self.use_ray and self.n > 1:  # serialise each broadcast argument once, not n times
            ray = _ray()
            args = tuple(a if s else ray.put(a) for a, s in zip(args, shard))
        return [tuple(a[i] if s else a for a, s in zip(args, shard)) for i in range(self.n)]

    def _call(self, i: int, method: str, args: tuple):
        if self.use_ray:
            return getattr(self.workers[i], method).remote(*args)
        return getattr(self.workers[i], method)(*args)

    @runtime
    def distrib(self, *args, shard: Sequence[bool] | None = None, method: str = "step") -> list:
        """Call `method` on every worker; returns one handle per worker without waiting.

        Argument k goes whole to every worker unless shard[k] is True: then it is
        a sequence of n pieces and worker i gets piece i.
        """
        return [self._call(i, method, a) for i, a in enumerate(self._pieces(args, shard))]

    @waittime
    def sync(self, handles: Sequence) -> list:
        """The results of `distrib`'s handles, in worker order (WorkerLost on faults)."""
        return self._gather(handles)

    def step(self, *args, shard: Sequence[bool] | None = None, method: str = "step") -> list:
        """`sync(distrib(...))`."""
        return self.sync(self.distrib(*args, shard=shard, method=method))

    def call(self, index: int, *args, method: str = "step"):
        """Call `method` on worker `index` alone and wait for its result."""
        return self.sync_one(index, self._call(index, method, args))

    @waittime
    def sync_one(self, index: int, handle):
        """The result of one worker's handle (WorkerLost on faults)."""
        return self._gather([handle], [index])[0]

    def close(self) -> None:
        """End the workers (Ray actors are killed, not restarted)."""
        if self.use_ray:
            ray = _ray()
            for w in self.workers:
                ray.kill(w, no_restart=True)
        self.workers = []

    # -- faults

    def _gather(self, handles: Sequence, indices: Sequence[int] | None = None) -> list:
        indices = list(range(len(handles))) if indices is None else list(indices)
        if not self.use_ray:
            return list(handles)
        ray = _ray()
        results, lost = [], []
        for i, h in zip(indices, handles):
            try:
                results.append(ray.get(h))
            except (ray.exceptions.RayActorError, Stateless):
                lost.append(i)
        if lost:
            for i in lost:
                self.wait_alive(i)
            self.restarts += len(lost)
            raise WorkerLost(lost, self.name)
        return results

    def wait_alive(self, index: int, timeout: float | None = None) -> int:
        """Block until worker `index` answers (after a restart); returns its pid."""
        if not self.use_ray:
            return self.workers[index].pid()
        ray = _ray()
        deadline = time.monotonic() + (self.restart_timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name} worker {index} did not come back within "
                                   f"{self.restart_timeout if timeout is None else timeout} s")
            try:
                return ray.get(self.workers[index].pid.remote(), timeout=left)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                time.sleep(min(0.2, max(left, 0.0)))

    # -- timing

    def summary(self) -> dict[str, dict]:
        """Per layer: n, seconds of total/compute/wait (workers: mean over workers), and
        for workers the per-worker reports under "workers"."""
        driver = {"n": 1, **clock(self).report()}
        reports = self._gather([self._call(i, "timings", ()) for i in range(self.n)])
        layer = {"n": self.n, **{k: sum(r[k] for r in reports) / self.n
                                 for k in ("total",) + KINDS}, "workers": reports}
        return {"driver": driver, self.name: layer}

    def format_summary(self, summary: dict | None = None) -> str:
        """`format_summary` of this layer's summary (or of `summary`)."""
        return format_summary(self.summary() if summary is None else summary)


def format_summary(summary: dict[str, dict]) -> str:
    """A summary {layer: {n, total, compute, wait}} as a table: per layer total,
    compute, wait and idle seconds and % of the layer's total."""
    head = (f"{'layer':<10} {'n':>3} {'total s':>9} {'compute s':>10} {'%':>6} "
            f"{'wait s':>9} {'%':>6} {'idle s':>9} {'%':>6}")
    lines = [head, "-" * len(head)]
    for layer, r in summary.items():
        total = max(r["total"], 1e-9)
        idle = max(r["total"] - r["compute"] - r["wait"], 0.0)
        cells = "".join(f" {v:>{w}.2f} {100 * v / total:>5.1f}%"
                        for v, w in ((r["compute"], 10), (r["wait"], 9), (idle, 9)))
        lines.append(f"{layer:<10} {r['n']:>3} {r['total']:>9.2f}{cells}")
    return "\n".join(lines)
