"""ScanNet superpoint files `*.segs.json`: `{"sceneId": ..., "segIndices": [segment id of each vertex]}`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from tracklift.io.atomic import atomic_write_text
from tracklift.io.textfile import read_json


def read_segs(path: str | os.PathLike, num_vertices: int | None = None) -> np.ndarray:
    """Segment id of every mesh vertex: [V] int64. `num_vertices`, when given, must equal V."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such segments file")
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("segIndices"), list):
        raise ValueError(f"{path}: expected an object with a 'segIndices' list")
    values = data["segIndices"]
    # bool is an int subclass and floats would be truncated silently by numpy: refuse both
    if not all(type(v) is int for v in values):
        raise ValueError(f"{path}: 'segIndices' must be integers")
    seg = np.asarray(values, dtype=np.int64).reshape(-1)
    if num_vertices is not None and len(seg) != num_vertices:
        raise ValueError(f"{path}: {len(seg)} segIndices for a mesh of {num_vertices} vertices")
    return seg


def write_segs(
    path: str | os.PathLike, seg_indices: np.ndarray, scene_id: str, params: dict[str, float] | None = None
) -> None:
    """Write `seg_indices: [V] integer` segment ids as a ScanNet `*.segs.json` (atomically); `params` (e.g.
    ScanNet's `{"kThresh": 0.01, "segMinVerts": 20}`) is recorded as the file's "params" object."""
    seg = np.asarray(seg_indices)
    if seg.ndim != 1 or seg.dtype.kind not in "iu":
        raise ValueError(f"seg_indices must be a [V] integer array, got {seg.shape} {seg.dtype}")
    doc = {"params": params} if params else {}
    doc.update({"sceneId": scene_id, "segIndices": seg.tolist()})
    atomic_write_text(path, json.dumps(doc))
