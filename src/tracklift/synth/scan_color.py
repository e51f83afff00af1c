"""The colour camera of a real scan: its own resolution and intrinsics, a small offset from the depth
camera, soft optics, motion blur along the image motion, auto-exposure and white-balance drift.

ScanNet's colour (1296×968) is registered to depth (640×480) by resizing; the two cameras' intrinsics and
the calibrated extrinsic do not agree exactly, which leaves colour edges a pixel or two off the depth
edges. Here the colour camera gets intrinsics a little off the resized depth ones and a fixed extrinsic
error; readers that resize colour to depth inherit the same misregistration.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from tracklift.data.camera import scale_intrinsics
from tracklift.synth.config import ScanRealism

EXPOSURE_MEMORY = 0.9  # AR(1) coefficient of log exposure/white balance between frames (auto-exposure adapts slowly)
MOTION_DEPTH = 2.0  # metres; image motion is measured at a point this far along the optical axis


@dataclass(frozen=True)
class ColorCamera:
    """K: [3, 3] float64 colour intrinsics at `size` (width, height) pixels; offset: [4, 4] float64 pose of
    the colour camera in the depth camera's frame (colour c2w = depth c2w @ offset); render_K and
    render_size: where it is ray-cast before upsampling to `size`."""

    K: np.ndarray
    size: tuple[int, int]
    offset: np.ndarray
    render_K: np.ndarray
    render_size: tuple[int, int]


def color_camera(K: np.ndarray, width: int, height: int, realism: ScanRealism, seed: int) -> ColorCamera:
    """The scene's colour camera beside a depth camera `K` [3, 3] of width×height pixels."""
    rng = np.random.default_rng([seed, 6])
    size = (round(width * realism.color_scale[0]), round(height * realism.color_scale[1]))
    Kc = scale_intrinsics(K, (width, height), size)
    Kc[:2, :2] *= 1 + realism.color_focal_error * rng.standard_normal()
    Kc[:2, 2] += realism.color_center_error * rng.standard_normal(2)
    offset = np.eye(4)
    offset[:3, :3] = Rotation.from_rotvec(
        np.radians(realism.color_offset_rotation) * rng.standard_normal(3)
    ).as_matrix()
    offset[:3, 3] = realism.color_offset_translation * rng.standard_normal(3)
    render_size = (
        max(8, round(size[0] * realism.color_render_scale)),
        max(8, round(size[1] * realism.color_render_scale)),
    )
    return ColorCamera(Kc, size, offset, scale_intrinsics(Kc, size, render_size), render_size)


def exposure_gains(frames: int, seed: int, realism: ScanRealism) -> np.ndarray:
    """[F, 3] float64 per-frame RGB gains: slowly varying exposure times per-channel white balance."""
    rng = np.random.default_rng([seed, 7])
    innovation = rng.standard_normal((frames, 4)) * np.sqrt(1 - EXPOSURE_MEMORY**2)
    state = np.zeros((frames, 4))
    state[0] = rng.standard_normal(4)
    for k in range(1, frames):
        state[k] = EXPOSURE_MEMORY * state[k - 1] + innovation[k]
    log_gain = realism.exposure_sigma * state[:, :1] + realism.white_balance_sigma * state[:, 1:]
    return np.exp(log_gain)


def image_motion(K: np.ndarray, pose: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """[2] unit image direction (pixels) in which the scene moves between the neighbouring poses `before`
    and `after` ([4, 4] c2w), seen from `pose`; zeros when it does not move."""
    point = pose[:3, 3] + MOTION_DEPTH * pose[:3, 2]
    uv = []
    for p in (before, after):
        cam = (point - p[:3, 3]) @ p[:3, :3]
        z = max(cam[2], 1e-3)
        uv.append(K[:2, :2] @ (cam[:2] / z))
    d = uv[1] - uv[0]
    n = np.linalg.norm(d)
    return d / n if n > 1e-9 else np.zeros(2)


def motion_kernel(length: float, direction: np.ndarray) -> np.ndarray:
    """[k, k] float32 normalised line kernel of `length` pixels along `direction` [2] (identity when < 1 px)."""
    if length < 1 or not np.any(direction):
        return np.ones((1, 1), np.float32)
    k = int(np.ceil(length)) | 1
    kernel = np.zeros((k, k), np.float32)
    c = (k - 1) / 2
    for s in np.linspace(-length / 2, length / 2, 4 * k):
        kernel[int(round(c + s * direction[1])), int(round(c + s * direction[0]))] += 1
    return kernel / kernel.sum()


def degrade_color(
    rendered: np.ndarray,
    camera: ColorCamera,
    blur_length: float,
    direction: np.ndarray,
    gain: np.ndarray,
    rng: np.random.Generator,
    noise: float,
) -> np.ndarray:
    """Colour image [Hc, Wc, 3] uint8 at `camera.size` from a render [Hr, Wr, 3] uint8 at `camera.render_size`.

    blur_length: colour pixels along `direction` [2]; gain: [3] RGB gains; noise: σ in 8-bit levels.
    """
    if (rendered.shape[1], rendered.shape[0]) != camera.render_size:
        raise ValueError(
            f"render is {rendered.shape[1]}×{rendered.shape[0]}, the colour camera renders at "
            f"{camera.render_size[0]}×{camera.render_size[1]}"
        )
    image = cv2.resize(rendered.astype(np.float32), camera.size, interpolation=cv2.INTER_LINEAR)
    image = cv2.filter2D(image, -1, motion_kernel(blur_length, direction), borderType=cv2.BORDER_REFLECT)
    image = image * gain.astype(np.float32)
    if noise > 0:
        image = image + np.float32(noise) * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)
