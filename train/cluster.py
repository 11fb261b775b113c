"""Synchronous PPO on a Ray cluster: `python -m train --ray-workers N` or `--ray-address ADDR`.

`RayTrainer` is the run loop's backend (train.loop): the same logs, checkpoints
and evaluation as the single-process run.

The layers of `train.ascend`: the driver (a `Cluster`, this process) holds the
parameters and the optimizer state; each of its n `Server` workers (a Ray
actor, one per host on a real cluster) holds num_worlds / n worlds and runs
`PPO.rollout` and `PPO.grads` compiled for its local devices, over which it
splits its worlds like the single-process trainer does. One update:

1. the driver splits its key like the fused trainer, broadcasts the
   parameters and the rollout key to `Server.rollout` (each server folds its
   index into the key); the trajectories stay on the servers;
2. for every epoch and minibatch of `PPO.orders` it sends the same rollout
   ticks to every server, averages the returned gradients weighted by each
   server's number of valid agent rows (so the average is the one big batch's
   masked mean, except that advantages are normalised per server) and applies
   one optimizer step.

Faults: a server whose process dies is restarted by Ray; the driver waits for
it, gives it new worlds (`reseed`) and redoes the whole update from its own,
unchanged parameters. Checkpoints gather the servers' worlds into one
`Runner`, the single-process format: `--resume` with or without Ray and
`checkpoint.load_policy` work on them.
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from typing import Any, Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from envs.batch import batch_reset

from .ascend import Ascend, Stateless, Worker, WorkerLost, _ray, runtime, waittime
from .config import TrainConfig
from .ppo import Runner, init_runner, make_ppo, summarize, world_mesh

MAX_LOSSES = 5  # worker losses in a row on one step before the run gives up
INLINE_BYTES = 1 << 20  # call arguments and results up to this size skip the object store


def _split(tree, n: int) -> list:
    """n pieces of a pytree along its leading (world) axis, as numpy."""
    tree = jax.device_get(tree)
    per = jax.tree.leaves(tree)[0].shape[0] // n
    return [jax.tree.map(lambda x: x[i * per:(i + 1) * per], tree) for i in range(n)]


def _concat(pieces: list):
    return jax.tree.map(lambda *xs: np.concatenate(xs), *pieces)


def weighted_mean(trees: list, rows) -> Any:
    """The mean of pytrees weighted by each one's number of valid rows: for per-server
    masked means, the masked mean over all servers' rows together."""
    rows = np.asarray(rows, np.float64)
    w = rows / max(rows.sum(), 1.0)
    return jax.tree.map(lambda *xs: sum(np.float32(wi) * np.asarray(x) for wi, x in zip(w, xs)),
                        *trees)


class Server(Worker):
    """num_worlds / n worlds and their trajectories, on this host's devices."""

    def __init__(self, index: int, tc: TrainConfig, n: int):
        self.index, self.n = index, n
        self.num_worlds = tc.num_worlds // n
        self.tc = tc.replace(num_worlds=self.num_worlds, ray_workers=0, ray_address="")
        self.mesh = world_mesh(self.tc)  # this host's devices that divide its worlds
        self.by_world = NamedSharding(self.mesh, P("worlds"))
        self.ppo = make_ppo(self.tc, lambda t: jax.lax.with_sharding_constraint(t, self.by_world))
        self._rollout = jax.jit(self.ppo.rollout, donate_argnums=(1, 2))
        self._grads = jax.jit(self._grads_and_rows)
        self.env_state = self.obs = self.data = None

    def _grads_and_rows(self, params, data, ticks):
        grads, stats = self.ppo.grads(params, data, ticks)
        return grads, stats, data["valid"][:, ticks].sum()

    def _need(self, what: Any) -> None:
        if what is None:
            raise Stateless(f"server {self.index} holds no worlds (restarted): reseed or load it")

    @waittime
    def _fetch(self, tree):
        """Wait for the devices and bring results to the host as numpy."""
        return jax.device_get(tree)

    @runtime
    def info(self) -> dict:
        import socket
        return {"host": socket.gethostname(), "pid": os.getpid(), "worlds": self.num_worlds,
                "devices": [str(d) for d in self.mesh.devices.flat]}

    @runtime
    def load(self, env_state, obs) -> None:
        """Take these worlds (numpy pytrees with leading axis num_worlds / n)."""
        self.env_state, self.obs = jax.device_put((env_state, obs), self.by_world)
        self.data = None

    @runtime
    def reseed(self, key) -> None:
        """New worlds from `key` (after a restart)."""
        obs, env_state = batch_reset(jnp.asarray(key), self.tc.env_config, self.num_worlds)
        self.load(env_state, obs)

    @runtime
    def state(self) -> tuple:
        """(env_state, obs) as numpy, for checkpoints."""
        self._need(self.env_state)
        return self._fetch((self.env_state, self.obs))

    @runtime
    def rollout(self, params, key) -> dict:
        """Play rollout_len ticks; keeps the trajectories, returns the metric sums."""
        self._need(self.env_state)
        key = jax.random.fold_in(jnp.asarray(key), self.index)
        self.env_state, self.obs, self.data, metrics = self._rollout(
            params, self.env_state, self.obs, key)
        return self._fetch(metrics)

    @runtime
    def grads(self, params, ticks) -> tuple:
        """(grads, stats, valid rows) of the minibatch `ticks` of the last rollout."""
        self._need(self.data)
        return self._fetch(self._grads(params, self.data, jnp.asarray(ticks)))


