"""Paths read from data files (index lines, JSON fields, list files): they must stay inside their folder."""

from __future__ import annotations

import os
from pathlib import Path


def contained_path(root: str | os.PathLike, rel: str, where: str, what: str = "file") -> Path:
    """`root / rel` resolved, when `rel` is a relative path that stays inside `root`.

    ValueError naming `where` (the file and line or field `rel` came from) and `what` `rel` is when it is
    absolute, leaves `root` (`..`, a symlink pointing out) or cannot be resolved (a symlink loop).
    """
    root = Path(root)
    if not isinstance(rel, str) or not rel:
        raise ValueError(f"{where}: {what} must be a relative path, found {rel!r}")
    if os.path.isabs(rel):
        raise ValueError(f"{where}: {what} {rel!r} must be a path relative to {root}")
    try:
        path = (root / rel).resolve()
        inside = path.is_relative_to(root.resolve())
    except (RuntimeError, OSError) as err:  # a symlink loop (RuntimeError before Python 3.13)
        raise ValueError(f"{where}: {what} {rel!r} cannot be resolved ({err})") from None
    if not inside:
        raise ValueError(f"{where}: {what} {rel!r} points outside {root}")
    return path
