"""Ground truth of a reconstructed mesh, transferred the way ScanNet's annotators label a reconstruction.

Annotators paint whole superpoints (ScanNet segmentator segments) of the reconstruction, not vertices:
here each segment takes the majority instance of its vertices, a vertex voting for the instance of its
nearest exact surface point when that lies within `tolerance`, else for "unannotated" (0).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from tracklift.superpoints.segmentator import segment_mesh


def nearest_instance(
    vertices: np.ndarray, ref_points: np.ndarray, ref_instance: np.ndarray, tolerance: float
) -> np.ndarray:
    """[V] int64: instance of each vertex's nearest reference point, 0 when none is within `tolerance` metres.

    vertices: [V, 3] metres; ref_points: [R, 3] metres, same frame; ref_instance: [R] int.
    """
    if len(ref_points) != len(ref_instance):
        raise ValueError(f"{len(ref_points)} reference points but {len(ref_instance)} instances")
    out = np.zeros(len(vertices), np.int64)
    if len(ref_points) == 0 or len(vertices) == 0:
        return out
    dist, idx = cKDTree(np.asarray(ref_points, np.float64)).query(
        np.asarray(vertices, np.float64), distance_upper_bound=tolerance
    )
    near = np.isfinite(dist)
    out[near] = np.asarray(ref_instance, np.int64)[idx[near]]
    return out


def segment_majority(segment: np.ndarray, votes: np.ndarray) -> np.ndarray:
    """[V] int64: every vertex gets the most common of `votes` [V] int >= 0 within its `segment` [V]
    (ties: the smaller value)."""
    _, seg = np.unique(segment, return_inverse=True)
    values, vote = np.unique(votes, return_inverse=True)
    counts = np.zeros((seg.max() + 1 if len(seg) else 0, len(values)), np.int64)
    np.add.at(counts, (seg, vote), 1)
    return values[counts.argmax(axis=1)][seg] if len(seg) else np.zeros(0, np.int64)


def annotate_reconstruction(
    vertices: np.ndarray,
    faces: np.ndarray,
    ref_points: np.ndarray,
    ref_instance: np.ndarray,
    tolerance: float,
    k_thresh: float = 0.01,
    min_verts: int = 20,
) -> tuple[np.ndarray, np.ndarray]:
    """Superpoints [V] int64 (ScanNet `segIndices`) and per-vertex instance [V] int64 (0: unannotated) of a
    reconstructed mesh (vertices [V, 3] float32 metres, faces [F, 3]) from exact surface points
    `ref_points` [R, 3] with instances `ref_instance` [R]."""
    segment = segment_mesh(vertices, faces, k_thresh, min_verts)
    votes = nearest_instance(vertices, ref_points, ref_instance, tolerance)
    return segment, segment_majority(segment, votes)
