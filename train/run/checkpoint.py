"""Atomic checkpoints of a whole run, and its exact resumption.

A checkpoint is one `.npz` file (no pickles): the leaves of the Runner pytree
(each world's drawn numbers among them when the run randomizes the game) plus
a JSON header with the TrainConfig (its --params and --randomize included),
the update count and the leaf shapes. It is written to a temporary file,
flushed to disk and renamed, so a crash mid-write never leaves a corrupt
checkpoint under the final name. A run
directory whose newest checkpoint is unreadable anyway (a damaged disk, a
copy cut short) is read from its newest valid one, with a note on stderr.
"""
from __future__ import annotations

import json
import os
import re
import struct
import sys
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from ..config import TrainConfig, differences

FORMAT = 1
KEEP = 3  # run checkpoints kept per run directory
_NAME = re.compile(r"ckpt_(\d+)\.npz$")
_TMP = ".tmp_ckpt_"  # prefix of files being written
_ZIP_MAGIC = b"PK\x03\x04"
# What reading a damaged zip of arrays can raise.
_UNREADABLE = (OSError, ValueError, KeyError, TypeError, EOFError, NotImplementedError,
               zipfile.BadZipFile, zlib.error, struct.error)
_noted: set[Path] = set()  # skipped files already reported by this process


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt or does not fit this run."""


class Loaded(NamedTuple):
    """A checkpoint read from disk."""

    path: Path
    header: dict
    leaves: list[np.ndarray]


def nonfinite(tree: Any) -> list[str]:
    """Key paths of the floating-point leaves of `tree` holding NaN or infinity."""
    out = []
    for key, leaf in jax.tree_util.tree_leaves_with_path(tree):
        x = np.asarray(leaf)
        if np.issubdtype(x.dtype, np.inexact) and not np.isfinite(x).all():
            out.append(jax.tree_util.keystr(key))
    return out


def save(directory: str | os.PathLike, runner, tc: TrainConfig, extra: dict | None = None,
         keep: int = KEEP) -> Path:
    """Write `directory/ckpt_<update>.npz` atomically and return its path; only the
    newest `keep` checkpoints stay (each holds every world, a few MB).

    CheckpointError, writing nothing, if a float leaf is not finite (a diverged
    run must not replace good checkpoints); OSError if the file cannot be written.
    """
    directory = Path(directory)
    bad = nonfinite(runner)
    if bad:
        raise CheckpointError(f"refusing to write a checkpoint with non-finite values in "
                              f"{', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}")
    leaves = [np.asarray(x) for x in jax.tree.leaves(runner)]
    update = int(runner.update)
    header = {"format": FORMAT, "kind": "run", "train_config": tc.to_dict(), "update": update,
              "shapes": [[list(x.shape), str(x.dtype)] for x in leaves], "extra": extra or {}}
    path = write(directory / f"ckpt_{update:07d}.npz", header, leaves)
    for old in _checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def write(path: Path, header: dict, leaves: list[np.ndarray]) -> Path:
    """Write header and leaves to a temporary file, flush it to disk, rename it to path.
    The file gets the permissions of any new file here (0666 less the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{_TMP}{uuid.uuid4().hex}.npz"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, header=np.asarray(json.dumps(header)),
                     **{f"leaf_{i}": x for i, x in enumerate(leaves)})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def clean(directory: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that writes killed midway left in directory;
    returns their paths."""
    directory = Path(directory)
    found = sorted(directory.glob(_TMP + "*")) if directory.is_dir() else []
    for p in found:
        p.unlink(missing_ok=True)
    return found


def _checkpoints(directory: Path) -> list[Path]:
    """The ckpt_<update>.npz files of a directory, oldest first."""
    found = sorted((int(m.group(1)), p) for p in directory.glob("ckpt_*.npz")
                   if (m := _NAME.search(p.name)))
    return [p for _, p in found]


def _folder(directory: Path) -> Path:
    """The folder holding the checkpoints of a run directory (or of a checkpoints/ folder)."""
    return directory / "checkpoints" if (directory / "checkpoints").is_dir() else directory


def latest(directory: str | os.PathLike) -> Path | None:
    """The newest `ckpt_*.npz` in directory (or its checkpoints/ folder), or None."""
    found = _checkpoints(_folder(Path(directory)))
    return found[-1] if found else None


def _read_file(path: Path) -> tuple[dict, list[np.ndarray]]:
    """(header, leaves) of one checkpoint file; CheckpointError if unreadable."""
    try:
        with open(path, "rb") as f:
            magic = f.read(len(_ZIP_MAGIC))
    except OSError as e:
        raise CheckpointError(f"checkpoint {str(path)!r} cannot be read: {e}") from e
    if magic != _ZIP_MAGIC:
        what = "an empty file" if not magic else "not a checkpoint (not an .npz file)"
        raise CheckpointError(f"{str(path)!r} is {what}")
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            leaves = [data[f"leaf_{i}"] for i in range(len(header["shapes"]))]
    except _UNREADABLE as e:
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt or not a checkpoint: {e}"
                              ) from e
    if header.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r} has format {header.get('format')}, "
                              f"expected {FORMAT}")
    return header, leaves


def load(path: str | os.PathLike, set_aside: bool = False) -> Loaded:
    """The checkpoint at `path`: a checkpoint file, or the newest valid one of a run
    directory or checkpoints/ folder. Newer unreadable files of a directory are
    skipped with a note on stderr; with set_aside (resuming) they are renamed
    `*.corrupt`, so that the resumed run's checkpoints replace them.
    CheckpointError if there is none to read."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint path {str(path)!r} does not exist")
    if not path.is_dir():
        return Loaded(path, *_read_file(path))
    found = _checkpoints(_folder(path))
    if not found:
        raise CheckpointError(f"no ckpt_*.npz checkpoint in {str(path)!r}")
    skipped = []
    for candidate in reversed(found):
        try:
            loaded = Loaded(candidate, *_read_file(candidate))
        except CheckpointError as e:
            skipped.append((candidate, e))
            continue
        for bad, why in skipped:
            if bad not in _noted or set_aside:
                _noted.add(bad)
                aside = f"; renamed {bad.name}.corrupt" if set_aside else ""
                print(f"note: skipping {why}; using {candidate.name}, the newest valid "
                      f"checkpoint{aside}", file=sys.stderr)
            if set_aside:
                bad.rename(bad.with_name(bad.name + ".corrupt"))
        return loaded
    raise CheckpointError(f"no valid checkpoint in {str(path)!r}: "
                          + "; ".join(str(e) for _, e in skipped))


