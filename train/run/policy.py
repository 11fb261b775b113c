"""The policy of a run: its model and parameters out of a checkpoint, to play or to export.

    python -m train.export RUN_DIR_OR_CHECKPOINT OUT.npz

Any run checkpoint, run directory or policy export loads as a policy
(`load_model`); only the model is built, no training program. An export (a
few hundred KB, against a run checkpoint's MBs of world state) holds the
parameters and the TrainConfig alone; `load_policy`, `python -m
train.evaluate`, tournaments and `scripts/replay.py --policy` read it.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable

import jax
import numpy as np

import nmmo_jax as nj
from policies.baseline import ActorCritic

from ..config import TrainConfig
from .checkpoint import FORMAT, CheckpointError, Loaded, config_of, fits, load, read, write


def load_model(path: str | os.PathLike) -> tuple[ActorCritic, Any, TrainConfig]:
    """(ActorCritic, params, TrainConfig) of a run checkpoint, a run directory or a
    policy export; CheckpointError if it is missing, unreadable or does not fit."""
    return _model(load(path))


def load_trained(path: str | os.PathLike) -> tuple[ActorCritic, Any, nj.Config]:
    """(ActorCritic, params, the env Config it trained on) of `load_model`: the
    checkpoint loader that `policies.resolve.resolve` takes."""
    model, params, tc = load_model(path)
    return model, params, tc.env_config


def load_policy(path: str | os.PathLike) -> tuple[Callable, nj.Config]:
    """(policy_fn(key, obs) -> Actions for one world, env Config) from a run
    checkpoint or a policy export."""
    model, params, config = load_trained(path)
    return model.policy_fn(params), config


def _model(loaded: Loaded) -> tuple[ActorCritic, Any, TrainConfig]:
    from ..ppo.trainer import make_model  # the one place a config's model is defined
    tc = config_of(loaded)
    model = make_model(tc.ppo, tc.env_config, tc.param_ranges)
    template = jax.eval_shape(lambda k: model.init(k, nj.reset(k, tc.env_config)[0]),
                              jax.random.PRNGKey(0))
    want = jax.tree.leaves(template)
    # A run checkpoint holds the Runner, whose first field is params.
    leaves = loaded.leaves if loaded.header.get("kind") == "policy" else loaded.leaves[:len(want)]
    if not fits(want, leaves):
        raise CheckpointError(f"{str(loaded.path)!r} does not fit the model of its config "
                              "(different code version)")
    params = jax.tree.unflatten(jax.tree.structure(template),
                                [jax.numpy.asarray(x) for x in leaves])
    return model, params, tc


def export_policy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Write the parameters of checkpoint `src` (file or run directory) alone to `dst`
    (atomically): a small file that `load_policy` reads. Its header keeps the run's
    TrainConfig, so the game's numbers it trained on (--params, --randomize) with
    it. Returns dst."""
    source = load(src)
    _, params, tc = _model(source)
    leaves = [np.asarray(x) for x in jax.tree.leaves(params)]
    out = {"format": FORMAT, "kind": "policy", "train_config": tc.to_dict(),
           "update": source.header["update"],
           "shapes": [[list(x.shape), str(x.dtype)] for x in leaves],
           "extra": {**source.header.get("extra", {}), "source": str(source.path)}}
    return write(Path(dst), out, leaves)


def main(argv: list[str] | None = None) -> int:
    """`python -m train.export`: 0, or 2 with a one-line error."""
    p = argparse.ArgumentParser(prog="python -m train.export", description="Export the policy "
                                "of a run: its parameters alone, in a small file.")
    p.add_argument("source", type=Path, help="run directory or checkpoint file")
    p.add_argument("out", type=Path, help="policy file to write (.npz)")
    args = p.parse_args(argv)
    try:
        path = export_policy(args.source, args.out)
        header, _ = read(path)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB, update {header['update']}, "
          f"preset {header['train_config']['preset']})")
    return 0
