"""Weight-free 3D segmentation on hand-built fused maps: a floor with boxes standing on it."""

import numpy as np
import pytest

from tracklift.core.felzenszwalb import felzenszwalb, felzenszwalb_reference
from tracklift.segment3d.proposals import ProposalConfig, propose
from tracklift.segment3d.score import ScoreConfig, extents, furniture_score
from tracklift.segment3d.segment import Geo3DConfig, geo3d_config, oriented_normals, segment_map, voxel_nms
from tracklift.segment3d.structure import find_structure

from .segment3d_world import VOXEL, corner_box, world

APART = [((-1.0, -0.8, 0.0), (-0.4, -0.2, 0.8)), ((0.3, 0.2, 0.0), (1.1, 0.8, 0.5))]
TOUCHING = [((-0.6, -0.3, 0.0), (0.0, 0.3, 0.7)), ((0.0, -0.3, 0.0), (0.6, 0.3, 0.7))]
RED, BLUE = (200, 40, 40), (40, 40, 200)


def expected_box(lo, hi, grow=Geo3DConfig().structure.grow_distance):
    """The voxel-padded box of a box's surface once the floor (and what lies within `grow` of it) is gone."""
    return np.r_[np.floor(np.asarray(lo) / VOXEL) * VOXEL, np.floor(np.asarray(hi) / VOXEL) * VOXEL + VOXEL]


def test_floor_is_structural_and_boxes_are_not():
    vmap, owner = world(APART)
    normals = oriented_normals(vmap.points, vmap.view, 16)
    room = find_structure(vmap.points, normals, vmap.view, vmap.up, VOXEL)
    assert len(room.planes) == 1
    np.testing.assert_allclose(room.up, [0, 0, 1], atol=1e-3)
    assert room.floor_height == pytest.approx(VOXEL / 2, abs=1e-3)
    assert room.structural[owner < 0].all()
    # Box voxels more than grow_distance above the floor all survive.
    high = (owner >= 0) & (vmap.points[:, 2] > 0.1)
    assert not room.structural[high].any()


def test_a_raised_table_top_is_not_structural():
    # A 1.4 m × 1.4 m slab at 0.7 m: large and horizontal, but the floor lies behind (below) it.
    vmap, owner = world([((-0.7, -0.7, 0.66), (0.7, 0.7, 0.7))])
    normals = oriented_normals(vmap.points, vmap.view, 16)
    room = find_structure(vmap.points, normals, vmap.view, vmap.up, VOXEL)
    assert not room.structural[(owner == 0) & (vmap.points[:, 2] > 0.6)].any()


def test_two_boxes_apart_give_two_instances_with_their_boxes_ranked_first():
    vmap, _ = world(APART)
    result = segment_map(vmap)
    # The finest scale also proposes single faces of the ideal boxes (convex creases are weak, not absent);
    # they survive NMS as parts but rank far below the whole boxes.
    assert all(i.score < 0.3 for i in result.instances[2:])
    boxes = sorted(corner_box(i.points).tolist() for i in result.instances[:2])
    for got, (lo, hi) in zip(boxes, APART):
        want = expected_box(lo, hi)
        np.testing.assert_allclose(got[:2] + got[3:], np.r_[want[:2], want[3:]], atol=1e-5)
        assert 0 < got[2] <= Geo3DConfig().structure.grow_distance + VOXEL  # the floor contact went with the floor
    assert all(i.score > 0.9 for i in result.instances[:2])
    taken = np.unique(np.concatenate([i.points for i in result.instances]), axis=0)
    assert len(result.background) == len(vmap) - len(taken)


STEP = [((-0.6, -0.3, 0.0), (0.0, 0.3, 0.9)), ((0.0, -0.2, 0.0), (0.6, 0.2, 0.45))]


def best_iou(instances, points: np.ndarray) -> float:
    """Best voxel IoU of any instance with `points` ([M, 3] voxel centres)."""
    truth = {tuple(p) for p in np.floor(points / VOXEL).astype(int).tolist()}
    best = 0.0
    for inst in instances:
        mine = {tuple(p) for p in np.floor(inst.points / VOXEL).astype(int).tolist()}
        best = max(best, len(mine & truth) / len(mine | truth))
    return best


@pytest.mark.parametrize("boxes", [TOUCHING, STEP], ids=["flush", "step"])
def test_touching_boxes_of_different_colour_are_split(boxes):
    vmap, owner = world(boxes, [RED, BLUE])
    result = segment_map(vmap)
    # The contact slab (|x| < one voxel) is hidden in a real scan and owned by either box here: leave it out
    # of both sides of the comparison, like the floor contact.
    outside = np.abs(vmap.points[:, 0]) > VOXEL
    for inst in result.instances:
        inst.points = inst.points[np.abs(inst.points[:, 0]) > VOXEL]
    for k in range(2):
        assert best_iou(result.instances, vmap.points[(owner == k) & outside & (vmap.points[:, 2] > 0.1)]) >= 0.9


