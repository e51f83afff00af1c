"""Felzenszwalb–Huttenlocher graph segmentation as ScanNet's segmentator runs it.

Edges are visited in `std::sort` order of weight (see `cxx_sort`). Two components merge when the
edge weight is at most both components' thresholds; a merged component's threshold becomes
`w + k / size`. A second pass over the same sorted edges then joins every component smaller than
`min_size` to its neighbour across the first edge that touches it. Union-find uses union by rank,
so the labels are the same representative vertex ids ScanNet writes into `segIndices`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tracklift.superpoints.cxx_sort import cxx_sort_order


def _check_graph(num_vertices: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, k_thresh: float, min_size: int):
    a = np.asarray(a)
    b = np.asarray(b)
    w = np.asarray(w)
    if a.ndim != 1 or a.shape != b.shape or a.shape != w.shape:
        raise ValueError(f"edges a, b, w must all be [E]; got {a.shape}, {b.shape}, {w.shape}")
    if num_vertices < 0:
        raise ValueError(f"num_vertices must be >= 0, got {num_vertices}")
    if len(a) and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= num_vertices):
        raise ValueError(f"edge endpoints must lie in [0, {num_vertices})")
    if not np.all(np.isfinite(w)):
        raise ValueError("edge weights w must be finite")
    if not k_thresh > 0:
        raise ValueError(f"k_thresh must be > 0, got {k_thresh}")
    if min_size < 0:
        raise ValueError(f"min_size must be >= 0, got {min_size}")
    return a.astype(np.int64), b.astype(np.int64), np.ascontiguousarray(w, np.float32)


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
    a, b, w = _check_graph(num_vertices, a, b, w, k_thresh, min_size)
    order = cxx_sort_order(w)
    return _segment_kernel(num_vertices, a[order], b[order], w[order], np.float32(k_thresh), min_size)


@njit(cache=True)
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving; roots, hence labels, are unaffected
        x = parent[x]
    return x


@njit(cache=True)
def _join(parent, rank, size, x, y):
    if rank[x] > rank[y]:
        parent[y] = x
        size[x] += size[y]
        return x
    parent[x] = y
    size[y] += size[x]
    if rank[x] == rank[y]:
        rank[y] += 1
    return y


@njit(cache=True)
def _segment_kernel(n, a, b, w, c, min_size):
    parent = np.arange(n)
    rank = np.zeros(n, np.int64)
    size = np.ones(n, np.int64)
    threshold = np.full(n, c, np.float32)
    for e in range(len(w)):
        ra = _find(parent, a[e])
        rb = _find(parent, b[e])
        if ra != rb and w[e] <= threshold[ra] and w[e] <= threshold[rb]:
            r = _join(parent, rank, size, ra, rb)
            threshold[r] = w[e] + c / np.float32(size[r])
    for e in range(len(w)):
        ra = _find(parent, a[e])
        rb = _find(parent, b[e])
        if ra != rb and (size[ra] < min_size or size[rb] < min_size):
            _join(parent, rank, size, ra, rb)
    labels = np.empty(n, np.int64)
    for v in range(n):
        labels[v] = _find(parent, v)
    return labels


def segment_graph_reference(
    num_vertices: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, k_thresh: float = 0.01, min_size: int = 20
) -> np.ndarray:
    """Plain-Python `segment_graph` (components as sets); equal to it up to relabelling.

    Thresholds use float32 arithmetic like the fast kernel and ScanNet, so boundary cases agree.
    """
    a, b, w = _check_graph(num_vertices, a, b, w, k_thresh, min_size)
    c = np.float32(k_thresh)
    comp_of = list(range(num_vertices))
    members = {v: {v} for v in range(num_vertices)}
    threshold = {v: c for v in range(num_vertices)}

    def merge(x: int, y: int) -> int:
        for v in members[y]:
            comp_of[v] = x
        members[x] |= members.pop(y)
        del threshold[y]
        return x

    order = cxx_sort_order(w)
    for e in order:
        x, y = comp_of[a[e]], comp_of[b[e]]
        if x != y and w[e] <= threshold[x] and w[e] <= threshold[y]:
            x = merge(x, y)
            threshold[x] = w[e] + c / np.float32(len(members[x]))
    for e in order:
        x, y = comp_of[a[e]], comp_of[b[e]]
        if x != y and (len(members[x]) < min_size or len(members[y]) < min_size):
            merge(x, y)
    return np.asarray(comp_of, np.int64)
