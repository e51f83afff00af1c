"""The order in which GCC's `std::sort` (libstdc++ introsort) leaves equal keys.

ScanNet's segmentator sorts its graph edges with `std::sort`, which is not stable: among edges of
equal weight the order is whatever libstdc++'s introsort produces, and the segmentation (which
component reaches which threshold first, which neighbour a small segment is merged into) depends
on it. Planar patches of a mesh produce many exactly equal weights, so to reproduce ScanNet's
superpoints we reproduce that order, not just *a* sorted order. This module re-implements the
algorithm (median-of-three quicksort down to runs of 16, heapsort below a depth limit of
2·floor(log2 n), one final insertion sort) with the same comparisons in the same sequence.
It is checked against the real `std::sort` in `tests/test_superpoints_cxx_sort.py`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_THRESHOLD = 16  # libstdc++ `_S_threshold`: runs at most this long are left for insertion sort


def cxx_sort_order(keys: np.ndarray) -> np.ndarray:
    """Permutation that GCC's `std::sort` applies to records compared by `keys` with `<`.

    keys: [E] float32 (any real dtype is converted), finite.
    Returns [E] int64 `order` such that `keys[order]` is non-decreasing and records with equal keys
    appear in the order libstdc++'s introsort leaves them.
    """
    keys = np.asarray(keys)
    if keys.ndim != 1:
        raise ValueError(f"keys must be [E], got shape {keys.shape}")
    keys = np.ascontiguousarray(keys, np.float32)
    if not np.all(np.isfinite(keys)):
        raise ValueError("keys must be finite (NaN breaks std::sort's ordering)")
    order = np.arange(len(keys), dtype=np.int64)
    _introsort(keys.copy(), order)
    return order


def cxx_partial_sort_order(keys: np.ndarray) -> np.ndarray:
    """Permutation of `std::partial_sort(first, last, last)`: the heapsort that introsort falls back to.

    Exposed so the heapsort path, which random inputs rarely reach inside `cxx_sort_order`, is tested
    against the real library on its own. keys: [E] float32, finite. Returns [E] int64.
    """
    keys = np.ascontiguousarray(keys, np.float32)
    order = np.arange(len(keys), dtype=np.int64)
    _heapsort(keys.copy(), order, 0, len(keys))
    return order


# The kernels move (key, index) pairs together, exactly as std::sort moves whole records.


@njit(cache=True)
def _swap(k, o, i, j):
    k[i], k[j] = k[j], k[i]
    o[i], o[j] = o[j], o[i]


@njit(cache=True)
def _push_heap(k, o, first, hole, top, vk, vo):
    parent = (hole - 1) // 2
    while hole > top and k[first + parent] < vk:
        k[first + hole] = k[first + parent]
        o[first + hole] = o[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    k[first + hole] = vk
    o[first + hole] = vo


@njit(cache=True)
def _adjust_heap(k, o, first, hole, length, vk, vo):
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if k[first + child] < k[first + child - 1]:
            child -= 1
        k[first + hole] = k[first + child]
        o[first + hole] = o[first + child]
        hole = child
    if (length & 1) == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        k[first + hole] = k[first + child - 1]
        o[first + hole] = o[first + child - 1]
        hole = child - 1
    _push_heap(k, o, first, hole, top, vk, vo)


@njit(cache=True)
def _heapsort(k, o, first, last):
    # std::__partial_sort(first, last, last): make_heap, (empty heap_select loop), sort_heap.
    length = last - first
    if length >= 2:
        parent = (length - 2) // 2
        while True:
            _adjust_heap(k, o, first, parent, length, k[first + parent], o[first + parent])
            if parent == 0:
                break
            parent -= 1
    while last - first > 1:
        last -= 1
        vk, vo = k[last], o[last]
        k[last], o[last] = k[first], o[first]
        _adjust_heap(k, o, first, 0, last - first, vk, vo)


@njit(cache=True)
def _move_median_to_first(k, o, result, a, b, c):
    if k[a] < k[b]:
        if k[b] < k[c]:
            _swap(k, o, result, b)
        elif k[a] < k[c]:
            _swap(k, o, result, c)
        else:
            _swap(k, o, result, a)
    elif k[a] < k[c]:
        _swap(k, o, result, a)
    elif k[b] < k[c]:
        _swap(k, o, result, c)
    else:
        _swap(k, o, result, b)


@njit(cache=True)
def _partition_pivot(k, o, first, last):
    mid = first + (last - first) // 2
    _move_median_to_first(k, o, first, first + 1, mid, last - 1)
    pivot = k[first]
    lo, hi = first + 1, last
    while True:
        while k[lo] < pivot:
            lo += 1
        hi -= 1
        while pivot < k[hi]:
            hi -= 1
        if not lo < hi:
            return lo
        _swap(k, o, lo, hi)
        lo += 1


@njit(cache=True)
def _linear_insert(k, o, i):
    vk, vo = k[i], o[i]
    j = i - 1
    while vk < k[j]:
        k[j + 1] = k[j]
        o[j + 1] = o[j]
        j -= 1
    k[j + 1] = vk
    o[j + 1] = vo


@njit(cache=True)
def _insertion_sort(k, o, first, last):
    for i in range(first + 1, last):
        if k[i] < k[first]:
            vk, vo = k[i], o[i]
            for j in range(i, first, -1):
                k[j] = k[j - 1]
                o[j] = o[j - 1]
            k[first] = vk
            o[first] = vo
        else:
            _linear_insert(k, o, i)


@njit(cache=True)
def _introsort(k, o):
    n = len(k)
    if n == 0:
        return
    depth = 0
    m = n
    while m > 1:  # floor(log2 n)
        m >>= 1
        depth += 1
    # libstdc++ recurses on the right part and loops on the left; the parts are disjoint, so an
    # explicit stack visiting them in another order yields the same array.
    stack = np.empty((2 * depth + 2 + 64, 3), np.int64)
    stack[0] = (0, n, 2 * depth)
    top = 1
    while top > 0:
        top -= 1
        first, last, limit = stack[top]
        while last - first > _THRESHOLD:
            if limit == 0:
                _heapsort(k, o, first, last)
                break
            limit -= 1
            cut = _partition_pivot(k, o, first, last)
            stack[top] = (cut, last, limit)
            top += 1
            last = cut
    if n > _THRESHOLD:
        _insertion_sort(k, o, 0, _THRESHOLD)
        for i in range(_THRESHOLD, n):
            _linear_insert(k, o, i)
    else:
        _insertion_sort(k, o, 0, n)