class Cluster(Ascend):
    """The driver: parameters, optimizer state and an optimizer step; n Servers."""

    def __init__(self, tc: TrainConfig, n: int, use_ray: bool = True,
                 log: Callable[[str], None] | None = None):
        options = {"scheduling_strategy": "SPREAD"} if use_ray else None  # one per host
        super().__init__(Server, n, tc, n, use_ray=use_ray, name="server", ray_options=options)
        self.tc = tc
        self.ppo = make_ppo(tc)
        self._apply = jax.jit(self.ppo.apply)
        self._orders = jax.jit(self.ppo.orders)
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        self.stale: set[int] = set()  # restarted servers that still need worlds
        self._reseed_key = jax.random.fold_in(jax.random.PRNGKey(tc.seed), 0x5EED)

    def load(self, env_state, obs) -> None:
        """Hand worlds [W, ...] out to the servers, W / n each, in order."""
        self.step(_split(env_state, self.n), _split(obs, self.n), shard=(True, True),
                  method="load")

    def gather(self) -> tuple:
        """(env_state, obs) of all worlds, as numpy, in server order."""
        pieces = self.step(method="state")
        return _concat([p[0] for p in pieces]), _concat([p[1] for p in pieces])

    @runtime
    def update(self, params, opt_state, k_roll, k_perm) -> tuple[Any, Any, dict]:
        """One PPO update from (params, opt_state) with the rollout and minibatch keys;
        returns the new pair and the update's metrics. The inputs are left untouched,
        so the update can be redone after a fault."""
        tc = self.tc
        host = jax.device_get(params)
        metrics = self.step(host, np.asarray(k_roll), method="rollout")
        metrics = {k: sum(m[k] for m in metrics) for k in metrics[0]}
        orders = np.asarray(self._orders(k_perm))
        stats = []
        for ticks in orders.reshape(-1, orders.shape[-1]):
            out = self.step(host, ticks, method="grads")
            rows = [o[2] for o in out]
            grads = weighted_mean([o[0] for o in out], rows)
            stats.append(weighted_mean([o[1] for o in out], rows))
            params, opt_state = self._apply(params, opt_state, grads)
            host = jax.device_get(params)
        stats = {k: np.array([s[k] for s in stats]).reshape(orders.shape[:2]) for k in stats[0]}
        return params, opt_state, summarize(stats, metrics, tc.rollout_len * tc.num_worlds)

    def robust(self, fn: Callable[[], Any], what: str):
        """fn(), redone after reseeding any server lost meanwhile (up to MAX_LOSSES in a row)."""
        for _ in range(MAX_LOSSES + 1):
            try:
                for i in sorted(self.stale):
                    key = jax.random.fold_in(jax.random.fold_in(self._reseed_key, self.restarts), i)
                    self.call(i, np.asarray(key), method="reseed")
                    self.stale.discard(i)
                return fn()
            except WorkerLost as e:
                self.stale.update(e.indices)
                self.log(f"{e} ({self.restarts} restart(s) so far): reseeding its worlds "
                         f"and redoing {what}")
        raise RuntimeError(f"{what}: servers lost {MAX_LOSSES + 1} times in a row; giving up")