def test_segmentation_is_deterministic():
    vmap, _ = world(STEP, [RED, BLUE])
    a, b = segment_map(vmap), segment_map(vmap)
    assert [i.score for i in a.instances] == [i.score for i in b.instances]
    for x, y in zip(a.instances, b.instances):
        np.testing.assert_array_equal(x.points, y.points)


def test_proposals_match_with_the_reference_kernel():
    vmap, _ = world(STEP, [RED, BLUE])
    normals = oriented_normals(vmap.points, vmap.view, 16)
    cfg = ProposalConfig(scales=tuple(k * VOXEL**2 for k in (1.0, 3.0, 10.0)))
    fast = propose(vmap.points, vmap.colors, normals, VOXEL, cfg, felzenszwalb)
    slow = propose(vmap.points, vmap.colors, normals, VOXEL, cfg, felzenszwalb_reference)
    assert len(fast) == len(slow) > 3
    for x, y in zip(fast, slow):
        np.testing.assert_array_equal(x, y)


def test_voxel_nms_keeps_parts_of_a_union_and_drops_near_duplicates():
    union, left, right = np.arange(0, 100), np.arange(0, 50), np.arange(50, 100)
    near_left = np.arange(0, 45)
    scores = np.array([0.9, 0.8, 0.7, 0.75])
    # Each half has IoU 0.5 with the union (kept: not above 0.5); near_left has IoU 0.9 with left, which
    # scores higher: dropped.
    assert voxel_nms([union, left, right, near_left], scores, 0.5) == [0, 1, 2]
    assert voxel_nms([], np.zeros(0), 0.5) == []


def test_extents_and_score_on_a_hand_computed_box():
    # The eight corners of a 1.0 × 0.5 × 0.8 m box standing on the floor, rotated 30° about up.
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    corners = np.array([(x, y, z) for x in (0, 1.0) for y in (0, 0.5) for z in (0, 0.8)])
    points = corners @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T
    height, long_side, short_side, bottom = extents(points, np.array([0.0, 0, 1]))
    assert (height, long_side, short_side, bottom) == pytest.approx((0.8, 1.0, 0.5, 0.0))
    up = np.array([0.0, 0, 1])
    # Eight voxels of 3 cm: 72 cm² of surface against mass_area 0.27 m², i.e. 1 − exp(−8 / 300).
    assert furniture_score(points, up, 0.0, 0.03) == pytest.approx(1 - np.exp(-8 / 300))
    # Hung 1 m above the floor: the unsupported factor; a 3 m long sliver: the size bands.
    cfg = ScoreConfig()
    hung = furniture_score(points + [0, 0, 1.0], up, 0.0, 0.03)
    assert hung == pytest.approx(cfg.unsupported * (1 - np.exp(-8 / 300)))
    long = corners * [3.0, 0.1, 1.0]
    expected = np.exp(-(3.0 - 2.2) / cfg.soft) * np.exp(-(0.2 - 0.05) / cfg.soft) * (1 - np.exp(-8 / 300))
    assert furniture_score(long, up, 0.0, 0.03) == pytest.approx(expected)


def test_geo3d_config_from_options():
    cfg = geo3d_config("distance=0.04,min_score=0.1,min_area=0.02", voxel=0.02, stride=3)
    assert (cfg.structure.distance, cfg.min_score, cfg.proposals.min_area) == (0.04, 0.1, 0.02)
    assert (cfg.fuse.voxel, cfg.fuse.stride) == (0.02, 3)
    assert geo3d_config() == Geo3DConfig()
    with pytest.raises(ValueError, match="unknown option"):
        geo3d_config("bogus=1")
    with pytest.raises(ValueError, match="option 'distance' is not key=value"):
        geo3d_config("distance")
    with pytest.raises(ValueError, match="option normal_knn must be int, got '2.5'"):
        geo3d_config("normal_knn=2.5")
    with pytest.raises(ValueError, match="option 'distance' given twice"):
        geo3d_config("distance=0.04,distance=0.05")
    with pytest.raises(ValueError, match="geo3d segmenter: ProposalConfig.min_area must be ≥ 0.0, got -1.0"):
        geo3d_config("min_area=-1")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['bogus'\] \(options: angle_deg, behind, "):
        geo3d_config("bogus=1,distance=0.04")


def test_empty_map_gives_no_instances():
    vmap, _ = world([])
    empty = type(vmap)(
        vmap.keys[:0], vmap.points[:0], vmap.colors[:0], vmap.view[:0], vmap.frames[:0], vmap.up, [], VOXEL
    )
    assert segment_map(empty).instances == []
    assert segment_map(vmap).instances == []  # a bare floor holds no object
