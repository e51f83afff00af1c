"""How much a voxel set looks like one piece of furniture: a shape prior in metres, no learning.

score = size · support · mass, each in [0, 1]:
    size:    the object's extents — its height along `up` and its two horizontal extents (principal axes of
             its footprint) — inside furniture ranges; outside a range the factor decays exponentially with
             the excess (`soft` metres per e-fold): room-long wall remnants, thin slivers and crumbs rank low.
    support: 1 when the object reaches down to within `support_gap` of the floor (furniture stands), else
             `unsupported` (hung or lying on something: sinks, pictures, clutter on a table).
    mass:    1 − exp(−area / `mass_area`), area = voxels · voxel² of mapped surface: a few dozen square
             centimetres are rarely a whole object.
"""

from __future__ import annotations

import numpy as np

from tracklift.core.config import config, option


@config
class ScoreConfig:
    longest: tuple[float, float] = option(
        (0.4, 2.2), "(lo, hi) of the larger of height and longest extent, metres", low=0.0, high=100.0
    )
    width: tuple[float, float] = option(
        (0.2, 3.0), "(lo, hi) of the shorter horizontal extent, metres", low=0.0, high=100.0
    )
    height: tuple[float, float] = option((0.2, 2.2), "(lo, hi) of the extent along up, metres", low=0.0, high=100.0)
    soft: float = option(0.2, "metres per e-fold outside a range", low=1e-6, high=100.0)
    support_gap: float = option(0.25, "gap below an instance that still supports it, metres", low=0.0, high=100.0)
    unsupported: float = option(0.4, "score factor of an unsupported instance", low=0.0, high=1.0)
    mass_area: float = option(0.27, "surface area of full mass, m²", low=1e-9, high=1e6)
    nms_iou: float = option(0.7, "proposals overlapping a better one by more voxel IoU are dropped", low=0.0, high=1.0)


def extents(points: np.ndarray, up: np.ndarray) -> tuple[float, float, float, float]:
    """points: [M, 3] metres, world; up: [3] unit -> (height, long horizontal, short horizontal extent, lowest
    height along up)."""
    z = points.astype(np.float64) @ up
    flat = points - np.outer(z, up)
    flat -= flat.mean(axis=0)
    axes = np.linalg.eigh(flat.T @ flat)[1][:, 1:]  # the two largest: the footprint's principal axes
    proj = flat @ axes
    horizontal = np.sort(proj.max(axis=0) - proj.min(axis=0))[::-1]
    return float(z.max() - z.min()), float(horizontal[0]), float(horizontal[1]), float(z.min())


def _band(x: float, bounds: tuple[float, float], soft: float) -> float:
    lo, hi = bounds
    return float(np.exp(-max(lo - x, 0.0) / soft - max(x - hi, 0.0) / soft))


def furniture_score(
    points: np.ndarray, up: np.ndarray, floor_height: float, voxel: float, cfg: ScoreConfig | None = None
) -> float:
    """The score of one proposal (module docstring). points: [M, 3] float32 voxel centres, metres, world;
    up: [3] unit; floor_height: the floor's height along up, metres; voxel: edge, metres."""
    cfg = cfg or ScoreConfig()
    if len(points) == 0:
        return 0.0
    height, long_side, short_side, bottom = extents(points, up)
    size = (
        _band(max(height, long_side), cfg.longest, cfg.soft)
        * _band(short_side, cfg.width, cfg.soft)
        * _band(height, cfg.height, cfg.soft)
    )
    support = 1.0 if bottom - floor_height <= cfg.support_gap else cfg.unsupported
    return size * support * float(1.0 - np.exp(-len(points) * voxel**2 / cfg.mass_area))
