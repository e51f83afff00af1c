"""A tiny Gaussian scene with known objects for the Trace3D tests: boxes of opaque Gaussians seen by a ring
of cameras, and each view's exact instance label map rendered from the Gaussians' object ids."""

from __future__ import annotations

import math

import numpy as np
import torch

from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians, rgb_to_sh_dc
from tracklift.splat.render.rasterizer import rasterize

BOXES = (  # (centre xyz, half-size xyz), metres
    ((-0.45, 0.0, 0.25), (0.25, 0.25, 0.25)),
    ((0.45, 0.0, 0.25), (0.25, 0.25, 0.25)),
    ((0.0, 0.55, 0.15), (0.2, 0.15, 0.15)),
)
COLORS = ((0.9, 0.2, 0.2), (0.2, 0.8, 0.3), (0.2, 0.3, 0.9))


def toy_gaussians(spacing: float = 0.1, seed: int = 0) -> tuple[Gaussians, np.ndarray]:
    """Gaussians filling the boxes on a jittered grid. Returns (Gaussians, object id [N] int64)."""
    rng = np.random.default_rng(seed)
    points, ids = [], []
    for k, (centre, half) in enumerate(BOXES):
        axes = [np.arange(-h + spacing / 2, h, spacing) for h in half]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
        points.append(grid + np.asarray(centre) + rng.normal(0, spacing * 0.05, grid.shape))
        ids.append(np.full(len(grid), k))
    pts = torch.as_tensor(np.concatenate(points), dtype=torch.float32)
    obj = np.concatenate(ids)
    n = len(pts)
    quats = torch.zeros(n, 4)
    quats[:, 0] = 1.0
    sh = torch.zeros(n, 1, 3)
    sh[:, 0] = rgb_to_sh_dc(torch.as_tensor(np.asarray(COLORS)[obj], dtype=torch.float32))
    g = Gaussians(pts, torch.full((n, 3), math.log(spacing * 0.6)), quats, torch.full((n,), 3.0), sh)
    return g, obj


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[4, 4] camera-to-world pose (OpenCV axes) at `eye` looking at `target`, world z up."""
    z = target - eye
    z = z / np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x, y, z], axis=1)
    pose[:3, 3] = eye
    return pose


def toy_cameras(n: int = 6, width: int = 64, height: int = 48, radius: float = 2.2) -> list[Camera]:
    """A ring of cameras around the boxes, all looking at the middle."""
    K = np.array([[60.0, 0, (width - 1) / 2], [0, 60.0, (height - 1) / 2], [0, 0, 1]])
    cams = []
    for i in range(n):
        a = 2 * math.pi * i / n + 0.3
        eye = np.array([radius * math.cos(a), radius * math.sin(a), 1.2])
        cams.append(Camera(K, look_at(eye, np.array([0.0, 0.1, 0.2])), width, height, name=str(i)))
    return cams


def render_ids(g: Gaussians, ids: np.ndarray, cam: Camera, num: int, min_alpha: float = 0.5) -> np.ndarray:
    """[H, W] int64 label map: the id with the largest rendered weight, -1 where alpha < min_alpha."""
    onehot = torch.zeros(g.n, num)
    onehot[torch.arange(g.n), torch.as_tensor(ids)] = 1.0
    with torch.no_grad():
        out = rasterize(g, cam, colors=onehot, background=None)
    label = out.color.argmax(-1).numpy()
    return np.where(out.alpha.numpy() >= min_alpha, label, -1).astype(np.int64)


def toy_scene(n_views: int, width: int = 64, height: int = 48):
    """The toy Gaussians, `n_views` cameras around them and each view's exact instance-id map."""
    g, obj = toy_gaussians()
    cams = toy_cameras(n_views, width, height)
    return g, obj, cams, [render_ids(g, obj, c, 3) for c in cams]
