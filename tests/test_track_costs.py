import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.lift.voxels import contains, pack_keys
from tracklift.track.costs import (
    assign,
    box_gate,
    image_coverage,
    image_coverage_reference,
    overlap_matrix,
    overlap_matrix_reference,
    spatial_scores,
    visible_counts,
    visible_pixels,
    visual_scores,
    weighted_overlap,
    weighted_overlap_reference,
)
from tracklift.track.voxelmap import (
    VoxelMap,
    coarsen_keys,
    merge_evidence,
    merge_evidence_reference,
    union_add,
    union_add_reference,
)


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
    # balance mixes in the smaller ratio: a segment explaining the whole track beats one the track contains
    s = spatial_scores(np.array([[8, 8]]), np.array([10]), np.array([10, 80]), min_visible=3, balance=0.25)
    np.testing.assert_allclose(s, [[0.75 * 0.8 + 0.25 * 0.8, 0.75 * 0.8 + 0.25 * 0.1]])


def test_spatial_scores_image_overlap_counts_for_the_track_ratio():
    # 3 shared voxels in 3D (pose error moved the rest), but 12 of the track's 16 visible voxels project into the mask
    s = spatial_scores(np.array([[3]]), np.array([30]), np.array([16]), min_visible=3, image_overlap=np.array([[12]]))
    np.testing.assert_allclose(s, [[0.75]])
    # the image never lowers the 3D evidence, and the segment ratio stays 3D
    s = spatial_scores(
        np.array([[10]]), np.array([10]), np.array([40]), min_visible=3, balance=0.5, image_overlap=np.array([[4]])
    )
    np.testing.assert_allclose(s, [[0.5 * 1.0 + 0.5 * 0.25]])


def test_image_coverage_hand_case_and_reference():
    masks = np.zeros((2, 4, 5), bool)
    masks[0, :2, :] = True  # top half
    masks[1, :, 3:] = True  # right columns (overlaps the first: NPZ masks may overlap)
    rows = np.array([0, 1, 3, 3, 0])
    cols = np.array([0, 4, 4, 0, 3])
    owner = np.array([0, 0, 1, 1, 2])
    expected = np.array([[2, 0, 1], [1, 1, 1]])
    np.testing.assert_array_equal(image_coverage(masks, rows, cols, owner, 3), expected)
    np.testing.assert_array_equal(image_coverage_reference(masks, rows, cols, owner, 3), expected)
    rng = np.random.default_rng(5)
    masks = rng.random((4, 9, 7)) < 0.4
    rows, cols, owner = rng.integers(0, 9, 50), rng.integers(0, 7, 50), rng.integers(0, 6, 50)
    np.testing.assert_array_equal(
        image_coverage(masks, rows, cols, owner, 6), image_coverage_reference(masks, rows, cols, owner, 6)
    )
    assert image_coverage(masks[:0], rows, cols, owner, 6).shape == (0, 6)


def test_visual_scores_and_gate():
    f = np.array([[1.0, 0.0], [0.0, 1.0]])
    banks = [np.array([[0.6, 0.8], [1.0, 0.0]]), None, np.array([[-1.0, 0.0]])]
    np.testing.assert_allclose(visual_scores(f, banks), [[1.0, 0, 0], [0.8, 0, 0]])
    gate = box_gate(
        np.zeros((1, 3)),
        np.ones((1, 3)),
        np.array([[1.05, 0, 0], [1.5, 0, 0]]),
        np.array([[2, 1, 1], [2, 1, 1]]),
        margin=0.1,
    )
    np.testing.assert_array_equal(gate, [[True, False]])


def test_assign_one_to_one_among_eligible_pairs():
    score = np.array([[0.9, 0.8], [0.85, 0.1], [0.2, 0.3]])
    assert sorted(assign(score, score >= 0.5)) == [(0, 1), (1, 0)]
    assert assign(score, score >= 0.95) == []
    assert assign(np.zeros((0, 3)), np.zeros((0, 3), bool)) == []
    # a low-scoring eligible pair still counts: matching more pairs beats a higher total score
    assert sorted(assign(score, np.array([[1, 0], [1, 0], [0, 1]], bool))) == [(0, 0), (2, 1)]


def test_visible_counts_depth_test():
    K = np.array([[10.0, 0, 5], [0, 10.0, 5], [0, 0, 1]])
    depth = np.full((11, 11), 2.0, np.float32)
    depth[0, 0] = 0.0
    pts = np.array([[0, 0, 1.0], [0, 0, 2.05], [0, 0, 3.0], [-0.5, -0.5, 1.0], [0, 0, -1.0], [5.0, 0, 1.0]])
    owner = np.array([0, 0, 1, 1, 1, 1])
    # in front of the surface, on it (within tolerance), behind it (occluded), on an invalid pixel,
    # behind the camera, outside the image
    np.testing.assert_array_equal(visible_counts(pts, owner, 2, depth, K, np.eye(4), tolerance=0.1), [2, 0])
    ok, rows, cols = visible_pixels(pts, depth, K, np.eye(4), tolerance=0.1)
    np.testing.assert_array_equal(ok, [True, True, False, False, False, False])
    np.testing.assert_array_equal(rows[:2], [5, 5])
    np.testing.assert_array_equal(cols[:2], [5, 5])


