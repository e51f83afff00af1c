"""Training resolution as the reference 3DGS trainer's `-r`: images and intrinsics scaled together.

`resolution` follows `train.py -r` of graphdeco-inria/gaussian-splatting exactly for explicit values:
1, 2, 4 or 8 divide width and height by that factor; any other value is the target width in pixels (the
height keeps the aspect ratio). Sizes are rounded to the nearest pixel per axis; each axis' intrinsics
scale by its own ratio (`Camera.resized`). The reference's default (-1: cap the width at 1600 px) is not
applied: 1 (full size) is the default here.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tracklift.splat.render.camera import Camera

FACTORS = (1, 2, 4, 8)


def scaled_size(width: int, height: int, resolution: int) -> tuple[int, int]:
    """(width, height) in pixels of a `width` x `height` image trained at `resolution` (see the module)."""
    if resolution < 1:
        raise ValueError(f"resolution must be >= 1 (a factor of {FACTORS} or a target width), got {resolution}")
    scale = resolution if resolution in FACTORS else width / resolution
    return max(1, round(width / scale)), max(1, round(height / scale))


def downscale_views(
    cameras: Sequence[Camera],
    images: Sequence[np.ndarray],
    depths: Sequence[np.ndarray | None] | None,
    resolution: int,
) -> tuple[list[Camera], list[np.ndarray], list[np.ndarray | None] | None]:
    """Cameras, images ([H, W, 3] uint8) and depths ([H, W] float32 metres, 0 = invalid, or None) at the
    training resolution. Colour is area-averaged; depth takes the nearest sample, so that invalid zeros
    and depth edges never blend into depths that no surface has."""
    import cv2

    out_cams, out_images, out_depths = [], [], None if depths is None else []
    for i, (cam, image) in enumerate(zip(cameras, images)):
        size = scaled_size(cam.width, cam.height, resolution)
        if size == (cam.width, cam.height):
            out_cams.append(cam)
            out_images.append(image)
            if depths is not None:
                out_depths.append(depths[i])
            continue
        out_cams.append(cam.resized(*size))
        out_images.append(cv2.resize(np.asarray(image), size, interpolation=cv2.INTER_AREA))
        if depths is not None:
            d = depths[i]
            out_depths.append(None if d is None else cv2.resize(np.asarray(d), size, interpolation=cv2.INTER_NEAREST))
    return out_cams, out_images, out_depths
