"""Best views of each 3D instance: project its points into every frame, depth-test, rank, keep the top K.

A view's quality is `visible_fraction * sqrt(area_fraction)`: the share of the instance's points that
project inside the image in front of the observed surface (so occluded and truncated views lose), times
the square root of the share of the image its visible points' bounding box covers (so large views win,
with diminishing returns: a view twice as large is not twice as useful to a classifier).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Iterable, Sequence

import cv2
import numpy as np

from tracklift.core.config import config, option
from tracklift.core.instance import Instance3D
from tracklift.data.frame import Frame


@config
class ViewConfig:
    top_k: int = option(5, "best views kept per instance", low=1, high=1000)
    depth_tolerance: float = option(
        0.05, "a point this far behind the observed surface still counts as seen, metres", low=0.0, high=10.0
    )
    depth_tolerance_rel: float = option(0.02, "plus this share of the depth", low=0.0, high=1.0)
    min_visible_points: int = option(5, "points a view must see", low=1)
    max_points: int = option(4000, "points per instance used for visibility (seeded subsample)", low=1, high=10_000_000)
    context_scale: float = option(
        2.0, "largest crop scale the stored patch must cover (× the bbox side)", low=1.0, high=10.0
    )
    seed: int = option(0, "subsample seed", low=0)


@dataclass(frozen=True)
class View:
    """One frame's look at an instance.

    frame:            stream index of the frame.
    visible_fraction: share of the instance's points seen in the frame, in [0, 1].
    area_fraction:    bbox area of the visible projection / image area, in [0, 1].
    quality:          visible_fraction * sqrt(area_fraction) (the ranking key).
    bbox:             (x0, y0, x1, y1) int pixels of the visible projection, x1/y1 exclusive.
    patch:            [h, w, 3] uint8 RGB colour around the bbox (square of side context_scale x the bbox side,
                      clipped to the image), so crops need no access to the frame.
    patch_origin:     (x, y) of the patch's top-left pixel in the frame.
    mask:             [h, w] bool, the instance's solid mask over `patch`.
    """

    frame: int
    visible_fraction: float
    area_fraction: float
    quality: float
    bbox: tuple[int, int, int, int]
    patch: np.ndarray
    patch_origin: tuple[int, int]
    mask: np.ndarray


def project_visible(
    points: np.ndarray, frame: Frame, config: ViewConfig = ViewConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """Project world points into a frame and depth-test them (vectorised).

    points: [N, 3] float, metres, world frame.
    Returns (uv [N, 2] int64 pixel (column, row) of each point, rounded; visible [N] bool): in front of the
    camera, inside the image, valid depth there, and not behind the observed surface by more than the tolerance.
    """
    points = _check_points(points, "points")
    w2c = np.linalg.inv(frame.pose)
    cam = points.astype(np.float64) @ w2c[:3, :3].T + w2c[:3, 3]
    z = cam[:, 2]
    in_front = z > 1e-6
    zs = np.where(in_front, z, 1.0)
    u = np.rint(frame.K[0, 0] * cam[:, 0] / zs + frame.K[0, 2])
    v = np.rint(frame.K[1, 1] * cam[:, 1] / zs + frame.K[1, 2])
    inside = in_front & (u >= 0) & (u < frame.width) & (v >= 0) & (v < frame.height)
    uv = np.stack([np.where(inside, u, 0), np.where(inside, v, 0)], 1).astype(np.int64)
    observed = frame.depth[uv[:, 1], uv[:, 0]].astype(np.float64)
    tolerance = config.depth_tolerance + config.depth_tolerance_rel * observed
    visible = inside & (observed > 0) & (z <= observed + tolerance)
    return uv, visible


def project_visible_reference(points: np.ndarray, frame: Frame, config: ViewConfig = ViewConfig()) -> np.ndarray:
    """Plain per-point version of `project_visible`'s `visible` [N] bool, for tests."""
    w2c = np.linalg.inv(frame.pose)
    out = np.zeros(len(points), bool)
    for i, p in enumerate(np.asarray(points, np.float64)):
        x, y, z = w2c[:3, :3] @ p + w2c[:3, 3]
        if z <= 1e-6:
            continue
        u = int(np.rint(frame.K[0, 0] * x / z + frame.K[0, 2]))
        v = int(np.rint(frame.K[1, 1] * y / z + frame.K[1, 2]))
        if not (0 <= u < frame.width and 0 <= v < frame.height):
            continue
        d = float(frame.depth[v, u])
        out[i] = d > 0 and z <= d + config.depth_tolerance + config.depth_tolerance_rel * d
    return out


