"""One RGB-D frame in the project's conventions (docs/conventions.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class BadFrameError(ValueError):
    """A frame that cannot be used: the message names the file or frame and the problem."""


@dataclass(frozen=True)
class Frame:
    """An RGB-D frame with colour registered to the depth image.

    color: [H, W, 3] uint8, RGB.
    depth: [H, W] float32, metres along the optical axis; 0 = invalid.
    K:     [3, 3] float64, pixel intrinsics of `depth` (and of the registered `color`).
    pose:  [4, 4] float64, camera-to-world, OpenCV camera axes.
    name:  the frame's name in its dataset layout (ScanNet: "0", "1", ...).
    index: position in the stream.
    """

    color: np.ndarray
    depth: np.ndarray
    K: np.ndarray
    pose: np.ndarray
    name: str
    index: int

    def __post_init__(self) -> None:
        validate_frame(self)

    @property
    def height(self) -> int:
        return int(self.depth.shape[0])

    @property
    def width(self) -> int:
        return int(self.depth.shape[1])


def validate_frame(frame: Frame) -> None:
    """Raise BadFrameError naming the frame when shapes, dtypes or values break the conventions."""
    where = f"frame {frame.name!r}"
    if frame.depth.ndim != 2 or frame.depth.dtype != np.float32:
        raise BadFrameError(f"{where}: depth must be [H, W] float32, got {frame.depth.shape} {frame.depth.dtype}")
    h, w = frame.depth.shape
    if frame.color.shape != (h, w, 3) or frame.color.dtype != np.uint8:
        raise BadFrameError(
            f"{where}: color must be [{h}, {w}, 3] uint8 to match depth, got {frame.color.shape} {frame.color.dtype}"
        )
    if frame.K.shape != (3, 3):
        raise BadFrameError(f"{where}: K must be [3, 3], got {frame.K.shape}")
    if frame.pose.shape != (4, 4):
        raise BadFrameError(f"{where}: pose must be [4, 4], got {frame.pose.shape}")
    if not np.isfinite(frame.pose).all():
        raise BadFrameError(f"{where}: pose has NaN or inf entries")
    if not np.isfinite(frame.K).all() or frame.K[0, 0] <= 0 or frame.K[1, 1] <= 0:
        raise BadFrameError(f"{where}: K has non-finite or non-positive focal lengths")
    if not np.isfinite(frame.depth).all():
        raise BadFrameError(f"{where}: depth has NaN or inf values (use 0 for invalid)")
