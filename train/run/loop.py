"""The run loop of `python -m train`, the same for one process and many.

`run` prepares the run directory, starts or resumes the run, and trains in
chunks of `updates_per_chunk` updates until the step or time budget is spent:
a metrics row per chunk, a checkpoint every `checkpoint_every` chunks and at
the end, then the closing evaluation. The updates themselves come from a
backend: `Local` (the fused trainer of train.ppo) or, on process 0 of a
multi-process run, `train.distribute.group.Leader` (the same trainer over a
global device mesh).

Stops: Ctrl-C or SIGTERM finish the chunk under way, log it, save and return;
a second one, or one before the first chunk has finished (the compile), quits
at once with `Interrupted`. A chunk whose losses or parameters are not finite
stops the run without a checkpoint (`summary["diverged"]`). A checkpoint
that cannot be written is reported and tried again at the next interval.
"""
from __future__ import annotations

import contextlib
import json
import math
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Protocol

import jax
import numpy as np

from ..config import TrainConfig
from ..evaluation.population import PER_LIVING_AGENT
from ..ppo.trainer import make_trainer
from ..ppo.update import Runner
from . import checkpoint
from .logger import NPC_COLUMNS, RunLogger

# What a run writes in its directory (deleted by overwrite=True).
RUN_FILES = ("checkpoints", "metrics.csv", "config.json", "tb", "eval.json", "population.png",
             "replay.html")
LOSSES = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_frac")


class RunError(ValueError):
    """The run cannot start in this directory."""


class Interrupted(KeyboardInterrupt):
    """A signal that ends the run at once, saving nothing. signum: which."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Backend(Protocol):
    """What the loop needs from a trainer."""

    tc: TrainConfig  # the run's config as it will be saved
    model: Any  # ActorCritic

    @property
    def update(self) -> int: ...  # updates done

    @property
    def params(self) -> Any: ...

    def describe(self, what: str) -> list[str]: ...  # log lines about the run and where it runs

    def chunk(self) -> dict: ...  # updates_per_chunk updates; per-update metrics [U], numpy

    def runner(self) -> Runner: ...  # the whole state, for a checkpoint

    def extra(self) -> dict: ...  # numbers for the metrics row and the checkpoint header

    def close(self) -> dict: ...  # numbers for the summary


class Local:
    """The fused single-process trainer of train.ppo.trainer: one jitted call per chunk."""

    def __init__(self, tc: TrainConfig, runner: Runner | None):
        self.tc = tc
        self.trainer = make_trainer(tc)
        self.model = self.trainer.model
        self._runner = (self.trainer.init(jax.random.PRNGKey(tc.seed)) if runner is None
                        else jax.device_put(runner, self.trainer.shardings))

    @property
    def update(self) -> int:
        return int(self._runner.update)

    @property
    def params(self) -> Any:
        return self._runner.params

    def describe(self, what: str) -> list[str]:
        mesh = self.trainer.mesh
        return [f"nmmo-jax PPO: {what}, worlds split over {mesh.size} device(s) "
                f"{list(mesh.devices.flat)}"]

    def chunk(self) -> dict:
        self._runner, m = self.trainer.train_chunk(self._runner)
        return jax.tree.map(np.asarray, m)

    def runner(self) -> Runner:
        return self._runner

    def extra(self) -> dict:
        return {}

    def close(self) -> dict:
        return {}


@contextlib.contextmanager
def backend_for(tc: TrainConfig, runner: Runner | None, log) -> Iterator[Backend]:
    """The backend of a config: the Leader of a multi-process run (--coordinator,
    jax.distributed initialised), else Local."""
    if tc.placement.coordinator:
        from ..distribute.group import Leader
        yield Leader(tc, runner, log)
    else:
        yield Local(tc, runner)


class Stopper:
    """SIGINT/SIGTERM handling (main thread only): once `armed`, a first signal
    asks the loop to stop after the chunk under way; before that, or a second
    time, it raises Interrupted."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, log):
        self.log, self.armed, self.signum = log, False, None
        self._saved: dict = {}

    def __enter__(self) -> "Stopper":
        if threading.current_thread() is threading.main_thread():
            self._saved = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._saved.items():
            signal.signal(s, handler)

    def _handle(self, signum: int, frame) -> None:
        if not self.armed or self.signum is not None:
            raise Interrupted(signum)
        self.signum = signum
        self.log(f"{signal.Signals(signum).name}: finishing this chunk, then saving a checkpoint "
                 "(again to quit at once without saving)")


def prepare(out: Path, resume: bool, overwrite: bool) -> None:
    """Make `out` ready: refuse a directory holding anything unless resuming it
    (or overwrite, which deletes the previous run's files); remove temporary
    files of checkpoint writes that were killed."""
    if not resume:
        if out.is_dir() and any(out.iterdir()):
            if not overwrite:
                raise RunError(f"--out {out}: the directory is not empty; --resume {out} "
                               "continues the run in it, --overwrite replaces it")
            for name in RUN_FILES:
                path = out / name
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
    checkpoint.clean(out / "checkpoints")


