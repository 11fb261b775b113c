"""Atomic checkpoints of a whole run, exact resumption, and loading a policy.

A checkpoint is one `.npz` file (no pickles): the leaves of the Runner pytree
plus a JSON header with the TrainConfig, the update count and the leaf
shapes. It is written to a temporary file, flushed to disk and renamed, so a
crash mid-write never leaves a corrupt checkpoint under the final name.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import jax
import numpy as np

import nmmo_jax as nj

from .config import TrainConfig, differences

FORMAT = 1
KEEP = 3  # run checkpoints kept per run directory
_NAME = re.compile(r"ckpt_(\d+)\.npz$")


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt or does not fit this run."""


def save(directory: str | os.PathLike, runner, tc: TrainConfig, extra: dict | None = None,
         keep: int = KEEP) -> Path:
    """Write `directory/ckpt_<update>.npz` atomically and return its path; only the
    newest `keep` checkpoints stay (each holds every world, a few MB)."""
    directory = Path(directory)
    leaves = [np.asarray(x) for x in jax.tree.leaves(runner)]
    update = int(runner.update)
    header = {"format": FORMAT, "kind": "run", "train_config": tc.to_dict(), "update": update,
              "shapes": [[list(x.shape), str(x.dtype)] for x in leaves], "extra": extra or {}}
    path = _write(directory / f"ckpt_{update:07d}.npz", header, leaves)
    for old in _checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def _write(path: Path, header: dict, leaves: list[np.ndarray]) -> Path:
    """Write header and leaves to a temporary file, flush it to disk, rename it to path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp_ckpt_", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, header=np.asarray(json.dumps(header)),
                     **{f"leaf_{i}": x for i, x in enumerate(leaves)})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _checkpoints(directory: Path) -> list[Path]:
    """The ckpt_<update>.npz files of a directory, oldest first."""
    found = sorted((int(m.group(1)), p) for p in directory.glob("ckpt_*.npz")
                   if (m := _NAME.search(p.name)))
    return [p for _, p in found]


def latest(directory: str | os.PathLike) -> Path | None:
    """The newest `ckpt_*.npz` in directory (or its checkpoints/ folder), or None."""
    directory = Path(directory)
    if (directory / "checkpoints").is_dir():
        directory = directory / "checkpoints"
    found = _checkpoints(directory)
    return found[-1] if found else None


def resolve(path: str | os.PathLike) -> Path:
    """A checkpoint file from a file path, a run directory or a checkpoints/ folder."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint path {str(path)!r} does not exist")
    if path.is_dir():
        found = latest(path)
        if found is None:
            raise CheckpointError(f"no ckpt_*.npz checkpoint in {str(path)!r}")
        return found
    return path


def read(path: str | os.PathLike) -> tuple[dict, list[np.ndarray]]:
    """(header, leaves) of a checkpoint file; CheckpointError if unreadable."""
    path = resolve(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            leaves = [data[f"leaf_{i}"] for i in range(len(header["shapes"]))]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, EOFError) as e:
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt or not a checkpoint: {e}") from e
    if header.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r} has format {header.get('format')}, "
                              f"expected {FORMAT}")
    return header, leaves


def restore(path: str | os.PathLike, template, tc: TrainConfig):
    """Rebuild a Runner shaped like `template` (a pytree or eval_shape of one).

    Refuses, naming the fields, when the saved TrainConfig differs from `tc`
    in anything that changes the computation.
    """
    header, leaves = read(path)
    if header.get("kind") == "policy":
        raise CheckpointError(f"{str(resolve(path))!r} is a policy export (parameters only): "
                              "it can be watched or evaluated, not resumed")
    diff = differences(header["train_config"], tc)
    if diff:
        raise CheckpointError("checkpoint does not match this run's config: " + "; ".join(diff))
    want = jax.tree.leaves(template)
    treedef = jax.tree.structure(template)
    if len(want) != len(leaves) or any(
            tuple(w.shape) != x.shape or np.dtype(w.dtype) != x.dtype for w, x in zip(want, leaves)):
        raise CheckpointError(f"checkpoint {str(resolve(path))!r} holds arrays of other shapes "
                              "than this run (different model or code version)")
    return jax.tree.unflatten(treedef, [jax.numpy.asarray(x) for x in leaves]), header


def _trainer_of(header: dict, path):
    from .ppo import make_trainer  # local: building a trainer is only needed here
    try:
        tc = TrainConfig(**header["train_config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {str(resolve(path))!r} has an unusable config: {e}") from e
    return tc, make_trainer(tc)


def _params_of(path) -> tuple[dict, TrainConfig, object, object]:
    """(header, TrainConfig, trainer, params) of a run checkpoint or a policy export."""
    header, leaves = read(path)
    tc, trainer = _trainer_of(header, path)
    template = jax.eval_shape(trainer.init, jax.random.PRNGKey(0))
    if header.get("kind") == "policy":
        want = jax.tree.leaves(template.params)
        if len(want) != len(leaves) or any(tuple(w.shape) != x.shape for w, x in zip(want, leaves)):
            raise CheckpointError(f"policy {str(resolve(path))!r} does not fit the model of its "
                                  "config (different code version)")
        params = jax.tree.unflatten(jax.tree.structure(template.params),
                                    [jax.numpy.asarray(x) for x in leaves])
    else:
        params = restore(path, template, tc)[0].params
    return header, tc, trainer, params


def load_policy(path: str | os.PathLike) -> tuple[Callable, nj.Config]:
    """(policy_fn(key, obs) -> Actions for one world, env Config) from a run
    checkpoint or a policy export."""
    _, tc, trainer, params = _params_of(path)
    return trainer.model.policy_fn(params), tc.env_config


def export_policy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Write the parameters of checkpoint `src` (file or run directory) alone to `dst`
    (atomically): a small file that `load_policy` reads. Returns dst."""
    header, tc, _, params = _params_of(src)
    leaves = [np.asarray(x) for x in jax.tree.leaves(params)]
    out = {"format": FORMAT, "kind": "policy", "train_config": tc.to_dict(),
           "update": header["update"], "shapes": [[list(x.shape), str(x.dtype)] for x in leaves],
           "extra": {**header.get("extra", {}), "source": str(resolve(src))}}
    return _write(Path(dst), out, leaves)
