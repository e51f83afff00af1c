"""Object proposals over the non-structural voxels, at several scales.

Objects standing apart are apart in the voxel graph (no edge spans more than `max_edge`); objects that
touch (a toilet beside a cabinet, a chair pushed under a table) are cut at each scale by
Felzenszwalb–Huttenlocher segmentation (`core.felzenszwalb`) of a
k-nearest-neighbour voxel graph whose edges weigh shape and colour like the RGB-D segmenter's pixel graph
(`segment2d.crease`: concave creases and colour changes separate, convex creases hardly count) at one
FH scale `k`: a small k splits parts of different shape or colour, a large k only clear boundaries.
Which scale fits an object is left to the scoring and voxel NMS that follow (`score.py`, `segment.py`).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from tracklift.core.config import config, option
from tracklift.core.felzenszwalb import felzenszwalb
from tracklift.lift.components import voxel_components
from tracklift.segment2d.crease import crease_weights, lab_colors


@config
class ProposalConfig:
    """Sizes are areas (m²) of mapped surface, so that they mean the same at any voxel size."""

    scales: tuple[float, ...] = option(
        (0.0027, 0.009), "Felzenszwalb scales as areas, m² (k = scale / voxel²)", low=1e-9, high=1e3
    )
    knn: int = option(12, "neighbours per voxel", low=1, high=256)
    max_edge: float = option(2.0, "longer neighbour edges are cut, voxel edges", low=0.0, high=100.0)
    normal_weight: float = option(1.0, "edge weight of (1 − cos angle)", low=0.0, high=1e6)
    convex_factor: float = option(0.1, "multiplies the shape term on convex creases", low=0.0, high=1e3)
    color_weight: float = option(1.0, "edge weight of the Lab distance / 100", low=0.0, high=1e6)
    tolerance: float = option(0.02, "edge weights below this count as equal", low=0.0, high=1e6)
    min_segment: float = option(0.027, "smaller pieces merge into a neighbour, m²", low=0.0, high=1e6)
    min_area: float = option(0.045, "smaller proposals are dropped, m²", low=0.0, high=1e6)
    components: int = option(0, "1 adds the 26-connected components as proposals", choices=(0, 1))


def voxel_graph(points: np.ndarray, normals: np.ndarray, colors: np.ndarray, voxel: float, cfg: ProposalConfig):
    """Edges between each voxel and its cfg.knn nearest within cfg.max_edge voxel edges, each pair once, sorted
    by weight (stable). Returns src, dst [E] int64 and weight [E] float32 ascending."""
    k = min(cfg.knn, len(points) - 1) + 1
    dist, idx = cKDTree(points).query(points, k=k, distance_upper_bound=cfg.max_edge * voxel)
    src = np.repeat(np.arange(len(points)), k - 1)
    dst = idx[:, 1:].ravel()
    keep = np.isfinite(dist[:, 1:].ravel()) & (src < dst)
    # Each pair once: the kNN relation is not symmetric, so take (min, max) and drop repeats.
    pair = np.unique(np.stack([src[keep], dst[keep]], axis=1), axis=0)
    src, dst = pair[:, 0].astype(np.int64), pair[:, 1].astype(np.int64)
    weight = crease_weights(
        points,
        normals,
        lab_colors(colors),
        src,
        dst,
        1.0,
        0.0,
        cfg.normal_weight,
        cfg.convex_factor,
        cfg.color_weight,
        cfg.tolerance,
    )
    order = np.argsort(weight, kind="stable")
    return src[order], dst[order], weight[order]


def propose(
    points: np.ndarray,
    colors: np.ndarray,
    normals: np.ndarray,
    voxel: float,
    cfg: ProposalConfig | None = None,
    kernel=felzenszwalb,
) -> list[np.ndarray]:
    """Proposals as index arrays into `points`.

    points: [N, 3] float32 voxel centres, metres, world; colors: [N, 3] uint8 RGB; normals: [N, 3] float32 unit,
    facing the cameras (the convexity test needs outward normals); voxel: edge, metres.
    kernel: the FH implementation (`core.felzenszwalb.felzenszwalb` or `felzenszwalb_reference`).
    Returns sorted int64 index arrays, scale by scale (components first if asked), each of ≥ cfg.min_area.
    """
    cfg = cfg or ProposalConfig()
    if colors.shape != points.shape or normals.shape != points.shape:
        raise ValueError(f"colors and normals must be {points.shape} like points, got {colors.shape}, {normals.shape}")
    if len(points) < 2:
        return []
    coords = np.floor(points / voxel).astype(np.int64)
    partitions = [voxel_components(coords, np.zeros(len(points), np.int64), 1)] if cfg.components else []
    if cfg.scales:
        src, dst, weight = voxel_graph(points, normals, colors, voxel, cfg)
        min_segment = int(round(cfg.min_segment / voxel**2))
        partitions += [kernel(src, dst, weight, len(points), k / voxel**2, min_segment) for k in cfg.scales]
    min_voxels = max(int(round(cfg.min_area / voxel**2)), 1)
    out = []
    for labels in partitions:
        order = np.argsort(labels, kind="stable")
        starts = np.flatnonzero(np.r_[True, labels[order][1:] != labels[order][:-1]])
        for members in np.split(order, starts[1:]):
            if len(members) >= min_voxels:
                out.append(np.sort(members))
    return out
