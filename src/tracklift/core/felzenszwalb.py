"""Felzenszwalb–Huttenlocher graph segmentation and the disjoint sets under it, written once.

Every caller (the RGB-D frame segmenter, the 3D voxel proposals, ScanNet's mesh segmentator, synth's
mask merges) runs the same algorithm; what differs between them is a parameter:

* edge order: edges are visited in the order given, which must have ascending weight. The caller
  chooses how ties are ordered (a stable argsort, or `superpoints.cxx_sort` to copy ScanNet's `std::sort`).
* threshold: a component C accepts an edge of weight w when w <= Int(C) + k / |C|, where Int(C) is the
  weight of the edge that last grew C (edges ascend, so the maximum of its spanning tree). `dtype`
  is the float type this arithmetic runs in (ScanNet computes it in float32).
* min_size: afterwards, components smaller than this are merged along the edges, in the same order.
* labels: "first" numbers components 0.. in order of their smallest node id; "root" gives each node
  the id of its component's representative under union by rank, ScanNet's `segIndices`.

Two implementations: `felzenszwalb` (numba union-find, union by rank with path halving) and
`felzenszwalb_reference` (explicit member sets, slow and obviously correct, "first" labels only).
The partition depends only on the edge order and on component sizes and thresholds, never on
union-find internals, so the two agree exactly.

Shared inputs:
    src, dst: [E] integer node ids in [0, n_nodes), in visit order (both directions and repeats allowed).
    weight:   [E] float, finite, non-decreasing: the dissimilarity of the two nodes.
    n_nodes:  number of nodes.  k: >= 0, larger gives larger components.  min_size: >= 0.
Output: labels [n_nodes] int64.
"""

from __future__ import annotations

import numba
import numpy as np

LABELS = ("first", "root")
DTYPES = (np.float32, np.float64)


def check_edges(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, n_nodes: int) -> None:
    """Raise ValueError when the edge arrays disagree in shape, point outside [0, n_nodes) or do not ascend."""
    if not (src.shape == dst.shape == weight.shape) or src.ndim != 1:
        raise ValueError(
            f"src, dst, weight must be [E] arrays of one length, got {src.shape}, {dst.shape}, {weight.shape}"
        )
    if n_nodes < 0:
        raise ValueError(f"n_nodes must be >= 0, got {n_nodes}")
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n_nodes):
        found = (min(src.min(), dst.min()), max(src.max(), dst.max()))
        raise ValueError(f"edge node ids must lie in [0, {n_nodes}), got [{found[0]}, {found[1]}]")
    if not np.all(np.isfinite(weight)):
        raise ValueError("edge weights must be finite")
    if src.size > 1 and np.any(np.diff(weight) < 0):
        raise ValueError("weight must be sorted ascending")


