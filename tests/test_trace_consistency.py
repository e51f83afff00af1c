import numpy as np

from tracklift.trace.consistency import ConsistencyConfig, claim_matrix, refine_tracks
from tracklift.trace.table import TraceTable


def build(observations: list[tuple[int, int, list[int]]]) -> tuple[TraceTable, np.ndarray, np.ndarray]:
    """observations: (view, track, primitives) -> table with one segment per observation."""
    table = TraceTable()
    seg_track = []
    for view, track, prims in observations:
        table.append(view, prims, len(seg_track))
        seg_track.append(track)
    seg_track = np.array(seg_track)
    views = np.array([len({v for v, t, _ in observations if t == k}) for k in range(seg_track.max() + 1)])
    return table, seg_track, views


A, B = list(range(10)), list(range(10, 20))


def test_track_fusing_two_objects_is_split():
    obs = [(v, 0, A) for v in range(4)] + [(v, 1, B) for v in range(4)] + [(v, 2, A + B) for v in (4, 5)]
    r = refine_tracks(*build(obs))
    np.testing.assert_array_equal(r.track_map, [0, 1, -1])
    np.testing.assert_array_equal(r.primitive, np.arange(20))
    np.testing.assert_array_equal(r.owner, [0] * 10 + [1] * 10)
    np.testing.assert_allclose(r.consistency, [1, 1, 0])


def test_duplicate_and_part_tracks_merge_into_the_better_observed_one():
    obs = [(v, 0, A) for v in range(5)] + [(v, 1, A[:4]) for v in (5, 6)] + [(v, 2, B) for v in range(3)]
    r = refine_tracks(*build(obs))
    np.testing.assert_array_equal(r.track_map, [0, 0, 2])
    np.testing.assert_array_equal(r.owner, [0] * 10 + [2] * 10)


def test_neighbours_sharing_a_boundary_stay_apart_and_boundary_goes_to_the_best_supported():
    # voxel 9 is seen as A in 4 views and as B in 2 views: it stays with A
    obs = [(v, 0, A) for v in range(4)] + [(v, 1, B + ([9] if v < 2 else [])) for v in range(4)]
    r = refine_tracks(*build(obs))
    np.testing.assert_array_equal(r.track_map, [0, 1])
    assert r.owner[9] == 0 and r.share[9] == np.float32(4 / 6)
    np.testing.assert_allclose(r.consistency, [1.0, 10 / 11])


def test_claim_matrix_exact():
    obs = [(0, 0, [1, 2, 3]), (1, 1, [3, 4]), (2, 1, [3, 4]), (3, 0, [3]), (4, 0, [3])]
    table, seg_track, _ = build(obs)
    claims, carried, claimed_any = claim_matrix(table.aggregate(seg_track), 2, min_views=1, claim_ratio=0.5)
    # voxel 3: track 0 three views, track 1 two (>= 0.5 × 3) -> each claims the other's, counted in the views
    # of the track it is claimed from; track 0 carries 1 + 1 + 3 views, track 1 carries 2 + 2
    np.testing.assert_array_equal(claims, [[0, 3], [2, 0]])
    np.testing.assert_array_equal(carried, [5, 4])
    np.testing.assert_array_equal(claimed_any, [3, 2])
    strict = claim_matrix(table.aggregate(seg_track), 2, min_views=2, claim_ratio=0.5)[0]
    np.testing.assert_array_equal(strict, [[0, 3], [2, 0]])
    # track 1's two views no longer reach 0.75 × track 0's three: only track 0 claims (track 1's voxel 3, which
    # weighs track 1's two views)
    one_way = claim_matrix(table.aggregate(seg_track), 2, min_views=1, claim_ratio=0.75)[0]
    np.testing.assert_array_equal(one_way, [[0, 0], [2, 0]])


def test_a_fringe_grazed_once_per_voxel_does_not_merge_a_well_observed_track():
    # A small object (track 0, voxels 0-3) in 10 views stands on a table (track 1, voxels 4-23, 20 views). In 6
    # of its views its mask bleeds onto one more table voxel each. Counted in voxels the table would claim 6 of
    # the 10 voxels track 0 carries (>= merge_cover 0.6) and swallow it; counted in views it claims 6 of 46.
    small = [(v, 0, [0, 1, 2, 3] + ([4 + v] if v < 6 else [])) for v in range(10)]
    table_views = [(10 + v, 1, list(range(4, 24))) for v in range(20)]
    table, seg_track, views = build(small + table_views)
    claims, carried, _ = claim_matrix(table.aggregate(seg_track), 2, min_views=1, claim_ratio=0.5)
    np.testing.assert_array_equal(claims, [[0, 6], [0, 0]])
    np.testing.assert_array_equal(carried, [46, 400])
    r = refine_tracks(table, seg_track, views)
    np.testing.assert_array_equal(r.track_map, [0, 1])
    np.testing.assert_array_equal(r.owner, [0] * 4 + [1] * 20)


def test_config_thresholds_matter():
    obs = [(v, 0, A) for v in range(5)] + [(v, 1, A[:4]) for v in (5, 6)]
    r = refine_tracks(*build(obs), ConsistencyConfig(merge_cover=1.01))
    np.testing.assert_array_equal(r.track_map, [0, 1])


def test_background_competes_for_voxels_but_never_merges():
    table, seg_track, views = build([(v, 0, A) for v in range(3)] + [(v, 1, A[:5]) for v in (3, 4, 5, 6)])
    # relabel track 1 as background (index 1 == number of tracks)
    r = refine_tracks(table, seg_track, views[:1], ConsistencyConfig(background_weight=1.0))
    np.testing.assert_array_equal(r.track_map, [0])
    np.testing.assert_array_equal(r.owner, [1] * 5 + [0] * 5)
    np.testing.assert_allclose(r.consistency, [0.5])
    # At the default weight (a background view counts a quarter of a mask's view) 4 background views (1) lose
    # to 3 mask views: masks under-cover objects (eroded borders, missed detections) far more often than they
    # cover background.
    r = refine_tracks(table, seg_track, views[:1])
    np.testing.assert_array_equal(r.owner, [0] * 10)
    np.testing.assert_allclose(r.consistency, [1.0])