def chunk_row(m: dict, update: int, per_update: int, wall: float, dt: float) -> dict:
    """The metrics.csv row of a chunk: m holds per-update metrics stacked [updates];
    counts (lives_ended, deaths_*, with NPCs on npc_kills and npc_deaths, with
    items on harvested) are summed over the chunk's updates, means (alive_mean,
    with items on equipment_level and gold) averaged."""
    ended = int(m["lives_ended"].sum())
    row = {"update": update, "agent_steps": update * per_update, "wall_s": wall,
           "agent_steps_per_s": len(m["lives_ended"]) * per_update / dt,
           "mean_lifetime": float(m["lifetime_sum"].sum() / ended) if ended else float("nan"),
           "lives_ended": ended, "alive_mean": float(m["alive_mean"].mean())}
    for k in ("deaths_lava", "deaths_starvation", "deaths_combat", "harvested") + NPC_COLUMNS:
        if k in m:  # npc_kills, npc_deaths: NPCs on only; harvested: items on only
            row[k] = int(m[k].sum())
    for k in PER_LIVING_AGENT:
        if k in m:  # items on only
            row[k] = float(m[k].mean())
    for k in LOSSES:
        row[k] = float(m[k].mean())
    return row


def divergence(row: dict, params) -> str | None:
    """What stopped being finite in a chunk (its row's losses, the parameters), or None."""
    bad = [f"{k} = {row[k]}" for k in LOSSES if not math.isfinite(row[k])]
    leaves = checkpoint.nonfinite(jax.device_get(params))
    if leaves:
        bad.append(f"non-finite parameters in {leaves[0]}" + (" ..." if len(leaves) > 1 else ""))
    return "; ".join(bad) or None


def expected_stop(tc: TrainConfig, steps: int, wall: float, chunk_s: float) -> int:
    """The agent-steps at which the run will stop: total_steps, or fewer when the
    time budget ends it first (a chunk starts while time is left)."""
    if not tc.minutes:
        return tc.total_steps
    chunks = max(0, math.ceil((tc.minutes * 60 - wall) / chunk_s))
    return min(tc.total_steps, steps + chunks * tc.updates_per_chunk * tc.steps_per_update)


def start(tc: TrainConfig, out: Path, resume: bool) -> tuple[Runner | None, float]:
    """(Runner to continue, wall seconds already spent): the newest valid checkpoint of
    out when resuming (refused if it does not fit tc), else (None, 0) and a fresh
    out/config.json."""
    if not resume:
        runner = warm_start(tc) if tc.init_from else None
        (out / "config.json").write_text(json.dumps(tc.to_dict(), indent=2))
        return runner, 0.0
    loaded = checkpoint.load(out, set_aside=True)
    template = jax.eval_shape(make_trainer(tc).init, jax.random.PRNGKey(0))
    runner, header = checkpoint.restore(loaded, template, tc)
    print(f"resuming {loaded.path} at update {int(runner.update)}", file=sys.stderr)
    return runner, float(header["extra"].get("wall_s", 0.0))


def warm_start(tc: TrainConfig) -> Runner:
    """A fresh run's Runner holding the policy parameters of `tc.init_from` (a run
    directory, checkpoint or policy export) with a fresh optimizer state. RunError
    naming --init-from when it cannot be read or its parameters do not have the
    shapes of this run's model."""
    from .policy import load_model
    try:
        _, params, source = load_model(tc.init_from)
    except checkpoint.CheckpointError as e:
        raise RunError(f"--init-from {tc.init_from}: {e}") from None
    trainer = make_trainer(tc)
    runner = trainer.init(jax.random.PRNGKey(tc.seed))
    shapes = lambda tree: jax.tree.map(lambda x: (x.shape, str(x.dtype)), tree)
    if (jax.tree.structure(params) != jax.tree.structure(runner.params)
            or shapes(params) != shapes(runner.params)):
        raise RunError(f"--init-from {tc.init_from}: its policy (preset {source.preset}, "
                       f"--width {source.ppo.width}, --sees-params {source.ppo.sees_params}) "
                       "does not have the shapes of this run's model")
    return runner.replace(params=params, opt_state=trainer.ppo.tx.init(params))