def connect(tc: TrainConfig) -> tuple[TrainConfig, bool]:
    """Start or join Ray; returns (tc with ray_workers resolved, whether we started Ray)."""
    ray = _ray()
    started = False
    if not ray.is_initialized():
        with warnings.catch_warnings():  # Ray starts its processes by fork + exec: safe
            warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
            if tc.ray_address:
                ray.init(address=tc.ray_address)
            else:
                # Pass parameters and gradients (~200 KB at width 32) inline with the calls
                # rather than through the object store (Ray's default limit is 100 KB): about
                # 2.5 ms less per minibatch round trip on one host.
                inline = "RAY_max_direct_call_object_size"
                saved = os.environ.get(inline)
                os.environ.setdefault(inline, str(INLINE_BYTES))
                try:
                    ray.init(num_cpus=max(tc.ray_workers, os.cpu_count() or 1),
                             include_dashboard=False)
                finally:
                    if saved is None:
                        del os.environ[inline]
        started = True
    if not tc.ray_workers:
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        try:
            tc = tc.replace(ray_workers=nodes)
        except ValueError as e:
            if started:
                ray.shutdown()
            raise ValueError(f"{e} ({nodes} node(s) in the cluster at {tc.ray_address!r}; "
                             "give --ray-workers)") from e
    return tc, started


class RayTrainer:
    """The run loop's backend (train.loop) on a Cluster: the driver's parameters,
    optimizer state, key and update count; the worlds on the servers."""

    def __init__(self, tc: TrainConfig, runner: Runner | None, log: Callable[[str], None]):
        self.tc, self.log = tc, log
        ppo = make_ppo(tc)
        self.model = ppo.model
        if runner is None:
            init = jax.jit(functools.partial(init_runner, ppo, num_worlds=tc.num_worlds))
            runner = init(jax.random.PRNGKey(tc.seed))
        self.params, self.opt_state, self.key = runner.params, runner.opt_state, runner.key
        self.update = int(runner.update)
        self.cluster = Cluster(tc, tc.ray_workers, log=log)
        self.cluster.robust(lambda: self.cluster.load(runner.env_state, runner.obs),
                            "handing out the worlds")
        self.hosts = self.cluster.robust(lambda: self.cluster.step(method="info"),
                                         "asking the servers")

    def describe(self, what: str) -> list[str]:
        return [f"nmmo-jax PPO on Ray: {what}, on {self.cluster.n} servers"] + [
            f"  server {i}: {h['worlds']} worlds on {h['host']} (pid {h['pid']}), "
            f"devices {h['devices']}" for i, h in enumerate(self.hosts)]

    def chunk(self) -> dict:
        """updates_per_chunk updates, each redone after a server loss; the metrics
        stacked [updates]. Logs the Ascend timing summary."""
        cluster, chunk = self.cluster, []
        for _ in range(self.tc.updates_per_chunk):
            # As the fused trainer: (next key, rollout key, minibatch key) from the key.
            next_key, k_roll, k_perm = jax.random.split(self.key, 3)
            self.params, self.opt_state, m = cluster.robust(
                lambda: cluster.update(self.params, self.opt_state, k_roll, k_perm),
                f"update {self.update + 1}")
            self.key, self.update = next_key, self.update + 1
            chunk.append(jax.tree.map(np.asarray, m))
        self.log(f"update {self.update}: Ascend timing ({cluster.restarts} restart(s))\n"
                 + cluster.robust(cluster.format_summary, "the timing summary"))
        return jax.tree.map(lambda *x: np.stack(x), *chunk)

    def runner(self) -> Runner:
        env_state, obs = self.cluster.robust(self.cluster.gather, "gathering the worlds")
        return Runner(params=self.params, opt_state=self.opt_state, env_state=env_state, obs=obs,
                      key=self.key, update=np.int32(self.update))

    def extra(self) -> dict:
        return {"restarts": self.cluster.restarts}

    def close(self) -> dict:
        timing = self.cluster.robust(self.cluster.summary, "the timing summary")
        self.cluster.close()
        return {"restarts": self.cluster.restarts, "timing": timing}


@contextlib.contextmanager
def ray_trainer(tc: TrainConfig, runner: Runner | None, log: Callable[[str], None]
                ) -> Iterator[RayTrainer]:
    """A RayTrainer on the cluster of tc; its servers end with the block, and so does
    Ray if it was started here."""
    tc, started = connect(tc)
    trainer = None
    try:
        trainer = RayTrainer(tc, runner, log)
        yield trainer
    finally:
        if trainer is not None:
            trainer.cluster.close()
        if started:
            _ray().shutdown()
