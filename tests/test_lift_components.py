import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.lift.components import (
    main_components,
    main_components_reference,
    voxel_components,
    voxel_components_reference,
)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@given(st.integers(0, 10_000), st.integers(1, 60), st.integers(1, 2))
@settings(max_examples=40, deadline=None)
def test_components_match_reference(seed, n, radius):
    rng = np.random.default_rng(seed)
    coords = rng.integers(-4, 4, (n, 3))
    groups = rng.integers(0, 3, n)
    _, first = np.unique(np.c_[groups, coords], axis=0, return_index=True)
    coords, groups = coords[first], groups[first]
    fast = voxel_components(coords, groups, radius)
    assert same_partition(fast, voxel_components_reference(coords, groups, radius))
    assert fast.min() == 0 and fast.max() == len(np.unique(fast)) - 1
    # ids follow each component's first voxel in (group, i, j, k) order (the heaviest-component tie-break of
    # `main_components` reads them)
    firsts = [
        min(zip(groups[fast == c].tolist(), map(tuple, coords[fast == c].tolist()))) for c in range(fast.max() + 1)
    ]
    assert firsts == sorted(firsts)


def test_components_by_hand():
    # group 0: a chain of three diagonal neighbours and a far voxel; group 1: a voxel on the chain's first
    coords = np.array([[5, 5, 5], [1, 1, 1], [0, 0, 0], [2, 2, 2], [0, 0, 0], [3, 0, 0]])
    groups = np.array([0, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(voxel_components(coords, groups), [2, 0, 0, 0, 3, 1])
    np.testing.assert_array_equal(voxel_components(coords, groups, radius=2), [1, 0, 0, 0, 2, 0])


def test_two_blobs_and_groups_never_connect():
    coords = np.array([[0, 0, 0], [1, 1, 1], [5, 5, 5], [0, 0, 0], [1, 1, 1]])
    groups = np.array([0, 0, 0, 1, 1])
    lab = voxel_components(coords, groups)
    assert lab[0] == lab[1] and lab[2] != lab[0] and lab[3] == lab[4] and lab[3] != lab[0]
    # radius 4 bridges the gap (4 voxels) inside group 0
    lab4 = voxel_components(coords, groups, radius=4)
    assert lab4[0] == lab4[2]


def test_main_component_by_weight_and_count():
    groups = np.array([0, 0, 0, 1, 1])
    labels = np.array([0, 0, 1, 2, 3])
    np.testing.assert_array_equal(main_components(groups, labels), [1, 1, 0, 1, 0])
    np.testing.assert_array_equal(main_components(groups, labels, np.array([1, 1, 5, 1, 1])), [0, 0, 1, 1, 0])


def test_bad_input():
    with pytest.raises(ValueError, match="unique"):
        voxel_components(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="groups must be"):
        voxel_components(np.zeros((2, 3)), np.zeros(3))
    assert len(voxel_components(np.zeros((0, 3)), np.zeros(0))) == 0


def test_cell_components_bridge_gaps_below_one_cell():
    from tracklift.lift.lifter import cell_components

    coords = np.array([[0, 0, 0], [2, 0, 0], [9, 0, 0]])  # a 1-voxel gap, then a 6-voxel gap
    groups = np.zeros(3, np.int64)
    lab1 = cell_components(coords, groups, 1)
    lab2 = cell_components(coords, groups, 2)
    assert lab1[0] != lab1[1] and lab2[0] == lab2[1] != lab2[2]


def test_main_components_keep_near_parts_and_drop_what_lies_behind():
    # one mask: a front part (mass 10, 2.0 m), a second leg (mass 4, 2.2 m), a bled strip on the wall (mass 5,
    # 3.5 m) and a speck (mass 1, 2.0 m)
    groups = np.zeros(4, np.int64)
    labels = np.arange(4)
    weights = np.array([10.0, 4.0, 5.0, 1.0])
    depth = np.array([2.0, 2.2, 3.5, 2.0])
    keep = main_components(groups, labels, weights, depth, share=0.2, behind=0.5)
    np.testing.assert_array_equal(keep, [True, True, False, False])
    np.testing.assert_array_equal(main_components_reference(groups, labels, weights, depth, 0.2, 0.5), keep)
    np.testing.assert_array_equal(main_components(groups, labels, weights, depth), [True, False, False, False])


def test_main_components_match_reference_on_random_sets():
    rng = np.random.default_rng(11)
    for _ in range(20):
        n = int(rng.integers(1, 60))
        groups = rng.integers(0, 4, n)
        labels = groups * 10 + rng.integers(0, 5, n)
        weights = rng.integers(1, 5, n).astype(float)
        depth = rng.uniform(0.5, 4.0, n)
        share, behind = float(rng.uniform(0, 1)), float(rng.uniform(0, 1))
        np.testing.assert_array_equal(
            main_components(groups, labels, weights, depth, share, behind),
            main_components_reference(groups, labels, weights, depth, share, behind),
        )
