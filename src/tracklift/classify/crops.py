"""Square crops of a view at several context scales, with the instance highlighted, resized for a model."""

from __future__ import annotations

import cv2
import numpy as np

from tracklift.classify.views import View
from tracklift.core.config import config, option


@config
class CropConfig:
    scales: tuple[float, ...] = option(
        (1.0, 1.5, 2.0), "crop side = scale × the bbox's longer side", low=0.1, high=10.0
    )
    size: int = option(224, "output side, pixels", low=8, high=4096)
    dim: float = option(0.5, "background brightness outside the mask (1 = no dimming)", low=0.0, high=1.0)
    outline: bool = option(True, "draw the mask outline")
    outline_color: tuple[int, int, int] = option((255, 0, 0), "outline RGB", low=0, high=255)


def crop_view(view: View, scale: float, config: CropConfig = CropConfig()) -> np.ndarray:
    """One highlighted crop: [size, size, 3] uint8 RGB.

    The square of side `scale` x the bbox's longer side is centred on the bbox; what falls outside the
    stored patch (the image border, or beyond the patch's context scale) is black.
    """
    if scale <= 0:
        raise ValueError(f"crop scale must be > 0, got {scale}")
    x0, y0, x1, y1 = view.bbox
    side = max(int(np.ceil(scale * max(x1 - x0, y1 - y0))), 1)
    cx0 = int(np.floor((x0 + x1) / 2 - side / 2))
    cy0 = int(np.floor((y0 + y1) / 2 - side / 2))
    image = highlight(view.patch, view.mask, config)
    canvas = np.zeros((side, side, 3), np.uint8)
    # Overlap of the crop square with the patch, both in frame pixels.
    ox, oy = view.patch_origin
    ph, pw = view.mask.shape
    ax0, ay0 = max(cx0, ox), max(cy0, oy)
    ax1, ay1 = min(cx0 + side, ox + pw), min(cy0 + side, oy + ph)
    if ax1 > ax0 and ay1 > ay0:
        canvas[ay0 - cy0 : ay1 - cy0, ax0 - cx0 : ax1 - cx0] = image[ay0 - oy : ay1 - oy, ax0 - ox : ax1 - ox]
    interp = cv2.INTER_AREA if side > config.size else cv2.INTER_LINEAR
    return cv2.resize(canvas, (config.size, config.size), interpolation=interp)


def crop_views(views: list[View], config: CropConfig = CropConfig()) -> tuple[list[np.ndarray], np.ndarray]:
    """All crops of all views: (list of [size, size, 3] uint8, weights [len] float64 = the view's quality)."""
    crops, weights = [], []
    for view in views:
        for scale in config.scales:
            crops.append(crop_view(view, scale, config))
            weights.append(view.quality)
    return crops, np.asarray(weights, np.float64)


def highlight(patch: np.ndarray, mask: np.ndarray, config: CropConfig = CropConfig()) -> np.ndarray:
    """Dim the background and outline the mask. patch: [h, w, 3] uint8; mask: [h, w] bool. Returns a copy."""
    if patch.shape[:2] != mask.shape or patch.ndim != 3:
        raise ValueError(f"patch {patch.shape} and mask {mask.shape} must be [h, w, 3] and [h, w]")
    out = patch.astype(np.float32)
    out[~mask] *= config.dim
    out = out.astype(np.uint8)
    if config.outline and mask.any():
        # Thickness grows with the patch so the outline survives resizing to the model size.
        k = 2 * max(1, round(max(mask.shape) / 150)) + 1
        edge = mask & ~cv2.erode(mask.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
        out[edge] = config.outline_color
    return out
