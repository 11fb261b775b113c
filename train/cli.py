"""`python -m train`: fused PPO on nmmo-jax with logs, checkpoints and an evaluation."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Callable

import jax
import numpy as np

from . import checkpoint
from .config import PRESETS, TrainConfig
from .evaluate import greedy_policy, run_report
from .logger import RunLogger
from .ppo import Runner, make_trainer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        elif f.name == "preset":
            p.add_argument(flag, choices=sorted(PRESETS), default=f.default)
        else:
            kind = {"int": int, "float": float, "str": str}[str(f.type)]
            p.add_argument(flag, type=kind, default=f.default, metavar=kind.__name__.upper())
    p.add_argument("--out", type=Path, default=None, help="run directory (default runs/<timestamp>)")
    p.add_argument("--resume", type=Path, default=None,
                   help="continue the run in this directory from its latest checkpoint")
    p.add_argument("--no-eval", action="store_true", help="skip the final evaluation")
    return p


def parse(argv: list[str] | None) -> tuple[TrainConfig, argparse.Namespace]:
    p = build_parser()
    args = p.parse_args(argv)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
    try:
        tc = TrainConfig(**values)
    except ValueError as e:
        p.error(str(e))
    if args.resume is not None and args.out is not None and args.out != args.resume:
        p.error("--out and --resume name different directories; --resume continues in place")
    return tc, args


def run(tc: TrainConfig, out: Path, resume: bool = False, evaluate: bool = True) -> dict:
    """Train until total_steps or the time budget, then evaluate. Returns a summary."""
    if tc.ray_workers or tc.ray_address:  # the same run on a Ray cluster
        from .cluster import run_cluster
        return run_cluster(tc, out, resume=resume, evaluate=evaluate)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out / "checkpoints"
    trainer = make_trainer(tc)
    cfg = tc.env_config
    runner, wall_offset = begin(tc, out, trainer.init, resume)
    runner = jax.device_put(runner, trainer.placement)
    per_update = tc.steps_per_update
    logger = RunLogger(out, tc.total_steps, int(runner.update) * per_update)
    logger.write(f"nmmo-jax PPO: preset {tc.preset} ({cfg.num_agents} agents, {cfg.map_size}x"
                 f"{cfg.map_size}), {tc.num_worlds} worlds, {per_update:,} agent-steps per update, "
                 f"{trainer.model.num_params(runner.params):,} parameters, worlds split over "
                 f"{trainer.mesh.size} device(s) {list(trainer.mesh.devices.flat)}")
    start = time.time()
    chunks, interrupted = 0, False
    try:
        while int(runner.update) * per_update < tc.total_steps:
            if tc.minutes and time.time() - start > tc.minutes * 60:
                logger.write(f"time budget of {tc.minutes} min reached")
                break
            t0 = time.time()
            runner, m = trainer.train_chunk(runner)
            m = jax.tree.map(np.asarray, m)
            jax.block_until_ready(runner)
            dt = time.time() - t0
            chunks += 1
            row = chunk_row(m, int(runner.update), per_update, wall_offset + time.time() - start,
                            dt)
            logger.log(row)
            if chunks % tc.checkpoint_every == 0:
                checkpoint.save(ckpt_dir, runner, tc, {"wall_s": row["wall_s"]})
    except KeyboardInterrupt:
        interrupted = True
        logger.write("interrupted: saving a checkpoint of the last finished update")
    wall = wall_offset + time.time() - start
    path = checkpoint.save(ckpt_dir, runner, tc, {"wall_s": wall})
    logger.close()
    print(f"checkpoint: {path}", file=sys.stderr)
    summary = {"update": int(runner.update), "agent_steps": int(runner.update) * per_update,
               "wall_s": wall, "checkpoint": str(path), "interrupted": interrupted}
    if interrupted or not evaluate:
        return summary
    return finish(tc, out, trainer.model, runner.params, summary)


def begin(tc: TrainConfig, out: Path, init: Callable[[jax.Array], Runner], resume: bool
          ) -> tuple[Runner, float]:
    """(Runner, wall seconds already spent): the latest checkpoint in out/checkpoints
    when resuming (refused if missing or incompatible), else init(seed) and a
    fresh out/config.json. init: key -> Runner (also used for the shapes)."""
    if not resume:
        (out / "config.json").write_text(json.dumps(tc.to_dict(), indent=2))
        return init(jax.random.PRNGKey(tc.seed)), 0.0
    ckpt_dir = out / "checkpoints"
    found = checkpoint.latest(ckpt_dir)
    if found is None:
        raise checkpoint.CheckpointError(f"--resume {str(out)!r}: no checkpoint in {ckpt_dir}")
    runner, header = checkpoint.restore(found, jax.eval_shape(init, jax.random.PRNGKey(0)), tc)
    print(f"resuming {found} at update {int(runner.update)}", file=sys.stderr)
    return runner, float(header["extra"].get("wall_s", 0.0))


def chunk_row(m: dict, update: int, per_update: int, wall: float, dt: float) -> dict:
    """The metrics.csv row of a chunk: m holds per-update metrics stacked [updates]."""
    ended = int(m["lives_ended"].sum())
    row = {"update": update, "agent_steps": update * per_update, "wall_s": wall,
           "agent_steps_per_s": len(m["lives_ended"]) * per_update / dt,
           "mean_lifetime": float(m["lifetime_sum"].sum() / ended) if ended else float("nan"),
           "lives_ended": ended, "alive_mean": float(m["alive_mean"].mean())}
    for k in ("deaths_lava", "deaths_starvation", "deaths_combat"):
        row[k] = int(m[k].sum())
    for k in ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_frac"):
        row[k] = float(m[k].mean())
    return row


def finish(tc: TrainConfig, out: Path, model, params, summary: dict) -> dict:
    """The end of a run: `train.evaluate.run_report` of `model` (ActorCritic) with
    `params`, sampled and greedy; its results in summary["eval"]."""
    summary["eval"] = run_report(tc, out, model.policy_fn(params), greedy_policy(model, params))
    return summary


def main(argv: list[str] | None = None) -> int:
    tc, args = parse(argv)
    out = args.resume or args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    try:
        summary = run(tc, out, resume=args.resume is not None, evaluate=not args.no_eval)
    except checkpoint.CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 130 if summary["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(main())
