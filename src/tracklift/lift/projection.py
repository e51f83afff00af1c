"""Back-projection of depth pixels to world points, and which pixels are reliable enough to lift.

Conventions (docs/conventions.md): pixel (u, v) has its centre at integer coordinates, depth is z-depth in
metres (0 = invalid), `pose` is camera-to-world with OpenCV camera axes.
"""

from __future__ import annotations

import cv2
import numpy as np


def pixels_to_world(u: np.ndarray, v: np.ndarray, z: np.ndarray, K: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Pixels to world points.

    u, v: [N] pixel column and row (any numeric dtype); z: [N] z-depth, metres.
    K: [3, 3] intrinsics; pose: [4, 4] camera-to-world.
    Returns [N, 3] float32, metres, world frame.
    """
    z = np.asarray(z, np.float64)
    x = (np.asarray(u, np.float64) - K[0, 2]) / K[0, 0] * z
    y = (np.asarray(v, np.float64) - K[1, 2]) / K[1, 1] * z
    # One output column at a time: numpy's [N, 3] @ [3, 3] takes a slow non-BLAS path (≈ 25× slower here).
    out = np.empty((len(z), 3), np.float32)
    for i in range(3):
        out[:, i] = x * pose[i, 0] + y * pose[i, 1] + z * pose[i, 2] + pose[i, 3]
    return out


def project(points: np.ndarray, K: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World points [N, 3] -> pixel (u, v) [N] float64 and z-depth [N] float64 in the camera `pose` (c2w)."""
    R, t = pose[:3, :3], pose[:3, 3]
    points = np.asarray(points, np.float64)
    d = [points[:, i] - t[i] for i in range(3)]
    # cam = R^T (p - t), one column at a time (see pixels_to_world).
    x, y, z = (d[0] * R[0, i] + d[1] * R[1, i] + d[2] * R[2, i] for i in range(3))
    with np.errstate(divide="ignore", invalid="ignore"):
        u = K[0, 0] * x / z + K[0, 2]
        v = K[1, 1] * y / z + K[1, 2]
    return u, v, z


def depth_edges(depth: np.ndarray, ratio: float) -> np.ndarray:
    """[H, W] bool: pixels whose 3×3 neighbourhood spans a depth range above `ratio` × their depth.

    Invalid (0) neighbours count as a jump, so the rim of every hole is an edge too: both sides of a
    depth discontinuity mix foreground and background in real sensors, so they are not lifted.
    """
    kernel = np.ones((3, 3), np.uint8)
    hi = cv2.dilate(depth, kernel, borderType=cv2.BORDER_REPLICATE)
    lo = cv2.erode(depth, kernel, borderType=cv2.BORDER_REPLICATE)
    return (hi - lo) > ratio * depth


def depth_edges_reference(depth: np.ndarray, ratio: float) -> np.ndarray:
    """Plain per-pixel version of `depth_edges` (the tests compare the two)."""
    h, w = depth.shape
    out = np.zeros((h, w), bool)
    for r in range(h):
        for c in range(w):
            window = depth[max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2]
            out[r, c] = float(window.max()) - float(window.min()) > ratio * float(depth[r, c])
    return out


def reliable_pixels(depth: np.ndarray, min_depth: float, max_depth: float, edge_ratio: float) -> np.ndarray:
    """[H, W] bool: depth valid, within [min_depth, max_depth] metres, and not on a depth edge."""
    return (depth >= min_depth) & (depth <= max_depth) & ~depth_edges(depth, edge_ratio)