def _check(src, dst, weight, n_nodes: int, k: float, min_size: int, dtype, labels: str):
    src, dst, weight = np.asarray(src), np.asarray(dst), np.asarray(weight)
    check_edges(src, dst, weight, n_nodes)
    if not k >= 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if min_size < 0:
        raise ValueError(f"min_size must be >= 0, got {min_size}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if labels not in LABELS:
        raise ValueError(f"labels must be one of {LABELS}, got {labels!r}")
    return src.astype(np.int64, copy=False), dst.astype(np.int64, copy=False), np.ascontiguousarray(weight, dtype)


def felzenszwalb(
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    n_nodes: int,
    k: float,
    min_size: int,
    dtype=np.float64,
    labels: str = "first",
) -> np.ndarray:
    """FH segmentation (numba). See the module docstring for arguments; returns labels [n_nodes] int64."""
    src, dst, weight = _check(src, dst, weight, n_nodes, k, min_size, dtype, labels)
    # k / |C| for every possible size, divided in `dtype` exactly as a scalar k / float(|C|) would be.
    k_over_size = dtype(k) / np.arange(1, n_nodes + 1, dtype=dtype)
    roots = _segment_kernel(src, dst, weight, k_over_size, int(min_size))
    return roots if labels == "root" else first_seen(roots)


def felzenszwalb_reference(
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    n_nodes: int,
    k: float,
    min_size: int,
    dtype=np.float64,
) -> np.ndarray:
    """FH segmentation with explicit member sets (slow). Same contract as `felzenszwalb`, "first" labels."""
    src, dst, weight = _check(src, dst, weight, n_nodes, k, min_size, dtype, "first")
    k = dtype(k)
    comp_of = list(range(n_nodes))
    members = {i: {i} for i in range(n_nodes)}
    threshold = {i: k / dtype(1) for i in range(n_nodes)}

    def merge(a: int, b: int) -> int:
        for node in members[b]:
            comp_of[node] = a
        members[a] |= members.pop(b)
        return a

    for s, d, w in zip(src.tolist(), dst.tolist(), weight):
        a, b = comp_of[s], comp_of[d]
        if a != b and w <= threshold[a] and w <= threshold[b]:
            a = merge(a, b)
            threshold[a] = w + k / dtype(len(members[a]))
    for s, d in zip(src.tolist(), dst.tolist()):
        a, b = comp_of[s], comp_of[d]
        if a != b and min(len(members[a]), len(members[b])) < min_size:
            merge(a, b)
    return first_seen(np.asarray(comp_of, np.int64))


def connected_components(n_nodes: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Components of the graph with edges src[i]–dst[i] ([E] ints in [0, n_nodes)): labels [n_nodes] int64,
    numbered 0.. in order of their smallest node id."""
    src, dst = np.asarray(src, np.int64).reshape(-1), np.asarray(dst, np.int64).reshape(-1)
    check_edges(src, dst, np.zeros(len(src)), n_nodes)
    return first_seen(_union_all(src, dst, n_nodes))


def first_seen(ids: np.ndarray) -> np.ndarray:
    """[N] ids -> [N] int64 labels 0.. numbered in order of first appearance.

    Small non-negative integer ids (union-find roots) take one numba pass (`_first_seen_dense`), others
    `first_seen_reference`; both give the same labels."""
    ids = np.asarray(ids).reshape(-1)
    if ids.size and ids.dtype.kind in "iu" and ids.min() >= 0 and ids.max() < 4 * ids.size:
        return _first_seen_dense(ids.astype(np.int64, copy=False), int(ids.max()) + 1)
    return first_seen_reference(ids)


def first_seen_reference(ids: np.ndarray) -> np.ndarray:
    """`first_seen` by sorting (np.unique): any ids, any dtype."""
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.reshape(-1)]


@numba.njit(cache=True, nogil=True)
def _first_seen_dense(ids, n):
    label = np.full(n, -1, np.int64)
    out = np.empty(len(ids), np.int64)
    count = 0
    for i in range(len(ids)):
        if label[ids[i]] < 0:
            label[ids[i]] = count
            count += 1
        out[i] = label[ids[i]]
    return out


@numba.njit(cache=True, nogil=True)
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving; roots, hence labels, are unaffected
        x = parent[x]
    return x


@numba.njit(cache=True, nogil=True)
def _join(parent, rank, size, x, y):
    """Union by rank of roots x and y, ties to y (ScanNet's `universe::join`); returns the new root."""
    if rank[x] > rank[y]:
        parent[y] = x
        size[x] += size[y]
        return x
    parent[x] = y
    size[y] += size[x]
    if rank[x] == rank[y]:
        rank[y] += 1
    return y


@numba.njit(cache=True, nogil=True)
def _union_all(src, dst, n):
    parent = np.arange(n)
    rank = np.zeros(n, np.int64)
    size = np.ones(n, np.int64)
    for e in range(len(src)):
        a = _find(parent, src[e])
        b = _find(parent, dst[e])
        if a != b:
            _join(parent, rank, size, a, b)
    roots = np.empty(n, np.int64)
    for v in range(n):
        roots[v] = _find(parent, v)
    return roots


@numba.njit(cache=True, nogil=True)
def _segment_kernel(src, dst, weight, k_over_size, min_size):
    n = len(k_over_size)
    parent = np.arange(n)
    rank = np.zeros(n, np.int64)
    size = np.ones(n, np.int64)
    threshold = np.empty_like(k_over_size)
    for v in range(n):
        threshold[v] = k_over_size[0]  # k / 1: every node starts as a component of size 1
    for e in range(len(weight)):
        a = _find(parent, src[e])
        b = _find(parent, dst[e])
        if a != b and weight[e] <= threshold[a] and weight[e] <= threshold[b]:
            r = _join(parent, rank, size, a, b)
            threshold[r] = weight[e] + k_over_size[size[r] - 1]
    for e in range(len(weight)):
        a = _find(parent, src[e])
        b = _find(parent, dst[e])
        if a != b and (size[a] < min_size or size[b] < min_size):
            _join(parent, rank, size, a, b)
    roots = np.empty(n, np.int64)
    for v in range(n):
        roots[v] = _find(parent, v)
    return roots
