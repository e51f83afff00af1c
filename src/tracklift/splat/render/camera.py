"""A pinhole camera in the project's conventions (OpenCV axes, camera-to-world pose)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tracklift.data.frame import Frame


@dataclass
class Camera:
    """A pinhole camera.

    K:      [3, 3] float64, pixel intrinsics; pixel (u, v) has its centre at integer coordinates.
    pose:   [4, 4] float64, camera-to-world, OpenCV axes (x right, y down, z forward).
    width, height: image size in pixels.
    name:   the view's name (frame name, image file name).
    """

    K: np.ndarray
    pose: np.ndarray
    width: int
    height: int
    name: str = ""

    def __post_init__(self) -> None:
        self.K = np.asarray(self.K, np.float64)
        self.pose = np.asarray(self.pose, np.float64)
        where = f"camera {self.name!r}"
        if self.K.shape != (3, 3):
            raise ValueError(f"{where}: K must be [3, 3], got {list(self.K.shape)}")
        if self.pose.shape != (4, 4):
            raise ValueError(f"{where}: pose must be [4, 4], got {list(self.pose.shape)}")
        if not (np.isfinite(self.K).all() and np.isfinite(self.pose).all()):
            raise ValueError(f"{where}: K or pose has NaN or inf entries")
        if self.K[0, 0] <= 0 or self.K[1, 1] <= 0:
            raise ValueError(f"{where}: focal lengths must be positive, got fx={self.K[0, 0]}, fy={self.K[1, 1]}")
        self.width, self.height = int(self.width), int(self.height)
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"{where}: image size must be positive, got {self.width}x{self.height}")

    @classmethod
    def from_frame(cls, frame: Frame) -> Camera:
        return cls(K=frame.K, pose=frame.pose, width=frame.width, height=frame.height, name=frame.name)

    def resized(self, width: int, height: int) -> Camera:
        """The same view imaged at `width` x `height` pixels: focal lengths scale with the image, and the
        principal point too once pixel centres are taken at +0.5 (ours sit at integers, a resized image's
        pixel edges at the original's edges)."""
        sx, sy = width / self.width, height / self.height
        K = self.K.copy()
        K[0, 0], K[0, 2] = sx * self.K[0, 0], sx * (self.K[0, 2] + 0.5) - 0.5
        K[1, 1], K[1, 2] = sy * self.K[1, 1], sy * (self.K[1, 2] + 0.5) - 0.5
        return Camera(K=K, pose=self.pose.copy(), width=width, height=height, name=self.name)

    @property
    def center(self) -> np.ndarray:
        """[3] float64, camera centre in world metres."""
        return self.pose[:3, 3].copy()

    def world_to_camera(self) -> np.ndarray:
        """[4, 4] float64, the inverse of `pose` (the 'viewmat' of other renderers)."""
        R = self.pose[:3, :3]
        out = np.eye(4)
        out[:3, :3] = R.T
        out[:3, 3] = -R.T @ self.pose[:3, 3]
        return out

    def tensors(self, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(K [3, 3], R_wc [3, 3], t_wc [3]) as torch tensors: p_cam = R_wc @ p_world + t_wc."""
        w2c = self.world_to_camera()
        K, R, t = (torch.as_tensor(a, dtype=dtype) for a in (self.K, w2c[:3, :3], w2c[:3, 3]))
        return K, R, t
