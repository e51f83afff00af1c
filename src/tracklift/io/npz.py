"""Read `.npz` archives from outside the program (masks, segment outputs) with one clear error."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def read_npz(path: str | os.PathLike, required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Every array of the archive at `path` (no pickled objects); ValueError naming the file when it is
    not a readable archive or lacks one of `required`. OSError (missing, unreadable) passes through."""
    path = Path(path)
    with open(path, "rb") as fh:  # opened here: np.load leaks its own handle when the archive is corrupt
        try:
            with np.load(fh, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except Exception as err:  # zipfile, zlib and numpy raise many types for corrupt archives
            raise ValueError(f"{path}: not a readable .npz ({type(err).__name__}: {err})") from err
    missing = [k for k in required if k not in arrays]
    if missing:
        raise ValueError(f"{path}: no {', '.join(repr(k) for k in missing)} array (found {sorted(arrays)})")
    return arrays


def read_instances_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """A segment output's `<scene>_instances.npz`: (points [P, 3] float (float32 as written; integers
    become float32), metres, world frame;
    instance_of_point [P] int64, an index into the scene JSON's instances or -1). ValueError naming
    the file when it is corrupt or its arrays have other shapes or kinds."""
    arrays = read_npz(path, ("points", "instance_of_point"))
    points, owner = arrays["points"], arrays["instance_of_point"]
    if points.ndim != 2 or points.shape[1:] != (3,) or points.dtype.kind not in "fiu":
        raise ValueError(f"{path}: 'points' must be [P, 3] numbers, got {points.shape} {points.dtype}")
    if owner.shape != (len(points),) or owner.dtype.kind not in "iu":
        raise ValueError(
            f"{path}: 'instance_of_point' must be [{len(points)}] integers, got {owner.shape} {owner.dtype}"
        )
    if not np.isfinite(points).all():
        raise ValueError(f"{path}: 'points' has NaN or inf coordinates")
    return (points if points.dtype.kind == "f" else points.astype(np.float32)), owner.astype(np.int64)
