"""Precomputed 2D masks on disk: the interface to any external segmenter (format in docs/design).

Per frame either
* `<frame>.png`: uint16 instance ids, 0 = no mask (ids need not agree across frames), plus an optional
  `<frame>.json` sidecar `{"<id>": {"label": "chair", "score": 0.93}}` (both keys optional), or
* `<frame>.npz`: `masks` [N, H, W] bool (may overlap), optional `labels` [N] str ("" = no label) and
  `scores` [N] float.

A frame with no file has no masks (an empty `FrameMasks`), which is normal: segmenters skip frames.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import cv2
import numpy as np

from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.io.atomic import atomic_write_bytes, atomic_write_text
from tracklift.io.npz import read_npz
from tracklift.io.textfile import check_text, read_json


def _check_shape(path: Path, found: tuple[int, ...], shape: tuple[int, int] | None) -> None:
    if shape is not None and tuple(found) != tuple(shape):
        raise ValueError(f"{path}: masks are {found[0]}×{found[1]} (H×W), the frame is {shape[0]}×{shape[1]}")


def _read_sidecar(path: Path, ids: np.ndarray) -> tuple[list[str | None], np.ndarray]:
    """Labels and scores for `ids` from a JSON sidecar (missing entries: no label, score 1)."""
    labels: list[str | None] = [None] * len(ids)
    scores = np.ones(len(ids), np.float32)
    if not os.path.lexists(path):
        return labels, scores
    meta = read_json(_regular(path))
    if not isinstance(meta, dict):
        raise ValueError(
            f'{path}: expected an object {{"<id>": {{"label": ..., "score": ...}}}}, got {type(meta).__name__}'
        )
    position = {int(i): k for k, i in enumerate(ids)}
    for key, entry in meta.items():
        if not key.isdigit() or not isinstance(entry, dict):
            raise ValueError(f"{path}: entry {key!r} must map a positive integer id to an object")
        if int(key) not in position:
            raise ValueError(f"{path}: id {key} has no pixels in the mask image")
        k = position[int(key)]
        label = entry.get("label")
        if label is not None and not isinstance(label, str):
            raise ValueError(f"{path}: label of id {key} must be a string, got {label!r}")
        labels[k] = None if label is None else check_text(label, path, f"label of id {key}")
        score = entry.get("score", 1.0)
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0.0 <= float(score) <= 1.0:
            raise ValueError(f"{path}: score of id {key} must be a number in [0, 1], got {score!r}")
        scores[k] = score
    return labels, scores


def _regular(path: Path) -> Path:
    """`path` when it leads to a regular file; ValueError naming it when it is a symlink loop, a dangling
    link or a folder. (Permissions are not checked here: reading then raises PermissionError naming it.)"""
    try:
        mode = path.stat().st_mode
    except OSError as err:  # ELOOP, ENOENT of a dangling link
        raise ValueError(f"{path}: not a readable file ({err.strerror})") from None
    if not stat.S_ISREG(mode):
        raise ValueError(f"{path}: not a regular file")
    return path


def _read_png(path: Path, shape: tuple[int, int] | None) -> FrameMasks:
    with open(path, "rb") as fh:  # raises PermissionError naming the file; cv2.imread would say nothing
        data = fh.read()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if image is None:
        raise ValueError(f"{path}: not a readable PNG")
    if image.ndim != 2 or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{path}: expected a single-channel uint16 id image, got {image.shape} {image.dtype}")
    _check_shape(path, image.shape, shape)
    ids = np.flatnonzero(np.bincount(image.ravel()))  # sorted ids present; a bincount beats a sort here
    ids = ids[ids != 0].astype(image.dtype)
    labels, scores = _read_sidecar(path.with_suffix(".json"), ids)
    masks = image[None] == ids[:, None, None]
    return FrameMasks(masks, labels, scores)


def _read_npz(path: Path, shape: tuple[int, int] | None) -> FrameMasks:
    arrays = read_npz(path, ("masks",))
    masks = arrays["masks"]
    if masks.ndim != 3 or not (masks.dtype == np.bool_ or (masks.dtype.kind in "iu" and np.isin(masks, (0, 1)).all())):
        raise ValueError(f"{path}: 'masks' must be [N, H, W] bool, got {masks.shape} {masks.dtype}")
    masks = masks.astype(bool)
    n = len(masks)
    _check_shape(path, masks.shape[1:], shape)
    labels: list[str | None] = [None] * n
    if "labels" in arrays:
        if arrays["labels"].shape != (n,) or arrays["labels"].dtype.kind != "U":
            raise ValueError(
                f"{path}: 'labels' must be [{n}] strings, got {arrays['labels'].shape} {arrays['labels'].dtype}"
            )
        labels = [check_text(str(x), path, f"label {k}") or None for k, x in enumerate(arrays["labels"])]
    scores = arrays.get("scores", np.ones(n, np.float32))
    if (
        scores.shape != (n,)
        or scores.dtype.kind not in "fiu"
        or not np.isfinite(scores).all()
        or (scores < 0).any()
        or (scores > 1).any()
    ):
        raise ValueError(f"{path}: 'scores' must be [{n}] floats in [0, 1], got {scores.shape} {scores.dtype}")
    return FrameMasks(masks, labels, scores.astype(np.float32))


def read_masks(masks_dir: str | os.PathLike, frame_name: str, shape: tuple[int, int] | None = None) -> FrameMasks:
    """The masks of frame `frame_name`; `shape` = (H, W) of the frame, checked when given.

    No file for the frame -> empty FrameMasks (needs `shape`). Bad files raise ValueError naming the file.
    """
    masks_dir = Path(masks_dir)
    png, npz = masks_dir / f"{frame_name}.png", masks_dir / f"{frame_name}.npz"
    # lexists: a dangling or looping symlink is a broken mask file, not a frame without masks
    if os.path.lexists(png) and os.path.lexists(npz):
        raise ValueError(f"{masks_dir}: frame {frame_name!r} has both {png.name} and {npz.name}; keep one")
    if os.path.lexists(png):
        return _read_png(_regular(png), shape)
    if os.path.lexists(npz):
        return _read_npz(_regular(npz), shape)
    if shape is None:
        raise ValueError(f"{masks_dir}: no masks for frame {frame_name!r} and no shape given for an empty result")
    return FrameMasks.empty(*shape)


def write_masks(masks_dir: str | os.PathLike, frame_name: str, masks: FrameMasks, format: str = "png") -> Path:
    """Write `masks` for one frame atomically; returns the mask file's path.

    "png": ids 1..N in the order of `masks` plus a JSON sidecar; masks must not overlap, and a mask
    without pixels cannot be stored (it is left out, so reading back gives fewer masks).
    "npz": any masks. A file of the other format for the same frame is removed, so reads stay unambiguous.
    """
    masks_dir = Path(masks_dir)
    n = len(masks)
    if format == "png":
        if n > 65535:
            raise ValueError(f"frame {frame_name!r}: {n} masks do not fit uint16 ids")
        if n and masks.masks.sum(axis=0).max() > 1:
            raise ValueError(f"frame {frame_name!r}: masks overlap; write them with format='npz'")
        ids = np.zeros(masks.shape, np.uint16)
        for k in range(n):
            ids[masks.masks[k]] = k + 1
        meta = {}
        for k in range(n):
            entry: dict[str, object] = {"score": round(float(masks.scores[k]), 6)}
            if masks.labels[k] is not None:
                entry["label"] = masks.labels[k]
            if masks.masks[k].any():
                meta[str(k + 1)] = entry
        ok, buf = cv2.imencode(".png", ids)
        if not ok:
            raise RuntimeError(f"frame {frame_name!r}: PNG encoding failed")
        atomic_write_text(masks_dir / f"{frame_name}.json", json.dumps(meta, sort_keys=True))
        path = masks_dir / f"{frame_name}.png"
        atomic_write_bytes(path, buf.tobytes())
        (masks_dir / f"{frame_name}.npz").unlink(missing_ok=True)
        return path
    if format == "npz":
        buf = io.BytesIO()
        labels = np.array([lab or "" for lab in masks.labels], dtype=str) if n else np.zeros(0, "<U1")
        np.savez_compressed(buf, masks=masks.masks, labels=labels, scores=masks.scores)
        path = masks_dir / f"{frame_name}.npz"
        atomic_write_bytes(path, buf.getvalue())
        for stale in (f"{frame_name}.png", f"{frame_name}.json"):
            (masks_dir / stale).unlink(missing_ok=True)
        return path
    raise ValueError(f"format must be 'png' or 'npz', got {format!r}")


class PrecomputedSegmenter:
    """A `Segmenter` that reads each frame's masks from `masks_dir` by `frame.name`."""

    thread_safe = True  # reads files only

    def __init__(self, masks_dir: str | os.PathLike) -> None:
        self.masks_dir = Path(masks_dir)
        if not self.masks_dir.is_dir():
            raise FileNotFoundError(f"{self.masks_dir}: no such masks folder")

    def __call__(self, frame: Frame) -> FrameMasks:
        return read_masks(self.masks_dir, frame.name, (frame.height, frame.width))
