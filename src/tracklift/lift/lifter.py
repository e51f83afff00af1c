"""Lift the 2D masks of one RGB-D frame to compact 3D voxel segments.

Per frame: pixels are sampled on a regular `stride` grid (pixel (s·c, s·r)), unreliable ones dropped
(invalid or out-of-range depth, depth edges), the rest back-projected once and hashed to voxels. Per mask:
its border is eroded, its reliable pixels' voxels counted, and only the heaviest 3D-connected component
kept — so a mask that bleeds across a depth discontinuity onto the background (or that an occluder splits)
becomes one compact segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tracklift.data.frame import Frame
from tracklift.lift.backproject import backproject, reliable_pixels
from tracklift.lift.components import largest_component, voxel_components
from tracklift.lift.voxels import key_centres, pack_keys, voxel_coords
from tracklift.segment2d.masks import FrameMasks


@dataclass
class LiftConfig:
    """How masks become voxel segments.

    voxel:       voxel edge, metres (the resolution of every voxel map and of the output points).
    stride:      pixel sampling step; 2 keeps one pixel in 4, ample for voxels ≥ 2 cm at ≤ 6 m.
    min_depth, max_depth: usable depth range, metres.
    edge_ratio:  a grid pixel whose 3×3 depth range (on the sampling grid) exceeds edge_ratio × its depth
                 is a depth edge.
    erode_px:    mask borders eroded by this many pixels (segmenters bleed over object borders); applied on
                 the sampling grid, rounded up to whole grid steps.
    connect_radius: voxels within this Chebyshev distance (in voxels) are connected.
    min_voxels:  segments with fewer voxels after denoising are dropped.
    """

    voxel: float = 0.03
    stride: int = 2
    min_depth: float = 0.1
    max_depth: float = 8.0
    edge_ratio: float = 0.04
    erode_px: int = 2
    connect_radius: int = 1
    min_voxels: int = 8

    def __post_init__(self) -> None:
        if self.voxel <= 0 or self.stride < 1 or self.connect_radius < 1 or self.erode_px < 0:
            raise ValueError(f"invalid LiftConfig: {self}")


@dataclass
class Segment:
    """One lifted mask.

    keys:    [M] int64, sorted unique voxel keys (lift/voxels.py).
    weights: [M] float32, pixels (full-resolution equivalent) that fell into each voxel.
    mask_index: index of the source mask in the frame's FrameMasks.
    label, score: the mask's 2D label (or None) and score in [0, 1].
    """

    keys: np.ndarray
    weights: np.ndarray
    mask_index: int
    label: str | None
    score: float

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class LiftedFrame:
    """The segments of one frame plus what the tracker needs to know about the frame itself."""

    segments: list[Segment]
    dropped: int  # masks that lost all their points (no valid depth, too small, ...)


def _erode(masks: np.ndarray, px: int) -> np.ndarray:
    if px == 0 or len(masks) == 0:
        return masks
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return np.stack([cv2.erode(m.view(np.uint8), kernel).view(bool) for m in masks])


def lift_masks(frame: Frame, masks: FrameMasks, config: LiftConfig | None = None) -> LiftedFrame:
    """Voxel segments of `masks` (at the frame's depth resolution) seen in `frame`."""
    cfg = config or LiftConfig()
    if masks.shape != (frame.height, frame.width):
        raise ValueError(
            f"frame {frame.name!r}: masks are {masks.shape[1]}×{masks.shape[0]}, depth is {frame.width}×{frame.height}"
        )
    n = len(masks)
    if n == 0:
        return LiftedFrame([], 0)
    s = cfg.stride
    depth = frame.depth[::s, ::s]
    h, w = depth.shape
    good = reliable_pixels(depth, cfg.min_depth, cfg.max_depth, cfg.edge_ratio)
    # Sample the grid first and erode there (radius in grid steps): a stride² cheaper approximation of
    # eroding the full-resolution mask by erode_px pixels.
    grid = np.ascontiguousarray(masks.masks[:, ::s, ::s])
    inside = _erode(grid, -(-cfg.erode_px // s)) & good
    flat = np.flatnonzero(inside)
    if len(flat) == 0:
        return LiftedFrame([], n)
    mask_id, pix = np.divmod(flat, h * w)
    rows, cols = np.divmod(pix, w)
    points = backproject(cols * s, rows * s, depth[rows, cols], frame.K, frame.pose)
    coords = voxel_coords(points, cfg.voxel)
    keys = pack_keys(coords)
    # Unique (mask, voxel) pairs with their pixel counts, sorted by mask then key.
    pair_order = np.lexsort((keys, mask_id))
    km, kk = mask_id[pair_order], keys[pair_order]
    new = np.ones(len(kk), bool)
    new[1:] = (km[1:] != km[:-1]) | (kk[1:] != kk[:-1])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(kk))).astype(np.float32) * (s * s)
    u_mask, u_key, u_coord = km[starts], kk[starts], coords[pair_order][starts]
    labels = voxel_components(u_coord, u_mask, cfg.connect_radius)
    keep = largest_component(u_mask, labels, counts)
    u_mask, u_key, counts = u_mask[keep], u_key[keep], counts[keep]
    bounds = np.searchsorted(u_mask, np.arange(n + 1))
    segments = []
    for m in range(n):
        a, b = bounds[m], bounds[m + 1]
        if b - a < cfg.min_voxels:
            continue
        segments.append(Segment(u_key[a:b], counts[a:b], m, masks.labels[m], float(masks.scores[m])))
    return LiftedFrame(segments, n - len(segments))


def segment_points(segment: Segment, voxel: float) -> np.ndarray:
    """[M, 3] float32 voxel centres of a segment, metres, world frame."""
    return key_centres(segment.keys, voxel)
