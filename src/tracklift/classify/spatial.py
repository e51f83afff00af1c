"""Spatial relations between axis-aligned 3D boxes, as soft scores in [0, 1].

Boxes are [6] (cx, cy, cz, dx, dy, dz), metres, world frame with z up (docs/conventions.md).
Each relation says how well box `a` (the target) stands in that relation to box `b` (the anchor):

    near   exp(-gap / 0.5 m), gap = Euclidean distance between the boxes (0 when they touch or overlap)
    on     footprint overlap share of a x exp(-|a.bottom - b.top| / 0.15 m)      ("on", "on top of")
    above  footprint overlap share of a x [a.bottom >= b.top - 0.1 m]
    under  footprint overlap share of a x [a.top <= b.bottom + 0.1 m]            ("under", "below")
    in     share of a's volume inside b                                          ("in", "inside")
    left / right   sigmoid of the anchor-to-target offset along the viewpoint's right axis (0.1 m scale),
                   times exp(-gap / 2 m) so "left of the bed" prefers things near the bed
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEAR_SCALE, ON_SCALE, SIDE_SCALE, SIDE_RANGE, TOLERANCE = 0.5, 0.15, 0.1, 2.0, 0.1


@dataclass(frozen=True)
class Viewpoint:
    """Where "left" and "right" are judged from. right: [3] unit vector, world frame."""

    right: np.ndarray

    @classmethod
    def from_poses(cls, poses: np.ndarray) -> "Viewpoint":
        """The mean camera of [N, 4, 4] camera-to-world poses: mean of their horizontal right axes (OpenCV x)."""
        poses = np.asarray(poses, np.float64).reshape(-1, 4, 4)
        if len(poses) == 0:
            raise ValueError("no poses to build a viewpoint from")
        right = poses[:, :3, 0].mean(0)
        right[2] = 0.0  # judge left/right horizontally, whatever the cameras' tilt
        norm = np.linalg.norm(right)
        if norm < 1e-9:
            raise ValueError("camera right axes cancel out (cameras face all ways): pass a single frame's pose")
        return cls(right / norm)


DEFAULT_VIEWPOINT = Viewpoint(np.array([1.0, 0.0, 0.0]))


def box_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two boxes (0 when they overlap)."""
    a, b = _box(a, "a"), _box(b, "b")
    gap = np.maximum(np.abs(a[:3] - b[:3]) - (a[3:] + b[3:]) / 2, 0.0)
    return float(np.linalg.norm(gap))


def footprint_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Share of a's xy footprint covered by b's, in [0, 1]."""
    a, b = _box(a, "a"), _box(b, "b")
    lo = np.maximum(a[:2] - a[3:5] / 2, b[:2] - b[3:5] / 2)
    hi = np.minimum(a[:2] + a[3:5] / 2, b[:2] + b[3:5] / 2)
    inter = float(np.prod(np.maximum(hi - lo, 0.0)))
    area = float(np.prod(np.maximum(a[3:5], 1e-6)))
    return min(inter / area, 1.0)


def volume_inside(a: np.ndarray, b: np.ndarray) -> float:
    """Share of a's volume inside b, in [0, 1]."""
    a, b = _box(a, "a"), _box(b, "b")
    lo = np.maximum(a[:3] - a[3:] / 2, b[:3] - b[3:] / 2)
    hi = np.minimum(a[:3] + a[3:] / 2, b[:3] + b[3:] / 2)
    inter = float(np.prod(np.maximum(hi - lo, 0.0)))
    return min(inter / float(np.prod(np.maximum(a[3:], 1e-6))), 1.0)


def relation_score(relation: str, a: np.ndarray, b: np.ndarray, viewpoint: Viewpoint = DEFAULT_VIEWPOINT) -> float:
    """How well box a stands in `relation` to box b, in [0, 1]."""
    a, b = _box(a, "a"), _box(b, "b")
    a_bottom, a_top = a[2] - a[5] / 2, a[2] + a[5] / 2
    b_bottom, b_top = b[2] - b[5] / 2, b[2] + b[5] / 2
    if relation == "near":
        return float(np.exp(-box_gap(a, b) / NEAR_SCALE))
    if relation == "on":
        return footprint_overlap(a, b) * float(np.exp(-abs(a_bottom - b_top) / ON_SCALE))
    if relation == "above":
        return footprint_overlap(a, b) * float(a_bottom >= b_top - TOLERANCE)
    if relation == "under":
        return footprint_overlap(a, b) * float(a_top <= b_bottom + TOLERANCE)
    if relation == "in":
        return volume_inside(a, b)
    if relation in ("left", "right"):
        offset = float((a[:3] - b[:3]) @ viewpoint.right) * (1 if relation == "right" else -1)
        return float(1 / (1 + np.exp(-offset / SIDE_SCALE))) * float(np.exp(-box_gap(a, b) / SIDE_RANGE))
    raise ValueError(f"unknown relation {relation!r}")


def _box(box: np.ndarray, name: str) -> np.ndarray:
    box = np.asarray(box, np.float64)
    if box.shape != (6,):
        raise ValueError(f"box {name} must be [6] (cx, cy, cz, dx, dy, dz), got shape {box.shape}")
    return box
