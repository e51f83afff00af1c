"""Lift the 2D masks of one RGB-D frame to compact 3D voxel segments.

Per frame: pixels are sampled on a regular `stride` grid (pixel (s·c, s·r)), unreliable ones dropped
(invalid or out-of-range depth, depth edges), the rest back-projected once and hashed to voxels. Per mask:
its border is eroded, its reliable pixels' voxels counted, and only the heaviest 3D-connected component
kept — so a mask that bleeds across a depth discontinuity onto the background (or that an occluder splits)
becomes one compact segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tracklift.core.config import config, option
from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.lift.components import main_components, voxel_components
from tracklift.lift.projection import pixels_to_world, reliable_pixels
from tracklift.lift.voxels import count_keys, key_centres, pack_keys, voxel_coords


@config
class LiftConfig:
    """How masks become voxel segments (the reasoning behind each default: docs/tuning.md, lift)."""

    voxel: float = option(0.03, "voxel edge, metres (every voxel map and the output points)", low=1e-3, high=1.0)
    stride: int = option(2, "pixel sampling step (2 keeps one pixel in 4)", low=1, high=64)
    min_depth: float = option(0.1, "nearest usable depth, metres", low=0.0, high=100.0)
    max_depth: float = option(8.0, "farthest usable depth, metres", low=0.0, high=100.0)
    edge_slope: float = option(
        5.7, "depth-edge test: tan of the steepest surface tilt kept (5.7 = 80°)", low=0.0, high=1000.0
    )
    erode_px: int = option(2, "mask borders eroded by this many pixels", low=0, high=256)
    connect_gap: float = option(
        0.06, "connectivity cell, metres (raised to the far pixel footprint)", low=0.0, high=10.0
    )
    keep_share: float = option(
        0.2, "other 3D components kept with this share of the heaviest one's mass", low=0.0, high=1.0
    )
    keep_behind: float = option(0.3, "... and lying at most this far behind it, metres", low=0.0, high=100.0)
    min_voxels: int = option(4, "segments with fewer voxels after denoising are dropped", low=0)
    background_px: int = option(8, "ring of unmasked pixels returned as background, pixels (0 = off)", low=0, high=1024)
    background_step: int = option(
        2, "other background pixels every n-th grid row and column (0 = ring only)", low=0, high=1024
    )


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
    background: tuple[np.ndarray, np.ndarray] = field(
        default_factory=lambda: (np.zeros(0, np.int64), np.zeros(0, np.float32))
    )  # sorted unique voxel keys [B] int64 and pixel weights [B] float32 seen next to masks but in none


def _erode(masks: np.ndarray, px: int) -> np.ndarray:
    if px == 0 or len(masks) == 0:
        return masks
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return np.stack([cv2.erode(m.view(np.uint8), kernel).view(bool) for m in masks])


def connect_cell(z: np.ndarray, stride: int, K: np.ndarray, cfg: LiftConfig) -> int:
    """The connectivity cell of a frame, in voxels: cfg.connect_gap, and at least the footprint of a grid
    pixel at the frame's far (90th-percentile) depth — coarse frames (low resolution, large stride) would
    otherwise shatter into single voxels."""
    cell = max(1, int(round(cfg.connect_gap / cfg.voxel)))
    if len(z) == 0:
        return cell
    far = float(np.partition(z, int(0.9 * (len(z) - 1)))[int(0.9 * (len(z) - 1))])
    footprint = stride * far / min(K[0, 0], K[1, 1])
    return max(cell, int(np.ceil(footprint / cfg.voxel - 1e-6)))


def cell_components(coords: np.ndarray, groups: np.ndarray, cell: int) -> np.ndarray:
    """[N] component id per voxel (coords [N, 3] int64, groups [N]) when connectivity is measured between
    cells of `cell`³ voxels (26-neighbourhood of cells)."""
    cells = pack_keys(coords // cell)
    order = np.lexsort((cells, groups))
    c, g = cells[order], groups[order]
    first = np.r_[True, (c[1:] != c[:-1]) | (g[1:] != g[:-1])]
    cell_id = np.empty(len(c), np.int64)
    cell_id[order] = np.cumsum(first) - 1
    labels = voxel_components(coords[order][first] // cell, g[first], 1)
    return labels[cell_id]


def lift_masks(frame: Frame, masks: FrameMasks, config: LiftConfig | None = None) -> LiftedFrame:
    """Voxel segments of `masks` (at the frame's depth resolution) seen in `frame`."""
    cfg = config or LiftConfig()
    if masks.shape != (frame.height, frame.width):
        raise ValueError(
            f"frame {frame.name!r}: masks are {masks.shape[1]}×{masks.shape[0]}, depth is {frame.width}×{frame.height}"
        )
    n = len(masks)
    s = cfg.stride
    depth = frame.depth[::s, ::s]
    h, w = depth.shape
    edge_ratio = cfg.edge_slope * 2 * s / min(frame.K[0, 0], frame.K[1, 1])
    good = reliable_pixels(depth, cfg.min_depth, cfg.max_depth, edge_ratio)
    # Sample the grid first and erode there (radius in grid steps): a stride² cheaper approximation of
    # eroding the full-resolution mask by erode_px pixels.
    grid = np.ascontiguousarray(masks.masks[:, ::s, ::s])
    inside = _erode(grid, -(-cfg.erode_px // s)) & good
    background = _background(grid, good, frame, s, cfg)
    flat = np.flatnonzero(inside)
    if len(flat) == 0:
        return LiftedFrame([], n, background)
    mask_id, pix = np.divmod(flat, h * w)
    rows, cols = np.divmod(pix, w)
    z = depth[rows, cols]
    points = pixels_to_world(cols * s, rows * s, z, frame.K, frame.pose)
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
    labels = cell_components(u_coord, u_mask, connect_cell(z, s, frame.K, cfg))
    pair_depth = np.add.reduceat(z[pair_order], starts) / np.diff(np.append(starts, len(kk)))
    keep = main_components(u_mask, labels, counts, pair_depth, cfg.keep_share, cfg.keep_behind)
    u_mask, u_key, counts = u_mask[keep], u_key[keep], counts[keep]
    bounds = np.searchsorted(u_mask, np.arange(n + 1))
    segments = []
    for m in range(n):
        a, b = bounds[m], bounds[m + 1]
        if b - a < cfg.min_voxels:
            continue
        segments.append(Segment(u_key[a:b], counts[a:b], m, masks.labels[m], float(masks.scores[m])))
    return LiftedFrame(segments, n - len(segments), background)


def _background(
    grid: np.ndarray, good: np.ndarray, frame: Frame, s: int, cfg: LiftConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Voxels (keys, pixel weights) of reliable unmasked grid pixels: every one in a ring of background_px
    around the masks, every background_step-th row and column elsewhere. Weights are full-resolution pixels
    (a sparse pixel stands for step² grid pixels)."""
    if cfg.background_px == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    union = grid.any(axis=0) if len(grid) else np.zeros(good.shape, bool)
    r = -(-cfg.background_px // s)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    ring = cv2.dilate(union.view(np.uint8), kernel).view(bool)
    weight = np.where(ring, float(s * s), 0.0).astype(np.float32)
    if cfg.background_step:
        t = cfg.background_step
        sparse = np.zeros_like(ring)
        sparse[::t, ::t] = True
        weight[sparse & ~ring] = float((s * t) ** 2)
    take = (weight > 0) & ~union & good
    rows, cols = np.nonzero(take)
    points = pixels_to_world(cols * s, rows * s, frame.depth[::s, ::s][rows, cols], frame.K, frame.pose)
    return count_keys(pack_keys(voxel_coords(points, cfg.voxel)), weight[rows, cols])


def segment_centres(segment: Segment, voxel: float) -> np.ndarray:
    """[M, 3] float32 voxel centres of a segment, metres, world frame."""
    return key_centres(segment.keys, voxel)
