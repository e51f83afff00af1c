"""Ground truth per vertex: `<scene>.txt` files of `1000·label + instance`, one line per vertex."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tracklift.eval.idfile import read_ids


def read_gt_file(path: str | os.PathLike) -> np.ndarray:
    """[V] int64 GT ids of one scene; errors name the file and line."""
    ids = read_ids(path)
    if ids.size and ids.min() < 0:
        line = int(np.argmax(ids < 0)) + 1
        raise ValueError(f"{path} line {line}: GT id {ids[line - 1]} is negative; expected 1000·label + instance")
    return ids


def read_gt_dir(gt_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """scene -> [V] int64 GT ids, from a folder of `<scene>.txt` files or from one such file."""
    gt_dir = Path(gt_dir)
    if gt_dir.is_file():
        return {gt_dir.stem: read_gt_file(gt_dir)}
    if not gt_dir.is_dir():
        raise FileNotFoundError(f"GT path {gt_dir} does not exist")
    files = sorted(p for p in gt_dir.glob("*.txt") if p.is_file())
    if not files:
        raise FileNotFoundError(f"GT folder {gt_dir} has no <scene>.txt files")
    return {p.stem: read_gt_file(p) for p in files}
