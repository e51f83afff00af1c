"""Z-buffer triangle rasterizer of per-vertex ids: what a labelled mesh looks like from a camera.

ScanNet's 2D labels are the annotated reconstruction rendered into each frame with the frame's (estimated)
pose; `rasterize_ids` does the same. A pixel (centre at integer coordinates) takes the nearest triangle
covering it (perspective-correct depth) and that triangle's id at the corner with the largest barycentric
weight; pixels no triangle covers get 0. Triangles with a corner closer than `NEAR` are skipped.

`rasterize_ids` is the numba kernel; `rasterize_ids_reference` the plain per-triangle, per-pixel loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NEAR = 0.05  # metres


def _project(vertices: np.ndarray, K: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """[V, 3] float64 (u, v, z): pixel coordinates and camera depth of world `vertices` [V, 3]."""
    cam = (np.asarray(vertices, np.float64) - pose[:3, 3]) @ pose[:3, :3]
    z = cam[:, 2]
    safe = np.where(z > NEAR, z, 1.0)
    return np.stack([K[0, 0] * cam[:, 0] / safe + K[0, 2], K[1, 1] * cam[:, 1] / safe + K[1, 2], z], 1)


def _check(vertices: np.ndarray, faces: np.ndarray, ids: np.ndarray, K: np.ndarray, pose: np.ndarray) -> None:
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"vertices must be [V, 3] and faces [F, 3]; got {vertices.shape} and {faces.shape}")
    if ids.shape != (len(vertices),):
        raise ValueError(f"ids must be [{len(vertices)}] (one per vertex), got {ids.shape}")
    if K.shape != (3, 3) or pose.shape != (4, 4):
        raise ValueError(f"K must be [3, 3] and pose [4, 4]; got {K.shape} and {pose.shape}")


def rasterize_ids(
    vertices: np.ndarray, faces: np.ndarray, ids: np.ndarray, K: np.ndarray, pose: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Render per-vertex `ids` [V] int into a width×height image.

    vertices: [V, 3] float32 metres, world frame; faces: [F, 3] int; K: [3, 3] float64 pixels;
    pose: [4, 4] float64 camera-to-world. Returns ids [H, W] int64 (0: no surface) and depth [H, W]
    float64 metres (inf: no surface).
    """
    _check(vertices, faces, ids, K, pose)
    uvz = _project(vertices, K, pose)
    out = np.zeros((height, width), np.int64)
    zbuf = np.full((height, width), np.inf)
    _raster_kernel(uvz, np.ascontiguousarray(faces, np.int64), np.ascontiguousarray(ids, np.int64), out, zbuf)
    return out, zbuf


@njit(cache=True)
def _raster_kernel(uvz, faces, ids, out, zbuf):
    h, w = out.shape
    for f in range(len(faces)):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        if uvz[a, 2] <= NEAR or uvz[b, 2] <= NEAR or uvz[c, 2] <= NEAR:
            continue
        ax, ay, bx, by, cx, cy = uvz[a, 0], uvz[a, 1], uvz[b, 0], uvz[b, 1], uvz[c, 0], uvz[c, 1]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if area == 0:
            continue
        u0 = max(int(np.ceil(min(ax, bx, cx))), 0)
        u1 = min(int(np.floor(max(ax, bx, cx))), w - 1)
        v0 = max(int(np.ceil(min(ay, by, cy))), 0)
        v1 = min(int(np.floor(max(ay, by, cy))), h - 1)
        for v in range(v0, v1 + 1):
            for u in range(u0, u1 + 1):
                wa = ((bx - u) * (cy - v) - (by - v) * (cx - u)) / area
                wb = ((cx - u) * (ay - v) - (cy - v) * (ax - u)) / area
                wc = 1.0 - wa - wb
                if wa < 0 or wb < 0 or wc < 0:
                    continue
                z = 1.0 / (wa / uvz[a, 2] + wb / uvz[b, 2] + wc / uvz[c, 2])
                if z < zbuf[v, u]:
                    zbuf[v, u] = z
                    if wa >= wb and wa >= wc:
                        out[v, u] = ids[a]
                    elif wb >= wc:
                        out[v, u] = ids[b]
                    else:
                        out[v, u] = ids[c]


def rasterize_ids_reference(
    vertices: np.ndarray, faces: np.ndarray, ids: np.ndarray, K: np.ndarray, pose: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Plain-Python `rasterize_ids`: every pixel tested against every triangle."""
    _check(vertices, faces, ids, K, pose)
    uvz = _project(vertices, K, pose)
    out = np.zeros((height, width), np.int64)
    zbuf = np.full((height, width), np.inf)
    for tri in faces.tolist():
        (ax, ay, az), (bx, by, bz), (cx, cy, cz) = (uvz[i].tolist() for i in tri)
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if min(az, bz, cz) <= NEAR or area == 0:
            continue
        for v in range(height):
            for u in range(width):
                weights = (
                    ((bx - u) * (cy - v) - (by - v) * (cx - u)) / area,
                    ((cx - u) * (ay - v) - (cy - v) * (ax - u)) / area,
                )
                weights += (1.0 - weights[0] - weights[1],)
                if min(weights) < 0:
                    continue
                z = 1.0 / (weights[0] / az + weights[1] / bz + weights[2] / cz)
                if z < zbuf[v, u]:
                    zbuf[v, u] = z
                    out[v, u] = ids[tri[int(np.argmax(weights))]]
    return out, zbuf
