"""Axis-aligned boxes: format conversion, IoU and greedy non-maximum suppression.

boxes: [M, 4] float, pixels, (x0, y0, x1, y1) with x to the right and y down (docs/conventions.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Detections:
    """Text-prompted detections of one image.

    boxes:  [M, 4] float32, pixels, (x0, y0, x1, y1).
    scores: [M] float32 in [0, 1].
    labels: [M] int64, index into the vocabulary the detector was prompted with.
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        m = self.scores.shape[0]
        if self.boxes.shape != (m, 4) or self.labels.shape != (m,):
            raise ValueError(
                f"boxes {self.boxes.shape}, scores {self.scores.shape}, labels {self.labels.shape} disagree"
            )

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def take(self, keep: np.ndarray) -> "Detections":
        return Detections(self.boxes[keep], self.scores[keep], self.labels[keep])

    @classmethod
    def concatenate(cls, parts: list["Detections"]) -> "Detections":
        if not parts:
            return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("boxes", "scores", "labels")))


def center_to_corners(boxes: np.ndarray) -> np.ndarray:
    """[M, 4] (cx, cy, w, h) -> [M, 4] (x0, y0, x1, y1)."""
    cx, cy, w, h = np.moveaxis(boxes, -1, 0)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def box_iou_2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Boxes a [M, 4], b [K, 4] (x0, y0, x1, y1) -> [M, K] intersection over union (0 where both are empty)."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=-1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, labels: np.ndarray | None = None) -> np.ndarray:
    """Greedy NMS: indices of kept boxes, best score first (ties keep input order).

    A box is dropped when it overlaps a kept, higher-scoring box with IoU > iou_threshold; with `labels`,
    only boxes of the same label suppress each other.
    """
    order = np.argsort(-scores, kind="stable")
    iou = box_iou_2d(boxes, boxes)
    same = np.ones_like(iou, bool) if labels is None else labels[:, None] == labels[None, :]
    suppressed = np.zeros(len(scores), bool)
    keep = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= (iou[i] > iou_threshold) & same[i]
    return np.array(keep, np.int64)
