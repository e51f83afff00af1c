"""Felzenszwalb–Huttenlocher graph segmentation over a fixed, pre-sorted edge list.

Two implementations of the same algorithm: `felzenszwalb_numba` (union-find with path halving,
the one the segmenter runs) and `felzenszwalb_reference` (explicit member lists, slow and
obviously correct, for tests). The partition FH produces depends only on the edge order and the
component sizes/internal differences, never on union-find internals, so both give identical labels.

Inputs (shared by both):
    src, dst: [E] int64, node ids in [0, n_nodes), edges sorted by `weight` ascending (ties in a fixed order).
    weight:   [E] float32, >= 0, the dissimilarity of the two nodes.
    n_nodes:  number of nodes (pixels).
    k:        FH scale: a component C accepts an edge of weight w when w <= Int(C) + k / |C|.
    min_size: after FH, components smaller than this are merged along the edges in the same order.
Output: labels [n_nodes] int64, components numbered 0.. in order of their smallest node id.
"""

from __future__ import annotations

import numba
import numpy as np


def check_edges(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, n_nodes: int) -> None:
    """Raise ValueError when the edge arrays disagree in shape or point outside [0, n_nodes)."""
    if not (src.shape == dst.shape == weight.shape) or src.ndim != 1:
        raise ValueError(
            f"src, dst, weight must be [E] arrays of one length, got {src.shape}, {dst.shape}, {weight.shape}"
        )
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n_nodes):
        found = (min(src.min(), dst.min()), max(src.max(), dst.max()))
        raise ValueError(f"edge node ids must lie in [0, {n_nodes}), got [{found[0]}, {found[1]}]")
    if src.size > 1 and np.any(np.diff(weight) < 0):
        raise ValueError("weight must be sorted ascending")


@numba.njit(cache=True)
def _find(parent: np.ndarray, x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@numba.njit(cache=True)
def _felzenszwalb_kernel(src, dst, weight, n_nodes, k, min_size):
    parent = np.arange(n_nodes)
    size = np.ones(n_nodes, np.int64)
    internal = np.zeros(n_nodes, np.float64)
    for e in range(src.shape[0]):
        a = _find(parent, src[e])
        b = _find(parent, dst[e])
        if a == b:
            continue
        w = weight[e]
        if w <= internal[a] + k / size[a] and w <= internal[b] + k / size[b]:
            if size[a] < size[b]:
                a, b = b, a
            parent[b] = a
            size[a] += size[b]
            # Edges arrive in ascending order, so the merging edge is the new maximum of the MST.
            internal[a] = w
    for e in range(src.shape[0]):
        a = _find(parent, src[e])
        b = _find(parent, dst[e])
        if a != b and (size[a] < min_size or size[b] < min_size):
            if size[a] < size[b]:
                a, b = b, a
            parent[b] = a
            size[a] += size[b]
    labels = np.empty(n_nodes, np.int64)
    first = np.full(n_nodes, -1, np.int64)
    count = 0
    for i in range(n_nodes):
        r = _find(parent, i)
        if first[r] < 0:
            first[r] = count
            count += 1
        labels[i] = first[r]
    return labels


def felzenszwalb_numba(
    src: np.ndarray, dst: np.ndarray, weight: np.ndarray, n_nodes: int, k: float, min_size: int
) -> np.ndarray:
    """FH segmentation (numba). See the module docstring for arguments; returns labels [n_nodes] int64."""
    check_edges(src, dst, weight, n_nodes)
    return _felzenszwalb_kernel(
        np.ascontiguousarray(src, np.int64),
        np.ascontiguousarray(dst, np.int64),
        np.ascontiguousarray(weight, np.float64),
        int(n_nodes),
        float(k),
        int(min_size),
    )


def felzenszwalb_reference(
    src: np.ndarray, dst: np.ndarray, weight: np.ndarray, n_nodes: int, k: float, min_size: int
) -> np.ndarray:
    """FH segmentation with explicit member lists (slow). Same contract as `felzenszwalb_numba`."""
    check_edges(src, dst, weight, n_nodes)
    comp_of = list(range(n_nodes))
    members = {i: [i] for i in range(n_nodes)}
    internal = {i: 0.0 for i in range(n_nodes)}

    def merge(a: int, b: int, w: float | None) -> None:
        for node in members[b]:
            comp_of[node] = a
        members[a] += members.pop(b)
        if w is not None:
            internal[a] = w

    weights = np.asarray(weight, np.float64)
    for s, d, w in zip(src.tolist(), dst.tolist(), weights.tolist()):
        a, b = comp_of[s], comp_of[d]
        if a != b and w <= internal[a] + k / len(members[a]) and w <= internal[b] + k / len(members[b]):
            merge(a, b, w)
    for s, d in zip(src.tolist(), dst.tolist()):
        a, b = comp_of[s], comp_of[d]
        if a != b and min(len(members[a]), len(members[b])) < min_size:
            merge(a, b, None)
    first: dict[int, int] = {}
    return np.array([first.setdefault(comp_of[i], len(first)) for i in range(n_nodes)], np.int64)
