"""Initial Gaussians: from the fused points of an RGB-D stream, from a point cloud, or at random."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import torch
from scipy.spatial import cKDTree

from tracklift.core.config import config, option
from tracklift.data.frame import Frame
from tracklift.lift.projection import pixels_to_world, reliable_pixels
from tracklift.lift.voxels import voxel_keys
from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians, num_sh_coeffs, rgb_to_sh_dc


@config
class InitConfig:
    """Gaussians seeded on fused RGB-D points."""

    pixels_per_frame: int = option(2000, "random valid pixels back-projected per frame", low=1)
    voxel: float = option(0.04, "metres; RGB-D points are fused on this grid to seed Gaussians", low=1e-4)
    max_points: int = option(100_000, "cap after fusion (random subset)", low=1)
    min_depth: float = option(0.1, "metres, nearest usable depth", low=0.0)
    max_depth: float = option(10.0, "metres, farthest usable depth", low=0.0)
    edge_ratio: float = option(0.05, "drop pixels on depth discontinuities (lift.projection.depth_edges)", low=0.0)
    opacity: float = option(0.1, "initial opacity of every Gaussian", low=1e-6, high=1.0 - 1e-6)


def fuse_rgbd_points(frames: Iterable[Frame], config: InitConfig, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Back-project random reliable pixels of every frame and average them per voxel.

    Returns points [M, 3] float32 (metres, world frame) and colours [M, 3] float32 in [0, 1].
    """
    rng = np.random.default_rng(seed)
    points, colors = [], []
    for frame in frames:
        v, u = np.nonzero(reliable_pixels(frame.depth, config.min_depth, config.max_depth, config.edge_ratio))
        if len(u) > config.pixels_per_frame:
            pick = rng.choice(len(u), config.pixels_per_frame, replace=False)
            u, v = u[pick], v[pick]
        points.append(pixels_to_world(u, v, frame.depth[v, u], frame.K, frame.pose))
        colors.append(frame.color[v, u].astype(np.float32) / 255.0)
    if not points or sum(len(p) for p in points) == 0:
        raise ValueError("no valid depth pixels to initialise Gaussians from (all frames empty or out of range)")
    pts, cols = np.concatenate(points), np.concatenate(colors)
    _, inverse, counts = np.unique(voxel_keys(pts, config.voxel), return_inverse=True, return_counts=True)
    fused_pts = np.stack([np.bincount(inverse, pts[:, i]) for i in range(3)], axis=1) / counts[:, None]
    fused_cols = np.stack([np.bincount(inverse, cols[:, i]) for i in range(3)], axis=1) / counts[:, None]
    if len(fused_pts) > config.max_points:
        keep = np.sort(rng.choice(len(fused_pts), config.max_points, replace=False))
        fused_pts, fused_cols = fused_pts[keep], fused_cols[keep]
    return fused_pts.astype(np.float32), fused_cols.astype(np.float32)


def gaussians_from_points(
    points: np.ndarray, colors: np.ndarray, sh_degree: int = 3, opacity: float = 0.1
) -> Gaussians:
    """Isotropic Gaussians on points: scale = RMS distance to the 3 nearest neighbours (as 3DGS).

    points: [M, 3] float, metres, world frame; colors: [M, 3] float in [0, 1].
    """
    points = np.asarray(points, np.float64)
    colors = np.asarray(colors, np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) < 2:
        raise ValueError(f"points must be [M, 3] with M >= 2, got {list(points.shape)}")
    if colors.shape != points.shape:
        raise ValueError(f"colors must be {list(points.shape)} to match points, got {list(colors.shape)}")
    k = min(4, len(points))
    dist, _ = cKDTree(points).query(points, k=k)
    scale = np.sqrt(np.mean(dist[:, 1:] ** 2, axis=1)).clip(1e-4)
    m = len(points)
    sh = torch.zeros(m, num_sh_coeffs(sh_degree), 3)
    sh[:, 0] = rgb_to_sh_dc(torch.as_tensor(colors, dtype=torch.float32))
    quats = torch.zeros(m, 4)
    quats[:, 0] = 1.0
    return Gaussians(
        means=torch.as_tensor(points, dtype=torch.float32),
        log_scales=torch.as_tensor(np.log(scale), dtype=torch.float32)[:, None].repeat(1, 3),
        quats=quats,
        opacity_logits=torch.full((m,), math.log(opacity / (1 - opacity))),
        sh=sh,
    )


def init_from_rgbd(
    frames: Iterable[Frame], config: InitConfig | None = None, sh_degree: int = 3, seed: int = 0
) -> Gaussians:
    """Gaussians on the voxel-fused, back-projected points of RGB-D frames (config: default InitConfig())."""
    config = config or InitConfig()
    points, colors = fuse_rgbd_points(frames, config, seed)
    return gaussians_from_points(points, colors, sh_degree, config.opacity)


def init_random(cameras: list[Camera], n: int, sh_degree: int = 3, seed: int = 0, opacity: float = 0.1) -> Gaussians:
    """Grey Gaussians at random points inside the cameras' view frusta, at depths spread over the
    camera spacing (for datasets without depth or sparse points, e.g. transforms.json)."""
    if not cameras:
        raise ValueError("init_random needs at least one camera")
    rng = np.random.default_rng(seed)
    centers = np.stack([c.center for c in cameras])
    spread = max(float(np.linalg.norm(centers - centers.mean(0), axis=1).max()), 0.5)
    which = rng.integers(len(cameras), size=n)
    u, v, z = rng.random(n), rng.random(n), rng.uniform(0.2 * spread, 2.0 * spread, n)
    points = np.empty((n, 3), np.float32)
    for i, cam in enumerate(cameras):
        sel = which == i
        points[sel] = pixels_to_world(u[sel] * (cam.width - 1), v[sel] * (cam.height - 1), z[sel], cam.K, cam.pose)
    return gaussians_from_points(points, np.full((n, 3), 0.5), sh_degree, opacity)