def read(path: str | os.PathLike) -> tuple[dict, list[np.ndarray]]:
    """(header, leaves) of `load(path)`; CheckpointError if unreadable."""
    return load(path)[1:]


def restore(loaded: Loaded, template, tc: TrainConfig):
    """(Runner shaped like `template` (a pytree or eval_shape of one), header).

    Refuses, naming the flags, when the saved TrainConfig differs from `tc`
    in anything that changes the computation.
    """
    path, header, leaves = loaded
    if header.get("kind") == "policy":
        raise CheckpointError(f"{str(path)!r} is a policy export (parameters only): "
                              "it can be watched or evaluated, not resumed")
    diff = differences(header["train_config"], tc)
    if diff:
        raise CheckpointError("checkpoint does not match this run's config: " + "; ".join(diff))
    want = jax.tree.leaves(template)
    if not fits(want, leaves, dtypes=True):
        raise CheckpointError(f"checkpoint {str(path)!r} holds arrays of other shapes "
                              "than this run (different model or code version)")
    return jax.tree.unflatten(jax.tree.structure(template),
                              [jax.numpy.asarray(x) for x in leaves]), header


def fits(want: list, leaves: list[np.ndarray], dtypes: bool = False) -> bool:
    """Whether `leaves` have the shapes (and with `dtypes` the dtypes) of the arrays
    `want` (leaves of a template or its eval_shape), one for one."""
    return len(want) == len(leaves) and all(
        tuple(w.shape) == x.shape and (not dtypes or np.dtype(w.dtype) == x.dtype)
        for w, x in zip(want, leaves))


def config_of(loaded: Loaded) -> TrainConfig:
    """The TrainConfig saved in a checkpoint; CheckpointError if this code cannot use it."""
    try:
        return TrainConfig.from_dict(loaded.header["train_config"])
    except (TypeError, ValueError, KeyError) as e:
        raise CheckpointError(f"checkpoint {str(loaded.path)!r} has an unusable config: {e}") from e
