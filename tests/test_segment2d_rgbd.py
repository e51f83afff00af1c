"""The weight-free RGB-D segmenter: normals, planes, whole frames (with the fast and the reference FH kernel)."""

import numpy as np
import pytest

from tracklift.core.felzenszwalb import felzenszwalb_reference
from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.segment2d.normals import depth_normals, depth_normals_reference, depth_to_points
from tracklift.segment2d.planes import PlaneConfig, find_planes
from tracklift.segment2d.protocol import Segmenter
from tracklift.segment2d.rgbd import RGBDConfig, RGBDSegmenter, pixel_graph, segment_rgbd

FLOOR, WALL = 0, -2
BOXES = [  # (min corner, max corner, RGB), world metres, z up, floor at z = 0
    ((-0.9, -0.3, 0.0), (-0.3, 0.3, 0.5), (200, 40, 40)),
    ((0.2, -0.2, 0.0), (0.7, 0.4, 0.3), (40, 60, 200)),
    ((0.25, 0.6, 0.0), (0.55, 0.9, 0.9), (50, 160, 50)),
]


def look_at(eye, target):
    """Camera-to-world pose [4, 4] (OpenCV axes) at `eye` looking at `target`, world z up."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([right, np.cross(forward, right), forward], axis=1)
    pose[:3, 3] = eye
    return pose


def render(h, w, boxes, pose, wall_y=None):
    """Ray-cast a floor (z = 0), an optional wall (y = wall_y) and axis-aligned boxes.

    Returns a Frame and ids [H, W] int: FLOOR, WALL, or i + 1 for box i.
    """
    f = 0.82 * w
    K = np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1.0]])
    u, v = np.meshgrid(np.arange(w), np.arange(h))
    rays = np.stack([(u - K[0, 2]) / f, (v - K[1, 2]) / f, np.ones((h, w))], -1) @ pose[:3, :3].T
    origin = pose[:3, 3]
    # Rays have unit camera z, so the hit parameter t is the z-depth.
    depth, ids = np.full((h, w), np.inf), np.full((h, w), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        hits = [(np.where(rays[..., 2] < 0, -origin[2] / rays[..., 2], np.inf), FLOOR)]
        if wall_y is not None:
            hits.append((np.where(rays[..., 1] > 0, (wall_y - origin[1]) / rays[..., 1], np.inf), WALL))
        for i, (lo, hi, _) in enumerate(boxes):
            t1, t2 = (np.asarray(lo) - origin) / rays, (np.asarray(hi) - origin) / rays
            near, far = np.nanmax(np.minimum(t1, t2), -1), np.nanmin(np.maximum(t1, t2), -1)
            hits.append((np.where((near <= far) & (near > 0), near, np.inf), i + 1))
    for t, label in hits:
        closer = t < depth
        depth[closer], ids[closer] = t[closer], label
    color = np.zeros((h, w, 3), np.uint8)
    color[ids == FLOOR], color[ids == WALL] = (120, 120, 110), (200, 190, 180)
    for i, (_, _, rgb) in enumerate(boxes):
        color[ids == i + 1] = rgb
    depth = np.where(np.isfinite(depth), depth, 0).astype(np.float32)
    return Frame(color, depth, K, pose, "0", 0), ids


def top_down_frame():
    """64×48 view straight down at a floor 2 m away with boxes 0.4 and 0.3 m tall: their tops are rectangles."""
    depth = np.full((48, 64), 2.0, np.float32)
    depth[10:20, 8:22] = 1.6
    depth[26:38, 36:52] = 1.7
    color = np.full((48, 64, 3), 100, np.uint8)
    K = np.array([[60.0, 0, 31.5], [0, 60.0, 23.5], [0, 0, 1]])
    pose = np.diag([1.0, -1.0, -1.0, 1.0])  # looking down, world z up
    pose[2, 3] = 2.0
    return Frame(color, depth, K, pose, "top", 0)


def rect(y0, y1, x0, x1, shape=(48, 64)):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def test_rgbd_segmenter_is_a_segmenter():
    assert isinstance(RGBDSegmenter(), Segmenter)


def test_two_boxes_on_a_plane_give_exactly_the_boxes():
    result = RGBDSegmenter()(top_down_frame())
    assert isinstance(result, FrameMasks)
    assert result.shape == (48, 64) and result.labels == [None, None]
    expected = [rect(26, 38, 36, 52), rect(10, 20, 8, 22)]  # largest first
    np.testing.assert_array_equal(result.masks, np.stack(expected))
    assert np.all((result.scores > 0) & (result.scores <= 1))


def test_plane_mode_segment_keeps_the_floor_as_its_own_segment():
    result = RGBDSegmenter(RGBDConfig(planes="segment"))(top_down_frame())
    boxes = rect(26, 38, 36, 52) | rect(10, 20, 8, 22)
    np.testing.assert_array_equal(result.masks[0], ~boxes)
    np.testing.assert_array_equal(result.masks[1:], np.stack([rect(26, 38, 36, 52), rect(10, 20, 8, 22)]))


def test_oblique_view_finds_each_box_and_drops_floor_and_wall():
    frame, ids = render(120, 160, BOXES, look_at((0.3, -2.2, 1.4), (0, 0.3, 0.2)), wall_y=1.5)
    result = segment_rgbd(frame)
    for i in range(1, len(BOXES) + 1):
        truth = ids == i
        ious = (result.masks & truth).sum((1, 2)) / (result.masks | truth).sum((1, 2))
        assert ious.max() > 0.85, f"box {i}: best IoU {ious.max():.2f}"
    on_support = np.isin(ids, [FLOOR, WALL])
    # Only slivers of the removed planes (their outermost pixels) may survive as segments.
    assert (result.masks & on_support).sum() < 0.02 * on_support.sum()


def test_segmenter_is_deterministic_and_masks_are_disjoint():
    frame, _ = render(60, 80, BOXES, look_at((0.3, -2.2, 1.4), (0, 0.3, 0.2)), wall_y=1.5)
    a, b = segment_rgbd(frame), segment_rgbd(frame)
    np.testing.assert_array_equal(a.masks, b.masks)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.masks.sum(0).max() <= 1


def test_reference_kernel_gives_the_same_frame_segmentation():
    frame, _ = render(30, 40, BOXES, look_at((0.3, -2.2, 1.4), (0, 0.3, 0.2)), wall_y=1.5)
    cfg = RGBDConfig(planes="keep", min_area=0.01)
    fast, slow = segment_rgbd(frame, cfg), segment_rgbd(frame, cfg, kernel=felzenszwalb_reference)
    assert len(fast) > 1
    np.testing.assert_array_equal(fast.masks, slow.masks)


def test_invalid_depth_gives_no_masks():
    frame = top_down_frame()
    empty = Frame(frame.color, np.zeros_like(frame.depth), frame.K, frame.pose, "empty", 0)
    result = RGBDSegmenter()(empty)
    assert len(result) == 0 and result.shape == (48, 64)


def test_config_rejects_unknown_plane_mode():
    with pytest.raises(ValueError, match="planes must be one of"):
        RGBDConfig(planes="floor")


def test_pixel_graph_weights_are_sorted_and_cut_depth_steps():
    frame = top_down_frame()
    normals, valid = depth_normals(frame.depth, frame.K, 2, 0.1)
    src, dst, weight = pixel_graph(
        frame.color, frame.depth, depth_to_points(frame.depth, frame.K), normals, valid, RGBDConfig()
    )
    assert np.all(np.diff(weight) >= 0)
    z = frame.depth.ravel()
    assert np.all(z[src] == z[dst])  # the 0.4 m steps are cut, flat neighbours are not


# --- normals and planes ---


def test_normals_match_reference_with_steps_and_holes():
    frame, _ = render(20, 26, BOXES, look_at((0.3, -2.2, 1.4), (0, 0.3, 0.2)), wall_y=1.5)
    depth = frame.depth.copy()
    depth[5:8, 10:12] = 0
    fast_n, fast_ok = depth_normals(depth, frame.K, 2, 0.1)
    slow_n, slow_ok = depth_normals_reference(depth, frame.K, 2, 0.1)
    np.testing.assert_array_equal(fast_ok, slow_ok)
    np.testing.assert_allclose(fast_n, slow_n, atol=1e-5)
    assert not fast_ok[5:8, 10:12].any()


def test_floor_normals_point_up_and_towards_the_camera():
    frame = top_down_frame()
    normals, valid = depth_normals(frame.depth, frame.K, 2, 0.1)
    assert valid.all()
    np.testing.assert_allclose(normals[valid] @ frame.pose[:3, :3].T, np.tile([0, 0, 1.0], (valid.sum(), 1)), atol=1e-6)


def test_find_planes_recovers_floor_and_wall():
    frame, ids = render(60, 80, [], look_at((0.3, -2.2, 1.4), (0, 0.3, 0.2)), wall_y=1.5)
    points = depth_to_points(frame.depth, frame.K)
    normals, valid = depth_normals(frame.depth, frame.K, 2, 0.1)
    plane_ids, planes = find_planes(points, normals, valid, PlaneConfig(), seed=3)
    assert planes.shape == (2, 4)
    world_normals = np.abs(planes[:, :3] @ frame.pose[:3, :3].T)
    assert sorted(np.argmax(world_normals, axis=1).tolist()) == [1, 2]  # wall (y) and floor (z)
    for label in (FLOOR, WALL):
        pieces, counts = np.unique(plane_ids[(ids == label) & valid], return_counts=True)
        assert counts.max() > 0.98 * counts.sum() and pieces[np.argmax(counts)] >= 0