def run(tc: TrainConfig, out: str | Path, resume: bool = False, evaluate: bool = True,
        overwrite: bool = False) -> dict:
    """Train until total_steps or the time budget (`minutes`, counted over all the
    run's sessions), then evaluate. `resume` continues the run in out from its
    newest valid checkpoint, with tc (whose computation must match the run's).

    Returns a summary: update, agent_steps, wall_s, params and randomize (the run's
    --params and --randomize entries), checkpoint (the newest this
    call wrote, or None), written and failed (checkpoint writes), interrupted
    (the signal's name, or None), diverged (what stopped being finite, or None),
    the backend's numbers (multi-process: restarts, timing) and, when evaluated, eval.
    RunError or CheckpointError before any work when the run cannot start;
    Interrupted when a signal ends it at once.
    """
    out = Path(out)
    prepare(out, resume, overwrite)
    runner, wall_offset = start(tc, out, resume)
    resumed_at = None if runner is None else int(runner.update)
    logger = RunLogger(out, tc.total_steps, (resumed_at or 0) * tc.steps_per_update, resumed_at,
                       npcs=tc.env_config.num_npcs > 0, items=tc.env_config.inventory_slots > 0)
    try:
        with Stopper(logger.write) as stop, backend_for(tc, runner, logger.write) as backend:
            del runner
            summary = _train(backend, out, logger, stop, wall_offset, resumed_at)
            tc, model, params = backend.tc, backend.model, backend.params
            summary |= backend.close()
    finally:
        logger.close()
    if summary["checkpoint"]:
        print(f"checkpoint: {summary['checkpoint']}", file=sys.stderr)
    if summary["interrupted"] or summary["diverged"] or not evaluate:
        return summary
    return finish(tc, out, model, params, summary)


def _systems(cfg) -> str:
    """The header's words for the systems beyond v1.3's that a world has ("" for none)."""
    words = ([f"{cfg.num_npcs} NPC slots"] if cfg.num_npcs else []) + (
        [f"{cfg.inventory_slots} item slots"] if cfg.inventory_slots else []) + (
        ["professions"] if cfg.professions else [])
    return "".join(f", {w}" for w in words)


def _train(backend: Backend, out: Path, logger: RunLogger, stop: Stopper, wall_offset: float,
           saved_at: int | None) -> dict:
    """The chunks of a run, from the backend's state to the end of its budget."""
    tc, per_update, cfg = backend.tc, backend.tc.steps_per_update, backend.tc.env_config
    for line in backend.describe(
            f"preset {tc.preset} ({cfg.num_agents} agents, {cfg.map_size}x{cfg.map_size}"
            f"{_systems(cfg)}), "
            f"{tc.num_worlds} worlds, {per_update:,} agent-steps per update, "
            f"{backend.model.num_params(backend.params):,} parameters"):
        logger.write(line)
    if tc.params or tc.randomize:
        logger.write(describe_game(tc))
    began = time.time()
    wall = lambda: wall_offset + time.time() - began
    s = {"checkpoint": None, "written": 0, "failed": 0, "interrupted": None, "diverged": None}

    def save() -> None:
        nonlocal saved_at
        try:
            path = checkpoint.save(out / "checkpoints", backend.runner(), tc,
                                   {"wall_s": wall(), **backend.extra()})
        except OSError as e:
            s["failed"] += 1
            logger.write(f"warning: the checkpoint of update {backend.update} could not be "
                         f"written ({e}); trying again at the next one")
            return
        s["checkpoint"], s["written"], saved_at = str(path), s["written"] + 1, backend.update

    chunks = 0
    while stop.signum is None:
        if backend.update * per_update >= tc.total_steps:
            break
        if tc.minutes and wall() >= tc.minutes * 60:
            logger.write(f"time budget of {tc.minutes} min reached")
            break
        t0 = time.time()
        m = backend.chunk()
        dt = time.time() - t0
        stop.armed, chunks = True, chunks + 1
        row = chunk_row(m, backend.update, per_update, wall(), dt) | backend.extra()
        logger.log(row)
        s["diverged"] = divergence(row, backend.params)
        if s["diverged"]:
            kept = "no checkpoint" if saved_at is None else f"the checkpoint of update {saved_at}"
            logger.write(f"error: training diverged at update {backend.update} "
                         f"({s['diverged']}); stopped, keeping {kept}")
            break
        if chunks % tc.checkpoint_every == 0:
            save()
        logger.set_total(expected_stop(tc, row["agent_steps"], wall(), dt))
    if stop.signum is not None:
        s["interrupted"] = signal.Signals(stop.signum).name
    if not s["diverged"] and backend.update != saved_at:
        save()
    return s | {"update": backend.update, "agent_steps": backend.update * per_update,
                "wall_s": wall(), "params": list(tc.params), "randomize": list(tc.randomize)}


def describe_game(tc: TrainConfig) -> str:
    """One line naming the game's numbers a run trains on (--params, --randomize)."""
    parts = [f"--params {' '.join(tc.params)}"] if tc.params else []
    if tc.randomize:
        parts.append(f"--randomize {' '.join(tc.randomize)} (each world draws them at every "
                     f"reset: the start and each --max-ticks={tc.max_ticks} replacement)")
    return "game numbers: v1.3's with " + "; ".join(parts)


def finish(tc: TrainConfig, out: Path, model, params, summary: dict) -> dict:
    """The end of a run: `train.evaluation.report.run_report` of `model` (ActorCritic) with
    `params`, sampled and greedy, on the run's fixed numbers (--params; not the
    --randomize draws); its results in summary["eval"]."""
    from ..evaluation.report import greedy_policy, run_report
    summary["eval"] = run_report(tc, out, model.policy_fn(params, tc.env_params),
                                 greedy_policy(model, params, tc.env_params),
                                 params=tc.env_params)
    return summary
