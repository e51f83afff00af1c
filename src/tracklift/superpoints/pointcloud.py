"""Mesh-free superpoints: ScanNet's graph segmentation over a k-nearest-neighbour graph of a point cloud.

Normals come from PCA of each point's neighbourhood (the direction of least variance), oriented
towards a viewpoint so that the convexity test of `segmentator.edge_weights` means the same as on a
mesh with outward faces. Every point is joined to its `knn` nearest neighbours by directed edges
(i → j); the weights are the mesh ones, plus an optional colour difference.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from tracklift.core.config import config, option
from tracklift.superpoints.graph_segment import segment_graph
from tracklift.superpoints.segmentator import edge_weights


@config
class PointSuperpointConfig:
    knn: int = option(16, "neighbours per point (graph edges and normal estimation)", low=1, high=1024)
    k_thresh: float = option(
        0.01, "segmentation threshold (ScanNet's kThresh); larger → larger superpoints", low=1e-9, high=1e6
    )
    min_points: int = option(20, "superpoints smaller than this merge into a neighbour", low=0)
    max_edge_length: float | None = option(None, "longer kNN edges are dropped, metres (None keeps all)", low=1e-9)
    color_weight: float = option(
        0.0, "adds weight · |Δrgb| / (255·√3) to an edge (0 ignores colour)", low=0.0, high=1e6
    )
    viewpoint: tuple[float, float, float] | None = option(
        None, "normals face this point, metres, world frame (None: the cloud's centroid)"
    )


def segment_points(
    points: np.ndarray, colors: np.ndarray | None = None, config: PointSuperpointConfig | None = None
) -> np.ndarray:
    """Superpoints of a point cloud.

    points: [N, 3] float32, metres. colors: [N, 3] uint8 RGB or None.
    Returns [N] int64 superpoint ids (a representative point's index).
    """
    config = config or PointSuperpointConfig()
    points = _check_points(points)
    n = len(points)
    if colors is not None:
        colors = np.asarray(colors)
        if colors.shape != (n, 3):
            raise ValueError(f"colors must be [{n}, 3] like points, got {colors.shape}")
    if n < 2:
        return np.arange(n, dtype=np.int64)
    dist, idx = _neighbours(points, config.knn)
    normals = _orient(_pca_normals(points, idx), points, config.viewpoint)
    a = np.repeat(np.arange(n), idx.shape[1] - 1)
    b = idx[:, 1:].ravel()
    keep = a != b  # duplicate points can push a point's own index out of the first column
    if config.max_edge_length is not None:
        keep &= dist[:, 1:].ravel() <= config.max_edge_length
    a, b = a[keep], b[keep]
    w = edge_weights(points, normals, a, b)
    if colors is not None and config.color_weight > 0:
        diff = colors[a].astype(np.float32) - colors[b].astype(np.float32)
        w = w + np.float32(config.color_weight / (255 * np.sqrt(3))) * np.linalg.norm(diff, axis=1)
    return segment_graph(n, a, b, w.astype(np.float32), config.k_thresh, config.min_points)


def point_normals(points: np.ndarray, knn: int = 16, viewpoint: np.ndarray | None = None) -> np.ndarray:
    """[N, 3] float32 unit normals by neighbourhood PCA, facing `viewpoint` (default: the centroid).

    points: [N, 3] float32, metres, N >= 2.
    """
    points = _check_points(points)
    if len(points) < 2:
        raise ValueError(f"need at least 2 points for normals, got {len(points)}")
    _, idx = _neighbours(points, knn)
    return _orient(_pca_normals(points, idx), points, viewpoint)


def point_normals_reference(points: np.ndarray, knn: int = 16, viewpoint: np.ndarray | None = None) -> np.ndarray:
    """Plain `point_normals`: per point, the last right-singular vector of its centred neighbourhood."""
    points = _check_points(points).astype(np.float64)
    k = min(knn, len(points) - 1) + 1
    view = points.mean(0) if viewpoint is None else np.asarray(viewpoint, np.float64)
    normals = np.empty_like(points)
    for i, p in enumerate(points):
        order = np.argsort(np.linalg.norm(points - p, axis=1), kind="stable")[:k]
        nbrs = points[order] - points[order].mean(0)
        normal = np.linalg.svd(nbrs)[2][-1]
        normals[i] = -normal if normal @ (view - p) < 0 else normal
    return normals.astype(np.float32)


def _check_points(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must be [N, 3], got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError("points contain NaN or infinite coordinates")
    return np.ascontiguousarray(points, np.float32)


def _neighbours(points: np.ndarray, knn: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances and indices [N, k + 1] of each point's k nearest points, itself (normally) first."""
    k = min(knn, len(points) - 1) + 1
    dist, idx = cKDTree(points).query(points, k=k)
    return dist, idx


def _pca_normals(points: np.ndarray, idx: np.ndarray) -> np.ndarray:
    nbrs = points[idx].astype(np.float64)
    nbrs -= nbrs.mean(axis=1, keepdims=True)
    cov = np.einsum("nki,nkj->nij", nbrs, nbrs)
    return np.linalg.eigh(cov)[1][:, :, 0]  # eigenvalues ascend: column 0 is the least-variance axis


def _orient(normals: np.ndarray, points: np.ndarray, viewpoint) -> np.ndarray:
    view = points.mean(0) if viewpoint is None else np.asarray(viewpoint, np.float64).reshape(3)
    flip = np.einsum("ni,ni->n", normals, view - points) < 0
    normals[flip] *= -1
    return normals.astype(np.float32)
