"""Felzenszwalb–Huttenlocher segmentation and connected components (`core.felzenszwalb`): the numba kernel
against the plain reference, hand-computed graphs, ScanNet's representative labels, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.core.felzenszwalb import (
    connected_components,
    felzenszwalb,
    felzenszwalb_reference,
    first_seen,
    first_seen_reference,
)


@settings(max_examples=30, deadline=None)
@given(
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    k=st.floats(0.0, 5.0),
    min_size=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_numba_kernel_matches_reference_on_random_grids(h, w, k, min_size, seed):
    rng = np.random.default_rng(seed)
    ids = np.arange(h * w).reshape(h, w)
    src = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    dst = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    weight = rng.integers(0, 4, src.size).astype(np.float32)  # few values: many ties, order matters
    order = np.argsort(weight, kind="stable")
    args = (src[order], dst[order], weight[order], h * w, k, min_size)
    np.testing.assert_array_equal(felzenszwalb(*args), felzenszwalb_reference(*args))


def test_kernel_on_a_hand_computed_chain():
    # Chain 0-1-2-3 with weights 0.1, 5, 0.2: k = 1 merges the cheap edges, not the expensive one.
    src, dst, weight = np.array([0, 2, 1]), np.array([1, 3, 2]), np.array([0.1, 0.2, 5.0], np.float32)
    for kernel in (felzenszwalb, felzenszwalb_reference):
        np.testing.assert_array_equal(kernel(src, dst, weight, 4, 1.0, 1), [0, 0, 1, 1])
        np.testing.assert_array_equal(kernel(src, dst, weight, 4, 1.0, 3), [0, 0, 0, 0])  # min_size merges


@pytest.mark.parametrize(
    "src, dst, weight, message",
    [
        (np.array([0]), np.array([1, 2]), np.array([0.0, 1.0]), "one length"),
        (np.array([0]), np.array([9]), np.array([0.0]), r"lie in \[0, 4\)"),
        (np.array([0, 1]), np.array([1, 2]), np.array([1.0, 0.0]), "sorted"),
    ],
)
def test_kernel_rejects_bad_edges(src, dst, weight, message):
    with pytest.raises(ValueError, match=message):
        felzenszwalb(src, dst, weight.astype(np.float32), 4, 1.0, 1)


def random_graph(n, edges, levels, seed, dtype):
    """A random multigraph on n nodes (self-loops, repeats, both directions), weights from `levels`
    values (many ties), in stable ascending order."""
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, edges), rng.integers(0, n, edges)
    weight = (rng.integers(0, levels, edges) * rng.uniform(0.01, 1.0)).astype(dtype)
    order = np.argsort(weight, kind="stable")
    return src[order], dst[order], weight[order]


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = np.unique(np.stack([a, b], 1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    edges=st.integers(0, 120),
    levels=st.integers(1, 6),
    k=st.sampled_from([0.0, 0.003, 0.1, 1.0, 7.0]),
    min_size=st.integers(0, 8),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_kernel_matches_reference_on_random_graphs(n, edges, levels, k, min_size, dtype, seed):
    src, dst, weight = random_graph(n, edges, levels, seed, dtype)
    args = (src, dst, weight, n, k, min_size, dtype)
    slow = felzenszwalb_reference(*args)
    np.testing.assert_array_equal(felzenszwalb(*args), slow)
    roots = felzenszwalb(*args, labels="root")
    assert np.all(roots[roots] == roots)  # each label is a node of its own component
    np.testing.assert_array_equal(first_seen(roots), slow)


def test_float32_thresholds_round_like_scannet():
    # After 0-1 merges at w1 = 0.1f, {0, 1} accepts up to w1 + k/2. In float32 (ScanNet) that sum rounds
    # up to 0.55f = 0.550000011..., above the float64 sum 0.550000001...: an edge of exactly that weight
    # (below node 2's own threshold k) joins node 2 in float32 arithmetic and not in float64.
    k, w1 = 0.9, np.float32(0.1)
    w2 = np.float32(w1 + np.float32(k) / np.float32(2))
    src, dst, weight = np.array([0, 1]), np.array([1, 2]), np.array([w1, w2], np.float32)
    for dtype, joined in ((np.float32, [0, 0, 0]), (np.float64, [0, 0, 1])):
        np.testing.assert_array_equal(felzenszwalb(src, dst, weight, 3, k, 0, dtype), joined)
        np.testing.assert_array_equal(felzenszwalb_reference(src, dst, weight, 3, k, 0, dtype), joined)


def test_root_labels_follow_union_by_rank():
    # 0-1 joins with ties to the second root (1); then 2 joins the rank-1 tree rooted at 1.
    src, dst, weight = np.array([0, 2]), np.array([1, 1]), np.array([0.0, 0.0], np.float32)
    np.testing.assert_array_equal(felzenszwalb(src, dst, weight, 4, 1.0, 0, labels="root"), [1, 1, 1, 3])
    np.testing.assert_array_equal(felzenszwalb(src, dst, weight, 4, 1.0, 0), [0, 0, 0, 1])


def test_empty_graph():
    none = np.zeros(0, np.int64)
    assert felzenszwalb(none, none, np.zeros(0), 0, 1.0, 1).shape == (0,)
    np.testing.assert_array_equal(felzenszwalb(none, none, np.zeros(0), 3, 1.0, 1), [0, 1, 2])
    np.testing.assert_array_equal(connected_components(3, none, none), [0, 1, 2])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": -1.0}, "k must be >= 0"),
        ({"min_size": -1}, "min_size must be >= 0"),
        ({"dtype": np.int64}, "dtype must be"),
        ({"labels": "smallest"}, "labels must be one of"),
        ({"weight": np.array([0.0, np.nan])}, "finite"),
    ],
)
def test_kernel_rejects_bad_parameters(kwargs, message):
    args = {
        "src": np.array([0, 1]),
        "dst": np.array([1, 2]),
        "weight": np.array([0.0, 1.0]),
        "n_nodes": 4,
        "k": 1.0,
        "min_size": 1,
    } | kwargs
    with pytest.raises(ValueError, match=message):
        felzenszwalb(**args)


def components_reference(n, src, dst):
    """Flood fill over an adjacency list; components numbered by their smallest node."""
    neighbours = [[] for _ in range(n)]
    for a, b in zip(src.tolist(), dst.tolist()):
        neighbours[a].append(b)
        neighbours[b].append(a)
    labels = [-1] * n
    count = 0
    for start in range(n):
        if labels[start] < 0:
            stack, labels[start] = [start], count
            while stack:
                for m in neighbours[stack.pop()]:
                    if labels[m] < 0:
                        labels[m] = count
                        stack.append(m)
            count += 1
    return np.array(labels, np.int64)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), edges=st.integers(0, 40), seed=st.integers(0, 2**16))
def test_connected_components_match_flood_fill(n, edges, seed):
    src, dst, _ = random_graph(n, edges, 1, seed, np.float64)
    np.testing.assert_array_equal(connected_components(n, src, dst), components_reference(n, src, dst))


def test_connected_components_on_a_hand_computed_graph():
    np.testing.assert_array_equal(connected_components(6, np.array([4, 1, 5]), np.array([2, 3, 2])), [0, 1, 2, 1, 2, 2])
    with pytest.raises(ValueError, match=r"lie in \[0, 6\)"):
        connected_components(6, np.array([0]), np.array([6]))


def test_first_seen_numbers_by_first_appearance():
    np.testing.assert_array_equal(first_seen(np.array([7, 3, 7, 9, 3])), [0, 1, 0, 2, 1])


@settings(max_examples=50, deadline=None)
@given(ids=st.lists(st.integers(-3, 60), max_size=40), dtype=st.sampled_from([np.int64, np.int32, np.uint16]))
def test_first_seen_equals_the_sorting_reference(ids, dtype):
    ids = np.array([i for i in ids if dtype != np.uint16 or i >= 0], dtype)
    fast = first_seen(ids)
    assert fast.dtype == np.int64
    np.testing.assert_array_equal(fast, first_seen_reference(ids))


def test_first_seen_takes_the_sorting_path_for_sparse_or_float_ids():
    sparse = np.array([10**12, 5, 10**12, -7])
    np.testing.assert_array_equal(first_seen(sparse), [0, 1, 0, 2])
    np.testing.assert_array_equal(first_seen(np.array([0.5, 0.25, 0.5])), [0, 1, 0])