def test_union_add_matches_reference_and_voxelmap():
    rng = np.random.default_rng(3)
    a = np.unique(rng.integers(0, 40, 15))
    b = np.unique(rng.integers(0, 40, 15))
    va, vb = rng.random((len(a), 2)).astype(np.float32), rng.random((len(b), 2)).astype(np.float32)
    ka, vals = union_add(a, va, b, vb)
    kr, valr = union_add_reference(a, va, b, vb)
    np.testing.assert_array_equal(ka, kr)
    np.testing.assert_allclose(vals, valr, rtol=1e-6)
    m = VoxelMap(factor=2, min_support=0.5)
    keys = pack_keys(np.array([[0, 0, 0], [1, 1, 1], [2, 0, 0]]))
    m.update(keys, np.array([1.0, 2.0, 3.0]))
    m.update(keys[:1], np.array([5.0]), observed_elsewhere=keys[1:])  # voxels 1, 2 seen under another mask
    np.testing.assert_array_equal(m.hits, [2, 1, 1])
    np.testing.assert_array_equal(m.weight, [6, 2, 3])
    np.testing.assert_array_equal(m.misses, [0, 1, 1])
    assert m.active.all() and len(m.coarse) == 2
    m.update(observed_elsewhere=keys[2:])  # voxel 2 now contradicted twice: support 1/3 < 0.5
    np.testing.assert_array_equal(m.active, [True, True, False])
    np.testing.assert_array_equal(m.coarse, coarsen_keys(keys[:2], 2))


def test_weighted_overlap_matches_reference_and_hand_case():
    keys = [np.array([1, 2, 3]), np.array([2, 3, 4]), np.array([9])]
    weights = [np.array([1.0, 5.0, 2.0]), np.array([3.0, 1.0, 1.0]), np.array([4.0])]
    expected = np.array([[8, 4, 0], [4, 5, 0], [0, 0, 4]], float)  # min(5,3) + min(2,1) = 4
    np.testing.assert_array_equal(weighted_overlap(keys, weights), expected)
    rng = np.random.default_rng(5)
    keys = [np.unique(rng.integers(0, 30, rng.integers(1, 20))) for _ in range(5)]
    weights = [rng.random(len(k)) for k in keys]
    np.testing.assert_allclose(weighted_overlap(keys, weights), weighted_overlap_reference(keys, weights))


def test_contains():
    np.testing.assert_array_equal(contains(np.array([2, 5, 9]), np.array([1, 2, 9, 10])), [0, 1, 1, 0])
    assert not contains(np.zeros(0, np.int64), np.array([1])).any()


def test_coarsen_negative_coordinates_floor():
    keys = pack_keys(np.array([[-1, 0, 0], [-2, 0, 0], [-3, 0, 0]]))
    np.testing.assert_array_equal(coarsen_keys(keys, 2), pack_keys(np.array([[-2, 0, 0], [-1, 0, 0]])))


def test_bad_shapes():
    with pytest.raises(ValueError):
        visual_scores(np.zeros((2, 3)), [np.zeros((1, 4))])


@given(st.integers(0, 10_000))
@settings(max_examples=25, deadline=None)
def test_voxelmap_incremental_coarse_matches_full_recompute(seed):
    rng = np.random.default_rng(seed)
    m = VoxelMap(factor=2, min_support=0.5)
    for _ in range(6):
        keys = np.unique(pack_keys(rng.integers(-4, 4, (rng.integers(0, 12), 3))))
        seen = np.unique(pack_keys(rng.integers(-4, 4, (rng.integers(0, 20), 3))))
        m.update(keys, np.ones(len(keys)), seen)
        np.testing.assert_array_equal(m.coarse, coarsen_keys(m.keys[m.active], 2))


def test_merge_evidence_by_hand():
    keys, values = np.array([1, 3, 5]), np.array([[1, 2, 0], [2, 1, 1], [1, 1, 0]], np.float32)
    # voxel 3 is hit again, voxels 1 and 5 seen under another mask, voxel 4 new; voxel 3 is in `elsewhere` too, but
    # a hit is no miss
    out_keys, out_values, changed = merge_evidence(keys, values, np.array([3, 4]), [0.5, 3], [1, 3, 5], 0.5)
    np.testing.assert_array_equal(out_keys, [1, 3, 4, 5])
    np.testing.assert_array_equal(out_values, [[1, 2, 1], [3, 1.5, 1], [1, 3, 0], [1, 1, 1]])
    assert not changed  # 1/2 and 1/2 still reach 0.5
    _, _, changed = merge_evidence(keys, values, np.zeros(0, np.int64), [], [1], 0.6)
    assert changed  # voxel 1 falls to 1/2 < 0.6
    _, _, changed = merge_evidence(keys, np.array([[1, 1, 1]] * 3, np.float32), [1], [1], None, 0.6)
    assert changed  # voxel 1 rises from 1/2 to 2/3


@given(st.integers(0, 100_000), st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]))
@settings(max_examples=60, deadline=None)
def test_merge_evidence_matches_reference(seed, min_support):
    rng = np.random.default_rng(seed)
    map_keys = np.unique(rng.integers(-30, 30, rng.integers(0, 25)))
    values = np.stack(
        [rng.integers(0, 4, len(map_keys)), rng.random(len(map_keys)) * 3, rng.integers(0, 4, len(map_keys))], 1
    ).astype(np.float32)
    keys = np.unique(rng.integers(-30, 30, rng.integers(0, 15)))
    weight = (rng.random(len(keys)) * 2).astype(np.float32)
    elsewhere = np.unique(rng.integers(-30, 30, rng.integers(0, 20))) if rng.random() < 0.8 else None
    fast = merge_evidence(map_keys, values, keys, weight, elsewhere, min_support)
    ref = merge_evidence_reference(map_keys, values, keys, weight, elsewhere, min_support)
    np.testing.assert_array_equal(fast[0], ref[0])
    np.testing.assert_array_equal(fast[1], ref[1])
    assert fast[2] == ref[2]
