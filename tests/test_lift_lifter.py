import numpy as np
import pytest

from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.lift.lifter import LiftConfig, lift_masks, segment_centres
from tracklift.lift.projection import pixels_to_world
from tracklift.lift.voxels import voxel_keys

H, W = 12, 16
K = np.array([[100.0, 0, 7.5], [0, 100.0, 5.5], [0, 0, 1]])  # 1 cm pixels at 1 m


def frame(depth: np.ndarray, pose: np.ndarray | None = None) -> Frame:
    return Frame(
        np.zeros((H, W, 3), np.uint8), depth.astype(np.float32), K, np.eye(4) if pose is None else pose, "0", 0
    )


def config(**kw) -> LiftConfig:
    base = dict(voxel=0.02, stride=1, erode_px=0, min_voxels=1)
    return LiftConfig(**{**base, **kw})


def test_flat_wall_exact_voxels():
    depth = np.full((H, W), 1.0)
    mask = np.zeros((1, H, W), bool)
    mask[0, 2:6, 3:9] = True
    seg = lift_masks(frame(depth), FrameMasks(mask, ["wall"], np.array([0.5])), config()).segments
    assert len(seg) == 1 and seg[0].label == "wall" and seg[0].score == 0.5
    v, u = np.nonzero(mask[0])
    expected, counts = np.unique(
        voxel_keys(pixels_to_world(u, v, np.ones(len(u)), K, np.eye(4)), 0.02), return_counts=True
    )
    np.testing.assert_array_equal(seg[0].keys, expected)
    np.testing.assert_array_equal(seg[0].weights, counts)
    pts = segment_centres(seg[0], 0.02)
    assert np.allclose(pts[:, 2], 1.01)


def test_mask_split_across_depth_keeps_largest_part():
    depth = np.full((H, W), 1.0)
    depth[:, 10:] = 3.0  # background far behind
    mask = np.zeros((1, H, W), bool)
    mask[0, 1:11, 2:13] = True  # 8 columns on the object, 3 on the background
    seg = lift_masks(frame(depth), FrameMasks(mask), config()).segments[0]
    assert np.allclose(segment_centres(seg, 0.02)[:, 2], 1.01)  # only the near part, edge pixels dropped


def test_erosion_and_stride_shrink_the_segment():
    depth = np.full((H, W), 0.5)  # 0.5 cm pixels: stride 2 still samples every 2 cm voxel
    mask = np.zeros((1, H, W), bool)
    mask[0, 2:10, 2:14] = True
    full = lift_masks(frame(depth), FrameMasks(mask), config()).segments[0]
    eroded = lift_masks(frame(depth), FrameMasks(mask), config(erode_px=2)).segments[0]
    strided = lift_masks(frame(depth), FrameMasks(mask), config(stride=2)).segments[0]
    assert eroded.weights.sum() == 4 * 8 and full.weights.sum() == 8 * 12
    assert strided.weights.sum() == 4 * 4 * 6  # 24 grid pixels, each standing for 2×2 pixels
    assert set(eroded.keys) <= set(full.keys)


def test_bad_and_empty_inputs():
    depth = np.full((H, W), 1.0)
    assert lift_masks(frame(depth), FrameMasks.empty(H, W)).segments == []
    mask = np.zeros((2, H, W), bool)
    mask[0, 3:8, 3:8] = True  # no valid depth below
    mask[1, 0:2, 0:2] = True  # tiny
    depth[:, :9] = 0.0
    out = lift_masks(frame(depth), FrameMasks(mask), config(min_voxels=3))
    assert out.segments == [] and out.dropped == 2
    with pytest.raises(ValueError, match="masks are"):
        lift_masks(frame(depth), FrameMasks(np.zeros((1, H, W + 1), bool)))
    with pytest.raises(ValueError, match="LiftConfig.stride must be ≥ 1, got 0"):
        LiftConfig(stride=0)


def test_background_covers_every_unmasked_surface():
    # Flat wall at 1 m (1 cm pixels). The mask covers columns 0–11; with a 1-pixel ring, column 12 is dense
    # background (weight 1 per pixel) and the rest is sampled every 2nd row and column (weight 4 each):
    # column 14 on rows 0, 2, ..., 10. A frame without masks is all sparse background.
    depth = np.full((H, W), 1.0)
    mask = np.zeros((1, H, W), bool)
    mask[0, :, :12] = True
    cfg = config(background_px=1, background_step=2)
    keys, weights = lift_masks(frame(depth), FrameMasks(mask), cfg).background
    v, u = np.r_[np.arange(H), np.arange(0, H, 2)], np.r_[np.full(H, 12), np.full(H // 2, 14)]
    expected = np.unique(voxel_keys(pixels_to_world(u, v, np.ones(len(u)), K, np.eye(4)), 0.02))
    np.testing.assert_array_equal(keys, expected)
    assert weights.sum() == H + 4 * (H // 2)
    ring_only = lift_masks(frame(depth), FrameMasks(mask), config(background_px=1, background_step=0)).background
    assert ring_only[1].sum() == H
    empty = lift_masks(frame(depth), FrameMasks.empty(H, W), cfg)
    assert empty.segments == [] and empty.background[1].sum() == 4 * (H // 2) * (W // 2)
    off = lift_masks(frame(depth), FrameMasks(mask), config(background_px=0)).background
    assert len(off[0]) == 0
