"""Object proposals over the non-structural voxels, at several scales.

Scale 0 is the 26-connected components of the voxels (`lift.components`): objects standing apart.
Objects that touch (a toilet beside a cabinet, a curtain over a bathtub) share a component, so each
further scale cuts the voxels with ScanNet's graph segmentation over a k-nearest-neighbour graph
(`refine.pointcloud.segment_points`: convexity-aware normal weights plus a colour term) at one
threshold `k`: a small k splits parts of different shape or colour, a large k only clear boundaries.
Which scale fits an object is left to the scoring and box NMS that follow (`score.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracklift.lift.components import voxel_components
from tracklift.refine.pointcloud import PointSuperpointConfig, segment_points


@dataclass(frozen=True)
class ProposalConfig:
    """scales: graph-segmentation thresholds (ScanNet's kThresh) besides the connected components.
    color_weight: weight of the RGB distance in an edge (see `PointSuperpointConfig`).
    knn: neighbours per voxel.  max_edge: metres; longer neighbour edges are cut (surfaces apart stay apart).
    min_segment: voxels; smaller graph segments merge into a neighbour.  min_voxels: smaller proposals are dropped."""

    scales: tuple[float, ...] = (1.0, 5.0)
    color_weight: float = 1.0
    knn: int = 16
    max_edge: float = 0.06
    min_segment: int = 30
    min_voxels: int = 50


def propose(points: np.ndarray, colors: np.ndarray, voxel: float, cfg: ProposalConfig | None = None) -> list[np.ndarray]:
    """Proposals as index arrays into `points`.

    points: [N, 3] float32 voxel centres, metres, world; colors: [N, 3] uint8 RGB; voxel: edge, metres.
    Returns sorted int64 index arrays, scale by scale (components first), each with ≥ cfg.min_voxels voxels.
    """
    cfg = cfg or ProposalConfig()
    if colors.shape != points.shape:
        raise ValueError(f"colors must be {points.shape} like points, got {colors.shape}")
    if len(points) == 0:
        return []
    coords = np.floor(points / voxel).astype(np.int64)
    partitions = [voxel_components(coords, np.zeros(len(points), np.int64), 1)]
    for k in cfg.scales:
        sp = PointSuperpointConfig(knn=cfg.knn, k_thresh=k, min_points=cfg.min_segment, max_edge_length=cfg.max_edge,
                                   color_weight=cfg.color_weight)
        partitions.append(segment_points(points, colors, sp))
    out = []
    for labels in partitions:
        order = np.argsort(labels, kind="stable")
        starts = np.flatnonzero(np.r_[True, labels[order][1:] != labels[order][:-1]])
        for members in np.split(order, starts[1:]):
            if len(members) >= cfg.min_voxels:
                out.append(np.sort(members))
    return out
