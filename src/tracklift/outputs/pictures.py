"""PNG pictures of a segmentation: instance colours over frames beside the RGB, and a top-down view.

Drawn with OpenCV (no matplotlib); written atomically.
"""

from __future__ import annotations

import cv2
import numpy as np

from tracklift.core.instance import Instance3D
from tracklift.data.frame import Frame
from tracklift.lift.projection import project


def instance_colors(n: int) -> np.ndarray:
    """[n, 3] uint8 RGB: well-separated hues (golden-ratio steps), deterministic."""
    hues = (np.arange(n) * 0.618033988749895 % 1.0 * 180).astype(np.uint8)
    hsv = np.stack([hues, np.full(n, 200, np.uint8), np.full(n, 230, np.uint8)], axis=1)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0] if n else np.zeros((0, 3), np.uint8)


def render_instances(
    frame: Frame, instances: list[Instance3D], colors: np.ndarray, voxel: float, depth_tolerance: float = 0.1
) -> np.ndarray:
    """[H, W, 3] uint8: the frame's RGB with the visible instance points painted in `colors` ([I, 3]).

    Points are splatted as squares of their projected voxel size (at most 9×9 pixels), nearest wins, and
    only where they agree with the frame's depth (occluded points are not painted).
    """
    h, w = frame.height, frame.width
    out = (frame.color.astype(np.float32) * 0.35).astype(np.uint8)
    if not instances:
        return out
    pts = np.concatenate([i.points for i in instances])
    owner = np.repeat(np.arange(len(instances)), [len(i.points) for i in instances])
    u, v, z = project(pts, frame.K, frame.pose)
    ok = z > 0.05
    u, v, z, owner = u[ok], v[ok], z[ok], owner[ok]
    order = np.argsort(-z)  # far to near: nearer writes last and wins
    u, v, z, owner = u[order], v[order], z[order], owner[order]
    # Splat half-size in pixels, capped: close-up voxels would otherwise cost (2·half + 1)² passes each.
    half = np.clip(np.ceil(0.5 * voxel * frame.K[0, 0] / z), 1, 4).astype(np.int64)
    zbuf = np.full((h, w), np.inf, np.float32)
    label = np.full((h, w), -1, np.int64)
    for dy in range(-int(half.max()), int(half.max()) + 1):
        for dx in range(-int(half.max()), int(half.max()) + 1):
            sel = (np.abs(dx) <= half) & (np.abs(dy) <= half)
            uu = np.rint(u[sel]).astype(np.int64) + dx
            vv = np.rint(v[sel]).astype(np.int64) + dy
            inside = (uu >= 0) & (uu < w) & (vv >= 0) & (vv < h)
            uu, vv, zz, oo = uu[inside], vv[inside], z[sel][inside], owner[sel][inside]
            d = frame.depth[vv, uu]
            seen = (d > 0) & (np.abs(zz - d) <= depth_tolerance) & (zz < zbuf[vv, uu])
            # Sorted far to near, so within one offset a later (nearer) write wins.
            zbuf[vv[seen], uu[seen]] = zz[seen]
            label[vv[seen], uu[seen]] = oo[seen]
    painted = label >= 0
    out[painted] = (0.3 * frame.color[painted] + 0.7 * colors[label[painted]]).astype(np.uint8)
    return out


def frames_picture(frames: list[Frame], instances: list[Instance3D], voxel: float, max_width: int = 640) -> np.ndarray:
    """Rows of [RGB | instance overlay] for each frame, scaled to at most `max_width` per panel."""
    colors = instance_colors(len(instances))
    rows = []
    for frame in frames:
        pair = np.concatenate([frame.color, render_instances(frame, instances, colors, voxel)], axis=1)
        scale = min(1.0, max_width / frame.width)
        if scale < 1.0:
            pair = cv2.resize(
                pair, (int(pair.shape[1] * scale), int(pair.shape[0] * scale)), interpolation=cv2.INTER_AREA
            )
        rows.append(pair)
    width = max(r.shape[1] for r in rows)
    return np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows], axis=0)


def top_down_picture(instances: list[Instance3D], size: int = 800, names: list[str] | None = None) -> np.ndarray:
    """[size, size, 3] uint8: instance points seen from above (world z up), lower points drawn first,
    with each instance's name (or id) at its box centre."""
    img = np.full((size, size, 3), 24, np.uint8)
    if not instances:
        return img
    colors = instance_colors(len(instances))
    pts = np.concatenate([i.points for i in instances])
    owner = np.repeat(np.arange(len(instances)), [len(i.points) for i in instances])
    lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
    scale = (size - 40) / max(float((hi - lo).max()), 1e-6)

    def to_px(xy: np.ndarray) -> np.ndarray:
        # Image rows grow downwards while world y grows "north": flip y.
        px = (xy - lo) * scale + 20
        return np.stack([px[:, 0], size - px[:, 1]], axis=1).astype(np.int64)

    order = np.argsort(pts[:, 2])
    px = np.clip(to_px(pts[order, :2]), 0, size - 1)
    img[px[:, 1], px[:, 0]] = colors[owner[order]]
    img = cv2.dilate(img, np.ones((3, 3), np.uint8))
    for k, inst in enumerate(instances):
        cx, cy = to_px(inst.box[None, :2])[0]
        text = names[k] if names is not None else str(inst.id)
        cv2.putText(img, text, (int(cx), int(cy)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return img
