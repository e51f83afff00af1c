import numpy as np
import pytest

from tracklift.track.costs import (
    assign, box_gate, overlap_matrix, overlap_matrix_reference, spatial_scores, visible_counts, visual_scores,
)
from tracklift.track.voxelmap import VoxelMap, coarsen_keys, union_add, union_add_reference
from tracklift.lift.voxels import pack_keys


def test_overlap_matrix_matches_reference():
    rng = np.random.default_rng(0)
    segs = [np.unique(rng.integers(0, 50, rng.integers(0, 20))) for _ in range(4)]
    tracks = [np.unique(rng.integers(0, 50, rng.integers(0, 30))) for _ in range(3)]
    np.testing.assert_array_equal(overlap_matrix(segs, tracks), overlap_matrix_reference(segs, tracks))
    assert overlap_matrix([], tracks).shape == (0, 3)


def test_spatial_scores_exact_both_directions():
    # segment of 10 voxels, 8 inside a track of 100 voxels of which 16 are visible
    overlap = np.array([[8, 0]])
    s = spatial_scores(overlap, np.array([10]), np.array([16, 2]), min_visible=3)
    np.testing.assert_allclose(s, [[0.8, 0.0]])
    # a whole-object segment of 40 voxels containing a partially built track showing 16 voxels
    s = spatial_scores(np.array([[16]]), np.array([40]), np.array([16]), min_visible=3)
    np.testing.assert_allclose(s, [[1.0]])
    # a sliver of a track (2 visible voxels) gives no "by track" evidence
    s = spatial_scores(np.array([[2]]), np.array([40]), np.array([2]), min_visible=3)
    np.testing.assert_allclose(s, [[0.05]])


def test_visual_scores_and_gate():
    f = np.array([[1.0, 0.0], [0.0, 1.0]])
    banks = [np.array([[0.6, 0.8], [1.0, 0.0]]), None, np.array([[-1.0, 0.0]])]
    np.testing.assert_allclose(visual_scores(f, banks), [[1.0, 0, 0], [0.8, 0, 0]])
    gate = box_gate(np.zeros((1, 3)), np.ones((1, 3)), np.array([[1.05, 0, 0], [1.5, 0, 0]]),
                    np.array([[2, 1, 1], [2, 1, 1]]), margin=0.1)
    np.testing.assert_array_equal(gate, [[True, False]])


def test_assign_one_to_one_with_threshold():
    score = np.array([[0.9, 0.8], [0.85, 0.1], [0.2, 0.3]])
    assert sorted(assign(score, 0.5)) == [(0, 1), (1, 0)]
    assert assign(score, 0.95) == []
    assert assign(np.zeros((0, 3)), 0.5) == []


def test_visible_counts_depth_test():
    K = np.array([[10.0, 0, 5], [0, 10.0, 5], [0, 0, 1]])
    depth = np.full((11, 11), 2.0, np.float32)
    depth[0, 0] = 0.0
    pts = np.array([[0, 0, 1.0], [0, 0, 2.05], [0, 0, 3.0], [-0.5, -0.5, 1.0], [0, 0, -1.0], [5.0, 0, 1.0]])
    owner = np.array([0, 0, 1, 1, 1, 1])
    # in front of the surface, on it (within tolerance), behind it (occluded), on an invalid pixel,
    # behind the camera, outside the image
    np.testing.assert_array_equal(visible_counts(pts, owner, 2, depth, K, np.eye(4), tolerance=0.1), [2, 0])


def test_union_add_matches_reference_and_voxelmap():
    rng = np.random.default_rng(3)
    a = np.unique(rng.integers(0, 40, 15))
    b = np.unique(rng.integers(0, 40, 15))
    va, vb = rng.random((len(a), 2)).astype(np.float32), rng.random((len(b), 2)).astype(np.float32)
    ka, vals = union_add(a, va, b, vb)
    kr, valr = union_add_reference(a, va, b, vb)
    np.testing.assert_array_equal(ka, kr)
    np.testing.assert_allclose(vals, valr, rtol=1e-6)
    m = VoxelMap(factor=2)
    keys = pack_keys(np.array([[0, 0, 0], [1, 1, 1], [2, 0, 0]]))
    m.add(keys, np.array([1.0, 2.0, 3.0]))
    m.add(keys[:1], np.array([5.0]))
    np.testing.assert_array_equal(m.hits, [2, 1, 1])
    np.testing.assert_array_equal(m.weight, [6, 2, 3])
    np.testing.assert_array_equal(m.coarse, coarsen_keys(keys, 2))
    assert len(m.coarse) == 2


def test_coarsen_negative_coordinates_floor():
    keys = pack_keys(np.array([[-1, 0, 0], [-2, 0, 0], [-3, 0, 0]]))
    np.testing.assert_array_equal(coarsen_keys(keys, 2), pack_keys(np.array([[-2, 0, 0], [-1, 0, 0]])))


def test_bad_shapes():
    with pytest.raises(ValueError):
        visual_scores(np.zeros((2, 3)), [np.zeros((1, 4))])