def select_views(
    instances: Sequence[Instance3D], frames: Iterable[Frame], config: ViewConfig = ViewConfig()
) -> dict[int, list[View]]:
    """The top `config.top_k` views of every instance, best first, in one pass over the frames.

    Frames are read once, in order (a lazily loaded stream is fine). Returns instance id -> views; an
    instance seen in no frame gets an empty list.
    """
    rng = np.random.default_rng(config.seed)
    sampled = []
    for inst in instances:
        pts = _check_points(inst.points, f"instance {inst.id} points")
        if len(pts) > config.max_points:
            pts = pts[rng.choice(len(pts), config.max_points, replace=False)]
        sampled.append(pts)
    owner = (
        np.concatenate([np.full(len(p), i, np.int64) for i, p in enumerate(sampled)])
        if sampled
        else np.zeros(0, np.int64)
    )
    all_points = np.concatenate(sampled) if sampled else np.zeros((0, 3), np.float32)
    counts = np.array([len(p) for p in sampled], np.float64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    heaps: list[list[tuple[float, int, View]]] = [[] for _ in instances]
    spacing: dict[int, float] = {}  # per instance, computed when it first enters a heap
    for frame in frames:
        uv, visible = project_visible(all_points, frame, config)
        n_visible = np.bincount(owner[visible], minlength=len(instances))
        for i in np.flatnonzero(n_visible >= config.min_visible_points):
            lo, hi = offsets[i], offsets[i + 1]
            vis_uv = uv[lo:hi][visible[lo:hi]]
            x0, y0 = vis_uv.min(0)
            x1, y1 = vis_uv.max(0) + 1
            fraction = float(n_visible[i] / counts[i])
            area = float((x1 - x0) * (y1 - y0)) / (frame.width * frame.height)
            quality = fraction * float(np.sqrt(area))
            heap = heaps[i]
            if len(heap) == config.top_k and quality <= heap[0][0]:
                continue
            if i not in spacing:
                spacing[i] = point_spacing(instances[i].points, config.seed)
            view = _make_view(instances[i].points, spacing[i], frame, config, fraction, area, quality)
            item = (quality, frame.index, view)
            if len(heap) < config.top_k:
                heapq.heappush(heap, item)
            else:
                heapq.heapreplace(heap, item)
    return {
        inst.id: [v for _, _, v in sorted(heaps[i], key=lambda t: (-t[0], t[1]))] for i, inst in enumerate(instances)
    }


def rasterise_mask(uv: np.ndarray, shape: tuple[int, int], radius: int) -> np.ndarray:
    """Solid mask from projected points: mark their pixels, close gaps of up to ~2*radius, then dilate by
    radius // 2 + 1 (points are voxel centres, inset about half a spacing from the surface's outline).

    uv: [N, 2] int pixel (column, row), inside `shape` = (H, W). radius: int >= 0 pixels.
    Returns [H, W] bool.
    """
    mask = np.zeros(shape, np.uint8)
    mask[uv[:, 1], uv[:, 0]] = 1
    if radius > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    grow = 2 * (radius // 2 + 1) + 1
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
    return mask.astype(bool)


def point_spacing(points: np.ndarray, seed: int = 0, sample: int = 2000) -> float:
    """Median nearest-neighbour distance (metres) of a point set, from a seeded subsample."""
    from scipy.spatial import cKDTree

    points = _check_points(points, "points")
    if len(points) < 2:
        return 0.0
    if len(points) > sample:
        points = points[np.random.default_rng(seed).choice(len(points), sample, replace=False)]
    dist, _ = cKDTree(points).query(points, k=2)
    return float(np.median(dist[:, 1]))


def _make_view(
    points: np.ndarray, spacing: float, frame: Frame, config: ViewConfig, fraction: float, area: float, quality: float
) -> View:
    uv, visible = project_visible(points, frame, config)
    vis_uv = uv[visible]
    x0, y0 = (int(c) for c in vis_uv.min(0))
    x1, y1 = (int(c) + 1 for c in vis_uv.max(0))
    # Closing radius: the pixel gap between neighbouring points at the instance's median depth.
    depth = np.median(frame.depth[vis_uv[:, 1], vis_uv[:, 0]])
    gap = frame.K[0, 0] * spacing / max(float(depth), 1e-3)
    radius = int(np.clip(np.ceil(gap), 1, 15))
    side = config.context_scale * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    px0, py0 = max(int(np.floor(cx - side / 2)), 0), max(int(np.floor(cy - side / 2)), 0)
    px1, py1 = min(int(np.ceil(cx + side / 2)), frame.width), min(int(np.ceil(cy + side / 2)), frame.height)
    full = rasterise_mask(vis_uv, (frame.height, frame.width), radius)
    return View(
        frame=frame.index,
        visible_fraction=fraction,
        area_fraction=area,
        quality=quality,
        bbox=(x0, y0, x1, y1),
        patch=frame.color[py0:py1, px0:px1].copy(),
        patch_origin=(px0, py0),
        mask=full[py0:py1, px0:px1].copy(),
    )


def _check_points(points: np.ndarray, name: str) -> np.ndarray:
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"{name} must be [N, 3] world metres, got shape {points.shape}")
    return points
