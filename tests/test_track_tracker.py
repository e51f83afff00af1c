import numpy as np
import pytest

from tracklift.lift.lifter import Segment
from tracklift.lift.voxels import pack_keys
from tracklift.track.config import TrackerConfig
from tracklift.track.output import build_instances, instance_score
from tracklift.track.tracker import Tracker

VOXEL = 0.1
K = np.array([[50.0, 0, 50], [0, 50.0, 50], [0, 0, 1]])
DEPTH = np.full((101, 101), 50.0, np.float32)  # far wall: every voxel in the frustum is visible
LOOK_AWAY = np.diag([-1.0, 1.0, -1.0, 1.0])  # camera turned around: nothing in front


def block(x0: int, x1: int, y0: int = 0, y1: int = 4, z: int = 30, label: str | None = "chair") -> Segment:
    """A segment covering voxels [x0, x1) × [y0, y1) × {z} (world = camera frame at identity pose)."""
    g = np.stack(np.meshgrid(np.arange(x0, x1), np.arange(y0, y1), [z], indexing="ij"), -1).reshape(-1, 3)
    keys = np.sort(pack_keys(g))
    return Segment(keys, np.ones(len(keys), np.float32), 0, label, 0.9)


def feats(*vectors) -> np.ndarray:
    f = np.array(vectors, np.float32)
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def tracker(**kw) -> Tracker:
    return Tracker(TrackerConfig(**{"coarsen": 1, "merge_every": 0, **kw}), VOXEL)


def test_partial_views_join_one_track_and_distinct_objects_do_not():
    t = tracker(mode="spatial")
    a = t.step(0, DEPTH, K, np.eye(4), [block(0, 6), block(-12, -8)])
    b = t.step(1, DEPTH, K, np.eye(4), [block(0, 3), block(-12, -8)])  # a partial view of the first
    assert a == b and a[0] != a[1]
    assert t.tracks[a[0]].views == 2 and t.tracks[a[0]].visible_frames == 2


def test_track_out_of_view_is_dormant_then_reidentified():
    t = tracker(mode="fused")
    first = t.step(0, DEPTH, K, np.eye(4), [block(0, 6)], feats([1, 0]))[0]
    for k in (1, 2):
        t.step(k, DEPTH, K, LOOK_AWAY, [], None)
    assert t.tracks[first].visible_frames == 1  # not counted while out of view
    again = t.step(3, DEPTH, K, np.eye(4), [block(1, 6)], feats([0.9, 0.1]))[0]
    assert again == first and t.tracks[first].frames == [0, 3]


def test_fused_mode_rejects_a_lookalike_elsewhere_and_visual_mode_accepts_it():
    for mode, same in (("fused", False), ("visual", True)):
        t = tracker(mode=mode)
        a = t.step(0, DEPTH, K, np.eye(4), [block(0, 6)], feats([1, 0]))[0]
        b = t.step(1, DEPTH, K, np.eye(4), [block(20, 26)], feats([1, 0]))[0]
        assert (a == b) is same


def test_fused_mode_separates_overlapping_objects_by_features():
    t = tracker(mode="fused", spatial_weight=0.5, match_threshold=0.7)
    a = t.step(0, DEPTH, K, np.eye(4), [block(0, 6)], feats([1, 0]))[0]
    b = t.step(1, DEPTH, K, np.eye(4), [block(3, 9)], feats([0, 1]))[0]  # half overlap, other appearance
    c = t.step(2, DEPTH, K, np.eye(4), [block(0, 6)], feats([1, 0.1]))[0]
    assert a != b and c == a


def test_two_tracks_of_one_object_are_merged():
    t = tracker(mode="fused", merge_overlap=0.5, merge_feature=0.8)
    ids = t.step(0, DEPTH, K, np.eye(4), [block(0, 6), block(3, 9)], feats([1, 0], [1, 0.1]))
    assert ids[0] != ids[1] and len(t.tracks) == 2
    assert t.merge() == 1
    (track,) = t.tracks.values()
    assert len(track.voxels) == 9 * 4 and len(track.segments) == 2
    np.testing.assert_array_equal(t.segment_track, [-1, track.id, track.id])  # slot 0: background


