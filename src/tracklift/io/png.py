"""PNG files written atomically (pictures, masks, renders)."""

from __future__ import annotations

import os

import cv2
import numpy as np

from tracklift.io.atomic import atomic_write_bytes


def write_png(path: str | os.PathLike, rgb: np.ndarray) -> None:
    """Write an [H, W, 3] uint8 RGB image as PNG, atomically."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{path}: could not encode PNG")
    atomic_write_bytes(path, data.tobytes())
