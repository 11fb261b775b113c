"""Where a command will write, checked before any work: empty, a file or a folder, writable."""
from __future__ import annotations

import os
from pathlib import Path


def output_path(value: str, flag: str, folder: bool = False) -> Path:
    """Where a file (or, with folder, a folder) will be written; ValueError naming the flag.

    Checked before any work: not empty, not a directory where a file is
    meant (nor a file where a folder is), and its nearest existing parent a
    directory this process may write in (missing folders are created later).
    """
    if not value.strip():
        raise ValueError(f"{flag}: the path is empty")
    path = Path(value)
    if path.is_dir() and not folder:
        raise ValueError(f"{flag} {value}: is a directory; name the file to write")
    if path.exists() and not path.is_dir() and folder:
        raise ValueError(f"{flag} {value}: is a file; name a folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{flag} {value}: not writable")
    parent = (path if folder else path.parent).absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{flag} {value}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {value}: cannot write in {parent}")
    return path
