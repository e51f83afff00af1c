"""Felzenszwalb–Huttenlocher graph segmentation as ScanNet's segmentator runs it.

The algorithm is `core.felzenszwalb`; ScanNet's choices are its parameters: edges visited in
`std::sort` order of weight (see `cxx_sort`), thresholds `w + k / size` computed in float32, and
labels that are the representative vertex ids of union by rank, as ScanNet writes them into `segIndices`.
"""

from __future__ import annotations

import numpy as np

from tracklift.core.felzenszwalb import felzenszwalb, felzenszwalb_reference
from tracklift.superpoints.cxx_sort import cxx_sort_order


def _sorted_graph(num_vertices: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, k_thresh: float):
    a, b, w = np.asarray(a), np.asarray(b), np.asarray(w)
    if a.ndim != 1 or a.shape != b.shape or a.shape != w.shape:
        raise ValueError(f"edges a, b, w must all be [E]; got {a.shape}, {b.shape}, {w.shape}")
    if not k_thresh > 0:
        raise ValueError(f"k_thresh must be > 0, got {k_thresh}")
    if not np.all(np.isfinite(w)):
        raise ValueError("edge weights w must be finite")
    order = cxx_sort_order(w)
    return a[order], b[order], np.ascontiguousarray(w, np.float32)[order]


def segment_graph(
    num_vertices: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, k_thresh: float = 0.01, min_size: int = 20
) -> np.ndarray:
    """Segment a weighted graph into components.

    a, b: [E] int edge endpoints in [0, num_vertices) (duplicates and both directions allowed).
    w:    [E] float32 edge weights (dissimilarity), finite.
    k_thresh: larger gives larger segments. min_size: segments smaller than this are merged away
    (where an edge allows it).
    Returns [num_vertices] int64: per vertex the id of its segment's representative vertex.
    """
    a, b, w = _sorted_graph(num_vertices, a, b, w, k_thresh)
    return felzenszwalb(a, b, w, num_vertices, k_thresh, min_size, dtype=np.float32, labels="root")


def segment_graph_reference(
    num_vertices: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, k_thresh: float = 0.01, min_size: int = 20
) -> np.ndarray:
    """`segment_graph` by `core.felzenszwalb_reference`: the same partition, segments numbered 0.. instead."""
    a, b, w = _sorted_graph(num_vertices, a, b, w, k_thresh)
    return felzenszwalb_reference(a, b, w, num_vertices, k_thresh, min_size, dtype=np.float32)
