"""The rgbd segmenter's numba kernels against their numpy references: normals, renormalisation, plane inliers,
plane search, the pixel graph and whole frames (`RGBDConfig(fast=...)`)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_segment2d_rgbd import BOXES, look_at, render, top_down_frame
from tracklift.data.frame import Frame
from tracklift.segment2d.crease import crease_weights, edge_weight, lab_colors
from tracklift.segment2d.normals import depth_normals, depth_normals_fast, depth_to_points, smooth_normals
from tracklift.segment2d.planes import PlaneConfig, find_planes, plane_inliers, plane_inliers_fast
from tracklift.segment2d.rgbd import RGBDConfig, pixel_graph, segment_rgbd, smooth_depth

K = np.array([[40.0, 0, 15.5], [0, 40.0, 11.5], [0, 0, 1]])


def oblique(h=60, w=80, holes=True):
    frame, _ = render(h, w, BOXES, look_at((0.3, -2.2, 1.4), (0, 0.3, 0.2)), wall_y=1.5)
    if holes:
        frame.depth[5:9, 10:14] = 0
        frame.depth[-3:, :4] = 0
    return frame


def noisy_depth(seed: int, h=24, w=32) -> np.ndarray:
    """A slanted plane with steps, noise and holes: [H, W] float32 metres."""
    rng = np.random.default_rng(seed)
    depth = 1.0 + np.linspace(0, 0.5, w)[None, :] + np.linspace(0, 0.3, h)[:, None]
    depth[:, w // 2 :] += rng.choice([0.0, 0.04, 0.3])
    depth += rng.normal(0, 0.004, (h, w))
    depth[rng.random((h, w)) < 0.05] = 0
    return depth.astype(np.float32)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), step=st.integers(1, 4), jump=st.sampled_from([0.02, 0.1, 0.3]))
def test_fast_normals_equal_numpy_normals_bit_for_bit(seed, step, jump):
    depth = noisy_depth(seed)
    fast_n, fast_ok = depth_normals_fast(depth, K, step, jump)
    ref_n, ref_ok = depth_normals(depth, K, step, jump)
    np.testing.assert_array_equal(fast_ok, ref_ok)
    np.testing.assert_array_equal(fast_n, ref_n)


def test_fast_normals_on_a_rendered_room_and_bad_arguments():
    frame = oblique()
    fast_n, fast_ok = depth_normals_fast(frame.depth, frame.K, 3, 0.15)
    ref_n, ref_ok = depth_normals(frame.depth, frame.K, 3, 0.15)
    assert fast_ok.sum() > 0.8 * fast_ok.size and not fast_ok[5:9, 10:14].any()
    np.testing.assert_array_equal(fast_ok, ref_ok)
    np.testing.assert_array_equal(fast_n, ref_n)
    with pytest.raises(ValueError, match="step must be >= 1"):
        depth_normals_fast(frame.depth, frame.K, 0)
    with pytest.raises(ValueError, match="depth must be"):
        depth_normals_fast(frame.depth[..., None], frame.K)


@pytest.mark.parametrize("size", [1, 3, 5])
def test_fast_renormalisation_equals_numpy(size):
    frame = oblique()
    normals, valid = depth_normals(frame.depth, frame.K, 2, 0.1)
    fast = smooth_normals(normals, valid, size, fast=True)
    np.testing.assert_array_equal(fast, smooth_normals(normals, valid, size, fast=False))
    norms = np.linalg.norm(fast[valid], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    assert not fast[~valid].any()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), per_point=st.booleans(), angle=st.floats(1.0, 89.0))
def test_fast_plane_inliers_equal_numpy_away_from_the_tolerances(seed, per_point, angle):
    rng = np.random.default_rng(seed)
    points = rng.normal(0, 1, (300, 3)).astype(np.float32)
    normals = rng.normal(0, 1, (300, 3)).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    planes = rng.normal(0, 1, (7, 4))
    planes[:, :3] /= np.linalg.norm(planes[:, :3], axis=1, keepdims=True)
    tol = (rng.random((300, 1)) * 0.5).astype(np.float32) if per_point else 0.3
    fast = plane_inliers_fast(points, normals, planes, tol, angle)
    ref = plane_inliers(points, normals, planes, tol, angle)
    assert fast.shape == ref.shape == (300, 7) and fast.dtype == bool
    p = planes.astype(np.float32)
    dist = np.abs(points @ p[:, :3].T + p[:, 3])
    dot = np.abs(normals @ p[:, :3].T)
    # Sums of three products may round differently (BLAS vs a loop): only entries an ulp from a bound may differ.
    borderline = np.isclose(dist, np.broadcast_to(tol, dist.shape), rtol=1e-5, atol=1e-6)
    borderline |= np.isclose(dot, np.cos(np.radians(angle)), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(fast[~borderline], ref[~borderline])


def test_plane_inliers_hand_computed():
    points = np.array([[0, 0, 1.0], [0, 0, 1.05], [0, 0, 1.0]], np.float32)
    normals = np.array([[0, 0, 1.0], [0, 0, 1.0], [1.0, 0, 0]], np.float32)
    plane = np.array([[0, 0, 1.0, -1.0]])  # z = 1
    expected = [[True], [False], [False]]  # on it; 5 cm off; on it but the normal is 90° off
    np.testing.assert_array_equal(plane_inliers_fast(points, normals, plane, 0.02, 20.0), expected)
    np.testing.assert_array_equal(plane_inliers(points, normals, plane, 0.02, 20.0), expected)


@pytest.mark.parametrize("seed", [0, 3])
def test_fast_find_planes_equals_numpy(seed):
    frame = oblique(90, 120)
    points = depth_to_points(frame.depth, frame.K)
    normals, valid = depth_normals(frame.depth, frame.K, 2, 0.1)
    fast_ids, fast_planes = find_planes(points, normals, valid, PlaneConfig(), seed, fast=True)
    ref_ids, ref_planes = find_planes(points, normals, valid, PlaneConfig(), seed, fast=False)
    assert len(fast_planes) == 2  # floor and wall
    np.testing.assert_array_equal(fast_ids, ref_ids)
    np.testing.assert_allclose(fast_planes, ref_planes, atol=1e-9)


def graph_inputs(frame: Frame):
    depth = smooth_depth(frame.depth, 5, 0.02)
    normals, valid = depth_normals(depth, frame.K, 2, 0.15)
    return frame.color, depth, depth_to_points(depth, frame.K), smooth_normals(normals, valid, 3), valid


@pytest.mark.parametrize("make", [oblique, top_down_frame])
def test_fast_pixel_graph_equals_numpy(make):
    frame = make()
    frame.color[::3] = np.random.default_rng(0).integers(0, 256, frame.color[::3].shape, dtype=np.uint8)
    color, depth, points, normals, valid = graph_inputs(frame)
    nodes = valid.copy()
    nodes[:, :7] = False  # pixels outside the graph (planes taken out) must drop their edges
    cfg = RGBDConfig(color_weight=0.5)  # colour matters, so the Lab term is checked too
    fast = pixel_graph(color, depth, points, normals, nodes, cfg, fast=True)
    ref = pixel_graph(color, depth, points, normals, nodes, cfg, fast=False)
    assert len(fast[0]) > 0 and (fast[2] > 0).any() and (fast[2] == 0).any()
    for a, b in zip(fast, ref):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), convex=st.floats(0.0, 2.0), color=st.floats(0.0, 1.0))
def test_edge_weight_equals_crease_weights(seed, convex, color):
    rng = np.random.default_rng(seed)
    n = 12
    points = rng.normal(0, 1, (n, 3)).astype(np.float32)
    normals = rng.normal(0, 1, (n, 3)).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    lab = lab_colors(rng.integers(0, 256, (n, 3), dtype=np.uint8))
    src, dst = rng.integers(0, n, 30), rng.integers(0, n, 30)
    scale = (rng.random(30) + 0.5).astype(np.float32)
    params = (10.0, 1.0, convex, color, 0.01)
    ref = crease_weights(points, normals, lab, src, dst, scale, *params)
    f32 = [np.float32(x) for x in params]
    fast = [edge_weight(points, normals, lab, a, b, s, *f32) for a, b, s in zip(src, dst, scale)]
    np.testing.assert_array_equal(np.array(fast, np.float32), ref)


@pytest.mark.parametrize("planes", ["remove", "segment", "keep"])
def test_fast_frame_segmentation_equals_the_references(planes):
    frame = oblique(90, 120)
    fast = segment_rgbd(frame, RGBDConfig(planes=planes, fast=True))
    ref = segment_rgbd(frame, RGBDConfig(planes=planes, fast=False))
    assert len(fast) >= len(BOXES)
    np.testing.assert_array_equal(fast.masks, ref.masks)
    np.testing.assert_array_equal(fast.scores, ref.scores)
