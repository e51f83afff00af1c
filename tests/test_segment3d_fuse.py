"""Fusing RGB-D frames into one voxel map: per-key sums against a plain reference, hand-computed frames."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.data.frame import Frame
from tracklift.lift.voxels import voxel_keys
from tracklift.segment3d.fuse import (
    FuseConfig,
    estimate_up,
    frame_voxels,
    fuse_stream,
    sum_by_key,
    sum_by_key_reference,
)

K = np.array([[50.0, 0, 15.5], [0, 50.0, 11.5], [0, 0, 1]])


def wall_frame(index=0, depth=2.0, color=(10, 20, 30), pose=None, shape=(24, 32)) -> Frame:
    """A camera facing a flat wall `depth` metres away (constant depth, one colour)."""
    h, w = shape
    return Frame(
        np.full((h, w, 3), color, np.uint8),
        np.full((h, w), depth, np.float32),
        K,
        np.eye(4) if pose is None else pose,
        str(index),
        index,
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 5), st.floats(-10, 10), st.floats(-10, 10)), max_size=60))
def test_sum_by_key_matches_reference(rows):
    keys = np.array([r[0] for r in rows], np.int64)
    values = np.array([r[1:] for r in rows], np.float64).reshape(-1, 2)
    fast, ref = sum_by_key(keys, values), sum_by_key_reference(keys, values)
    np.testing.assert_array_equal(fast[0], ref[0])
    np.testing.assert_allclose(fast[1], ref[1], atol=1e-9)


def test_frame_voxels_counts_every_reliable_pixel_once():
    frame = wall_frame()
    cfg = FuseConfig(voxel=0.05, stride=1)
    keys, sums = frame_voxels(frame, cfg)
    # Constant depth: no depth edges, every pixel is reliable.
    assert sums[:, 0].sum() == 24 * 32
    np.testing.assert_allclose(sums[:, 1:4] / sums[:, :1], np.tile([10, 20, 30], (len(keys), 1)))
    np.testing.assert_array_equal(sums[:, 7], 1)
    # View directions point back at the camera (the origin): -z for a wall straight ahead.
    view = sums[:, 4:7] / sums[:, :1]
    assert np.all(view[:, 2] < -0.9)
    v, u = np.mgrid[0:24, 0:32]
    pts = np.stack([(u - 15.5) / 50 * 2, (v - 11.5) / 50 * 2, np.full(u.shape, 2.0)], -1).reshape(-1, 3)
    np.testing.assert_array_equal(keys, np.unique(voxel_keys(pts, 0.05)))


def test_fuse_drops_voxels_seen_once_and_averages_colour():
    a = wall_frame(0, color=(0, 0, 0))
    b = wall_frame(1, color=(100, 50, 200))
    # A third frame sees a different wall, once: all of its voxels are dropped with min_frames = 2.
    c = wall_frame(2, depth=3.0)
    vmap = fuse_stream([a, b, c], FuseConfig(voxel=0.05, stride=1, min_frames=2), progress=False)
    keys, _ = frame_voxels(a, FuseConfig(voxel=0.05, stride=1))
    np.testing.assert_array_equal(vmap.keys, keys)
    np.testing.assert_array_equal(vmap.frames, 2)
    np.testing.assert_array_equal(vmap.colors, np.tile([50, 25, 100], (len(keys), 1)))
    assert [v.index for v in vmap.views] == [0, 1, 2]
    again = fuse_stream([a, b, c], FuseConfig(voxel=0.05, stride=1, min_frames=2, reduce_every=1), progress=False)
    np.testing.assert_array_equal(again.keys, vmap.keys)
    np.testing.assert_array_equal(again.colors, vmap.colors)


def test_estimate_up_averages_the_cameras_up_axes():
    # OpenCV camera looking along world +x with its y axis pointing down (world -z): up is +z.
    pose = np.eye(4)
    pose[:3, :3] = np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], float)
    np.testing.assert_allclose(estimate_up([pose, pose]), [0, 0, 1])
    np.testing.assert_allclose(estimate_up([]), [0, 0, 1])


def test_fuse_config_rejects_bad_values():
    with pytest.raises(ValueError, match="min_depth"):
        FuseConfig(min_depth=5.0, max_depth=4.0)
    with pytest.raises(ValueError, match="FuseConfig"):
        FuseConfig(voxel=0)


def test_frames_without_valid_depth_fuse_to_an_empty_map():
    vmap = fuse_stream([wall_frame(0, depth=0.0), wall_frame(1, depth=0.0)], FuseConfig(voxel=0.05), progress=False)
    assert len(vmap) == 0 and vmap.points.shape == (0, 3) and len(vmap.views) == 2
