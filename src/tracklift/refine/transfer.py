"""Carry the tracker's instances (voxel points in world metres) onto a scene's reference vertices, then snap."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

from tracklift.refine.snap import SnapConfig, SnapResult, snap_masks
from tracklift.core.instance import Instance3D


def transfer_to_vertices(point_sets: Sequence[np.ndarray], vertices: np.ndarray, radius: float) -> np.ndarray:
    """Vertex masks of point sets: a vertex belongs to a set when one of its points is within `radius`.

    point_sets: I arrays [M_i, 3] float32, metres, world frame. vertices: [V, 3] float32, same frame.
    radius: metres, > 0. Returns [I, V] bool (sets may overlap, as instances may).
    """
    vertices = np.asarray(vertices, np.float32)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be [V, 3], got {vertices.shape}")
    if not radius > 0:
        raise ValueError(f"radius must be > 0, got {radius}")
    masks = np.zeros((len(point_sets), len(vertices)), bool)
    for i, points in enumerate(point_sets):
        points = np.asarray(points, np.float32)
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError(f"point set {i} must be [M, 3], got {points.shape}")
        if len(points) == 0:
            continue
        # Only vertices inside the set's padded box can be near it: query those, not the whole scene.
        lo, hi = points.min(0).astype(np.float64) - radius, points.max(0).astype(np.float64) + radius
        near = np.all((vertices >= lo) & (vertices <= hi), axis=1)
        candidates = np.flatnonzero(near)
        dist, _ = cKDTree(points).query(vertices[candidates], distance_upper_bound=radius)
        masks[i, candidates[dist <= radius]] = True
    return masks


def transfer_to_vertices_reference(point_sets: Sequence[np.ndarray], vertices: np.ndarray, radius: float) -> np.ndarray:
    """Plain `transfer_to_vertices`: all vertex–point distances of each set."""
    vertices = np.asarray(vertices, np.float32)
    masks = np.zeros((len(point_sets), len(vertices)), bool)
    for i, points in enumerate(point_sets):
        points = np.asarray(points, np.float32).reshape(-1, 3)
        for v, vertex in enumerate(vertices):
            dist = np.linalg.norm(points.astype(np.float64) - vertex, axis=1)
            masks[i, v] = len(points) > 0 and dist.min() <= radius
    return masks


def snap_instances(
    instances: Sequence[Instance3D], vertices: np.ndarray, superpoints: np.ndarray, config: SnapConfig | None = None
) -> SnapResult:
    """Instances as vertex masks snapped to superpoints; instance scores break voting ties.

    vertices: [V, 3] float32, metres, world frame (e.g. mesh vertices). superpoints: [V] int.
    Returns masks [K, V] bool and `kept` [K] indices into `instances` (collapsed ones are dropped).
    """
    config = config or SnapConfig()
    masks = transfer_to_vertices([inst.points for inst in instances], vertices, config.transfer_radius)
    scores = np.asarray([inst.score for inst in instances], np.float64)
    return snap_masks(masks, superpoints, scores, config)
