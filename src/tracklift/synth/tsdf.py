"""TSDF fusion of depth maps into a voxel grid, and its surface as a coloured mesh (marching cubes).

A voxel holds the running mean of the projective signed distance `d - z` (d: the depth at the pixel the
voxel projects to, z: the voxel's depth in that camera) divided by the truncation and clamped to at most 1,
its weight (frames fused), and the mean colour of the frames that saw it within the truncation band.
Voxels more than one truncation behind the surface are left alone; those in front are carved towards +1
(KinectFusion), which removes what one view wrongly put behind a surface near silhouettes. Depth beyond
`max_depth` is not fused.

`integrate` is the numba kernel; `integrate_reference` the plain per-voxel loop it is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from tracklift.io.ply import Mesh


@dataclass
class TSDFVolume:
    """origin: [3] float64 world position of voxel (0, 0, 0)'s centre, metres; voxel: edge length, metres;
    tsdf: [X, Y, Z] float32 in [-1, 1]; weight: [X, Y, Z] float32 (0 = never observed);
    color: [X, Y, Z, 3] float32 mean RGB in 0..255 over `color_weight` [X, Y, Z] float32 in-band views;
    truncation: metres."""

    origin: np.ndarray
    voxel: float
    truncation: float
    tsdf: np.ndarray
    weight: np.ndarray
    color: np.ndarray
    color_weight: np.ndarray


def make_volume(lo: np.ndarray, hi: np.ndarray, voxel: float, truncation: float) -> TSDFVolume:
    """An empty volume covering the box [lo, hi] (world metres, [3] each) plus one truncation band."""
    if not (voxel > 0 and truncation >= voxel):
        raise ValueError(f"voxel must be > 0 and truncation >= voxel, got {voxel}, {truncation}")
    lo = np.asarray(lo, np.float64) - truncation
    dims = np.ceil((np.asarray(hi, np.float64) + truncation - lo) / voxel).astype(np.int64) + 1
    if (dims <= 0).any():
        raise ValueError(f"empty box: lo {lo.tolist()} hi {np.asarray(hi).tolist()}")
    shape = tuple(int(d) for d in dims)
    return TSDFVolume(
        lo,
        float(voxel),
        float(truncation),
        np.ones(shape, np.float32),
        np.zeros(shape, np.float32),
        np.zeros(shape + (3,), np.float32),
        np.zeros(shape, np.float32),
    )


def _check_frame(volume: TSDFVolume, depth: np.ndarray, color: np.ndarray, K: np.ndarray, pose: np.ndarray) -> None:
    if depth.ndim != 2 or color.shape != depth.shape + (3,):
        raise ValueError(f"depth must be [H, W] and color [H, W, 3]; got {depth.shape} and {color.shape}")
    if K.shape != (3, 3) or pose.shape != (4, 4):
        raise ValueError(f"K must be [3, 3] and pose [4, 4]; got {K.shape} and {pose.shape}")


def integrate(
    volume: TSDFVolume, depth: np.ndarray, color: np.ndarray, K: np.ndarray, pose: np.ndarray, max_depth: float = np.inf
) -> None:
    """Fuse one frame into `volume` in place.

    depth: [H, W] float32 metres (0 = none); color: [H, W, 3] uint8 RGB registered to depth;
    K: [3, 3] float64 depth intrinsics; pose: [4, 4] float64 camera-to-world; max_depth: metres.
    """
    _check_frame(volume, depth, color, K, pose)
    _integrate_kernel(
        volume.tsdf,
        volume.weight,
        volume.color,
        volume.color_weight,
        volume.origin.astype(np.float64),
        volume.voxel,
        volume.truncation,
        np.ascontiguousarray(depth, np.float32),
        np.ascontiguousarray(color),
        K.astype(np.float64),
        pose.astype(np.float64),
        float(max_depth),
    )


@njit(cache=True)
def _integrate_kernel(tsdf, weight, color, color_weight, origin, voxel, trunc, depth, rgb, K, pose, max_depth):
    h, w = depth.shape
    R = pose[:3, :3]
    c = pose[:3, 3]
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    nx, ny, nz = tsdf.shape
    for i in range(nx):
        px = origin[0] + i * voxel - c[0]
        for j in range(ny):
            py = origin[1] + j * voxel - c[1]
            # camera coordinates are linear in k: start and step along the z column
            x0 = R[0, 0] * px + R[1, 0] * py + R[2, 0] * (origin[2] - c[2])
            y0 = R[0, 1] * px + R[1, 1] * py + R[2, 1] * (origin[2] - c[2])
            z0 = R[0, 2] * px + R[1, 2] * py + R[2, 2] * (origin[2] - c[2])
            for k in range(nz):
                x = x0 + R[2, 0] * k * voxel
                y = y0 + R[2, 1] * k * voxel
                z = z0 + R[2, 2] * k * voxel
                if z <= 1e-6:
                    continue
                u = int(np.floor(fx * x / z + cx + 0.5))
                v = int(np.floor(fy * y / z + cy + 0.5))
                if u < 0 or u >= w or v < 0 or v >= h:
                    continue
                d = depth[v, u]
                if d <= 0 or d > max_depth:
                    continue
                sdf = d - z
                if sdf < -trunc:
                    continue
                wt = weight[i, j, k]
                tsdf[i, j, k] = (tsdf[i, j, k] * wt + min(sdf / trunc, 1.0)) / (wt + 1)
                weight[i, j, k] = wt + 1
                if sdf <= trunc:
                    wc = color_weight[i, j, k]
                    for ch in range(3):
                        color[i, j, k, ch] = (color[i, j, k, ch] * wc + rgb[v, u, ch]) / (wc + 1)
                    color_weight[i, j, k] = wc + 1


def integrate_reference(
    volume: TSDFVolume, depth: np.ndarray, color: np.ndarray, K: np.ndarray, pose: np.ndarray, max_depth: float = np.inf
) -> None:
    """Plain-Python `integrate`: one voxel at a time, the world→camera transform written out per voxel."""
    _check_frame(volume, depth, color, K, pose)
    h, w = depth.shape
    world_to_cam = np.linalg.inv(pose)
    for idx in np.ndindex(volume.tsdf.shape):
        p = volume.origin + np.array(idx) * volume.voxel
        x, y, z = world_to_cam[:3, :3] @ p + world_to_cam[:3, 3]
        if z <= 1e-6:
            continue
        u, v = int(np.floor(K[0, 0] * x / z + K[0, 2] + 0.5)), int(np.floor(K[1, 1] * y / z + K[1, 2] + 0.5))
        if not (0 <= u < w and 0 <= v < h) or not 0 < depth[v, u] <= max_depth:
            continue
        sdf = float(depth[v, u]) - z
        if sdf < -volume.truncation:
            continue
        wt = volume.weight[idx]
        volume.tsdf[idx] = (volume.tsdf[idx] * wt + min(sdf / volume.truncation, 1.0)) / (wt + 1)
        volume.weight[idx] = wt + 1
        if sdf <= volume.truncation:
            wc = volume.color_weight[idx]
            volume.color[idx] = (volume.color[idx] * wc + color[v, u]) / (wc + 1)
            volume.color_weight[idx] = wc + 1


def extract_mesh(volume: TSDFVolume) -> Mesh:
    """The zero level set of the observed voxels: vertices [V, 3] float32 world metres, faces [F, 3]
    wound counter-clockwise seen from the observed (positive) side, colours [V, 3] uint8: the mean colour
    of the two voxels whose edge the vertex lies on.

    Needs scikit-image (`pip install 'tracklift[scan]'`).
    """
    try:
        from skimage.measure import marching_cubes
    except ImportError as err:
        raise ImportError(
            "the reconstructed mesh of `--realism scan` needs scikit-image: pip install 'tracklift[scan]'"
        ) from err
    observed = volume.weight > 0
    if not observed.any() or volume.tsdf[observed].min() > 0 or volume.tsdf[observed].max() < 0:
        return Mesh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int64), np.zeros((0, 3), np.uint8))
    verts, faces, _, _ = marching_cubes(volume.tsdf, level=0.0, gradient_direction="descent")
    # Every vertex sits on a grid edge; one whose edge ends at an unobserved voxel (still at its initial +1)
    # is a false surface between the band's negative side and nothing seen: drop its faces.
    lo = np.floor(verts).astype(np.int64)
    hi = np.minimum(np.ceil(verts).astype(np.int64), np.array(observed.shape) - 1)
    real = observed[lo[:, 0], lo[:, 1], lo[:, 2]] & observed[hi[:, 0], hi[:, 1], hi[:, 2]]
    faces = faces[real[faces].all(axis=1)]
    used = np.zeros(len(verts), bool)
    used[faces] = True
    remap = np.cumsum(used) - 1
    verts, faces = verts[used], remap[faces]
    lo, hi = lo[used], hi[used]
    total, count = np.zeros((len(verts), 3)), np.zeros(len(verts))
    for i, j, k in (lo.T, hi.T):  # the colours of the vertex's edge ends, where a view coloured them
        has = volume.color_weight[i, j, k] > 0
        total += np.where(has[:, None], volume.color[i, j, k], 0)
        count += has
    colors = np.clip(np.round(total / np.maximum(count, 1)[:, None]), 0, 255).astype(np.uint8)
    vertices = (volume.origin + verts.astype(np.float64) * volume.voxel).astype(np.float32)
    return Mesh(vertices, faces.astype(np.int64), colors)