def test_no_merge_when_features_disagree_unless_contained():
    t = tracker(mode="fused", merge_overlap=0.5, merge_feature=0.8, merge_containment=0.9)
    t.step(0, DEPTH, K, np.eye(4), [block(0, 6), block(3, 9)], feats([1, 0], [0, 1]))
    assert t.merge() == 0
    t2 = tracker(mode="fused", merge_overlap=0.5, merge_feature=0.8, merge_containment=0.9)
    t2.step(0, DEPTH, K, np.eye(4), [block(0, 9), block(3, 6)], feats([1, 0], [0, 1]))
    assert t2.merge() == 1


def test_output_drops_rare_tracks_and_scores():
    t = tracker(mode="spatial", min_views=2)
    for k in range(3):
        segs = [block(0, 6)] + ([block(-12, -8, label="lamp")] if k == 0 else [])
        t.step(k, DEPTH, K, np.eye(4), segs)
    (inst,) = build_instances(t)
    assert inst.views == 3 and inst.label_votes == {"chair": pytest.approx(2.7)}
    assert len(inst.points) == 24
    assert inst.score == pytest.approx(instance_score(3, 0.9, 1.0, 1.0))
    assert instance_score(3, 0.9, 1.0, 1.0) > instance_score(3, 0.9, 0.5, 1.0) > instance_score(1, 0.9, 0.5, 1.0)


def test_duplicate_instances_are_suppressed():
    t = tracker(mode="spatial", min_views=1, suppress_containment=0.8)
    t.step(0, DEPTH, K, np.eye(4), [block(0, 6), block(0, 5, z=31)])
    t.step(1, DEPTH, K, np.eye(4), [block(0, 6)])
    # the two tracks never overlap: both stay
    assert len(build_instances(t)) == 2
    t2 = tracker(mode="spatial", min_views=1, suppress_containment=0.8, merge_containment=2.0, merge_overlap=2.0)
    t2.step(0, DEPTH, K, np.eye(4), [block(0, 6), block(0, 5)])
    assert len(build_instances(t2)) == 1


def test_bad_inputs():
    with pytest.raises(ValueError, match="mode"):
        TrackerConfig(mode="magic")
    t = tracker(mode="fused")
    with pytest.raises(ValueError, match="features must be"):
        t.step(0, DEPTH, K, np.eye(4), [block(0, 6)], feats([1, 0], [0, 1]))
    with pytest.raises(ValueError, match="needs a feature extractor"):
        tracker(mode="visual").step(0, DEPTH, K, np.eye(4), [block(0, 6)])
    assert tracker().step(0, DEPTH, K, np.eye(4), []) == []


@pytest.mark.parametrize("min_support", [0.0, 0.4])
def test_background_evidence_cuts_bleeding_voxels(min_support):
    from tracklift.trace.consistency import ConsistencyConfig

    t = tracker(mode="spatial", min_views=1, min_support=min_support)
    bleed = block(6, 8)  # two columns of "floor" under the object, in the object's mask once
    # Five background views: at the default ConsistencyConfig.background_weight (0.25) they outweigh one mask view.
    for k in range(6):
        seg = block(0, 8) if k == 0 else block(0, 6)
        t.step(k, DEPTH, K, np.eye(4), [seg], background=(bleed.keys, bleed.weights) if k else None)
    (raw,) = build_instances(t)
    (refined,) = build_instances(t, ConsistencyConfig())
    # The map's misses (min_support > 0) already drop the bleeding voxels (1 hit, 5 misses); without them
    # only the tracing table's background votes in refinement do.
    assert len(raw.points) == (32 if min_support == 0 else 24)
    assert len(refined.points) == 24


def test_small_object_on_a_big_one_stays_separate_while_a_split_mask_merges():
    # 10 cm voxels, coarsen 2: a "book" (z 31) lying on a "table" top (z 30) shares the table's coarse
    # voxels, but the two are always distinct masks of one frame, so they stay two tracks.
    t = tracker(mode="spatial", coarsen=2, min_views=1)
    for k in range(4):
        ids = t.step(k, DEPTH, K, np.eye(4), [block(0, 12, 0, 12), block(4, 8, 4, 8, z=31, label="book")])
    assert t.merge() == 0 and len(build_instances(t)) == 2 and ids[0] != ids[1]
    # A mask split in two (frames 0, 2) whose pieces the other frames see whole is one object: merged.
    s = tracker(mode="spatial", coarsen=2, min_views=1)
    for k in range(4):
        whole = [block(0, 12, 0, 12)]
        s.step(k, DEPTH, K, np.eye(4), [block(0, 6, 0, 12), block(6, 12, 0, 12)] if k % 2 == 0 else whole)
    assert len(s.tracks) == 2 and s.merge() == 1 and len(s.tracks) == 1


