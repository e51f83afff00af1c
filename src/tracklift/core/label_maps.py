"""Label-map helpers shared by the mask corruptions (synth, the Trace3D benchmark) and mask correction (splat).

A label map is [H, W] int, a label per pixel, negative = none; a mask is [H, W] bool. Pixel (u, v) is
column u, row v.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def touching_pairs(label_map: np.ndarray) -> np.ndarray:
    """[E, 2] int64 unique pairs (a < b) of labels >= 0 that are 4-neighbours somewhere in the map, sorted."""
    if label_map.ndim != 2:
        raise ValueError(f"label_map must be [H, W], got shape {label_map.shape}")
    pairs = []
    for a, b in ((label_map[:, :-1], label_map[:, 1:]), (label_map[:-1, :], label_map[1:, :])):
        sel = (a != b) & (a >= 0) & (b >= 0)
        pairs.append(np.stack([np.minimum(a[sel], b[sel]), np.maximum(a[sel], b[sel])], axis=1))
    both = np.concatenate(pairs)
    return np.unique(both, axis=0).astype(np.int64) if len(both) else np.zeros((0, 2), np.int64)


def touching_pairs_reference(label_map: np.ndarray) -> np.ndarray:
    """`touching_pairs` pixel by pixel (the plain reference the tests compare against)."""
    h, w = label_map.shape
    found = set()
    for v in range(h):
        for u in range(w):
            for dv, du in ((0, 1), (1, 0)):
                if v + dv < h and u + du < w:
                    a, b = int(label_map[v, u]), int(label_map[v + dv, u + du])
                    if a != b and a >= 0 and b >= 0:
                        found.add((min(a, b), max(a, b)))
    return np.array(sorted(found), np.int64).reshape(-1, 2)


def line_coordinates(mask: np.ndarray, angle: float, origin: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """[P] float64, the coordinate (u - origin_u)·cos(angle) + (v - origin_v)·sin(angle) of each of the
    mask's P pixels (in `np.nonzero` order) along the direction `angle` (radians, from the u axis)."""
    vs, us = np.nonzero(mask)
    return (us - origin[0]) * np.cos(angle) + (vs - origin[1]) * np.sin(angle)


def split_by_lines(
    mask: np.ndarray,
    angle: float,
    cuts: Sequence[float],
    origin: tuple[float, float] = (0.0, 0.0),
    side: str = "left",
) -> list[np.ndarray]:
    """Cut a mask by parallel lines across the direction `angle`, at the sorted coordinates `cuts` along it
    (`line_coordinates`): len(cuts) + 1 masks [H, W] bool, piece i holding the pixels with i cuts below
    their coordinate. side: "left" = a pixel on a cut goes to the piece below it, "right" = above (as
    `np.searchsorted`). Pieces may be empty."""
    vs, us = np.nonzero(mask)
    piece = np.searchsorted(np.asarray(cuts, np.float64), line_coordinates(mask, angle, origin), side=side)
    out = []
    for j in range(len(cuts) + 1):
        m = np.zeros(mask.shape, bool)
        m[vs[piece == j], us[piece == j]] = True
        out.append(m)
    return out