def test_fine_containment_exact():
    from tracklift.track.tracker import fine_containment
    from tracklift.track.voxelmap import VoxelMap

    a, b = VoxelMap(2), VoxelMap(2)
    a.update(block(0, 4).keys)
    a.update(block(0, 2).keys)  # hits: 2 on 8 voxels, 1 on 8
    b.update(block(1, 3).keys)  # 8 voxels, 1 hit each; 4 shared with the twice-hit part, 4 with the rest
    assert fine_containment(a, b) == pytest.approx(8 / 8)
    c = VoxelMap(2)
    c.update(block(2, 6).keys)  # 16 voxels; shares 8 once-hit voxels with a (a's hits total 24)
    assert fine_containment(a, c) == pytest.approx(8 / 16)
    assert fine_containment(a, VoxelMap(2)) == 0.0


def test_image_overlap_matches_a_view_whose_depth_disagrees_with_the_map():
    # Frame 1 lifts the same object 5 voxels (0.5 m) to the side (a pose or depth error), so in 3D it shares
    # one column of 4 voxels with the track (ratio 1/6, below match_threshold). Its 2D mask still covers the
    # pixels where the track's voxels project (x 0.05..0.55 m at z 3.05 m -> columns 51..59, rows 51..56).
    mask = np.zeros((1, *DEPTH.shape), bool)
    mask[0, 50:57, 50:61] = True
    for image_overlap, same in ((True, True), (False, False)):
        t = tracker(mode="spatial", image_overlap=image_overlap)
        a = t.step(0, DEPTH, K, np.eye(4), [block(0, 6)], masks=mask)[0]
        b = t.step(1, DEPTH, K, np.eye(4), [block(5, 11)], masks=mask)[0]
        assert (a == b) is same


def test_masks_must_match_the_segments():
    t = tracker(mode="spatial")
    with pytest.raises(ValueError, match="masks must be"):
        t.step(0, DEPTH, K, np.eye(4), [block(0, 6)], masks=np.zeros((2, 5, 5), bool))


def noisy_stream(t: Tracker, frames: int = 24) -> None:
    """Three objects seen with jittered, sometimes bleeding or split masks, background around them, merges every
    few frames: enough for refinement to split, merge and re-assign."""
    rng = np.random.default_rng(0)
    for k in range(frames):
        segs = []
        for x0 in (0, 14, -14):
            lo, hi = x0 + int(rng.integers(-1, 2)), x0 + 6 + int(rng.integers(-1, 3))
            if rng.random() < 0.2:  # a mask split in two
                segs += [block(lo, lo + 3), block(lo + 3, hi)]
            else:
                segs.append(block(lo, hi))
        ring = block(-20, 24, 4, 6)
        t.step(k, DEPTH, K, np.eye(4), segs, background=(ring.keys, ring.weights))


def test_a_folded_table_gives_the_same_instances():
    from tracklift.trace.consistency import ConsistencyConfig
    from tracklift.track.output import background_points

    whole = tracker(mode="spatial", merge_every=4)
    noisy_stream(whole)
    small = tracker(mode="spatial", merge_every=4, trace_budget=300)  # ~250 entries per frame: folds often
    noisy_stream(small)
    assert not whole.table.folded and small.table.folded and len(small.table) < len(whole.table) / 4
    for refine in (None, ConsistencyConfig()):
        a, b = build_instances(whole, refine), build_instances(small, refine)
        assert [(i.id, i.score, i.frames) for i in a] == [(i.id, i.score, i.frames) for i in b]
        for i, j in zip(a, b):
            np.testing.assert_array_equal(i.points, j.points)
    np.testing.assert_array_equal(background_points(whole), background_points(small))


def test_fold_budget_adapts_to_a_map_larger_than_the_budget():
    t = tracker(mode="spatial", trace_budget=10)  # every fold still leaves more than 10 (voxel, track) rows
    sizes = []
    fold = t.table.fold
    t.table.fold = lambda label_map: (fold(label_map), sizes.append(len(t.table)))
    noisy_stream(t, frames=12)
    # after a fold the next waits for twice the folded size, so such a map is not folded every frame
    assert 1 < len(sizes) < 12 and t._fold_at == 2 * sizes[-1]
