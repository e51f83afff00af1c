"""Camera-frame points and surface normals from a depth image (OpenCV axes, docs/conventions.md).

Normals come from the cross product of back-projected neighbour differences. At each pixel and
axis the difference is taken on the side whose depth changes least (forward or backward by `step`
pixels), so pixels beside a depth discontinuity still get the normal of their own surface instead
of a blend with the surface behind. `depth_normals` is vectorised numpy, `depth_normals_fast` one numba
pass (the same float32 arithmetic, so the same bits), `depth_normals_reference` the rule pixel by pixel
in Python, for tests.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np


def check_depth_k(depth: np.ndarray, K: np.ndarray) -> None:
    if depth.ndim != 2:
        raise ValueError(f"depth must be [H, W], got shape {depth.shape}")
    if K.shape != (3, 3):
        raise ValueError(f"K must be [3, 3], got shape {K.shape}")


def depth_to_points(depth: np.ndarray, K: np.ndarray) -> np.ndarray:
    """depth: [H, W] float32 metres (0 invalid); K: [3, 3] -> points [H, W, 3] float32, metres, camera frame."""
    check_depth_k(depth, K)
    h, w = depth.shape
    u = (np.arange(w, dtype=np.float32) - np.float32(K[0, 2])) / np.float32(K[0, 0])
    v = (np.arange(h, dtype=np.float32) - np.float32(K[1, 2])) / np.float32(K[1, 1])
    z = depth.astype(np.float32, copy=False)
    return np.stack([u[None, :] * z, v[:, None] * z, z], axis=-1)


def _one_sided(points: np.ndarray, depth: np.ndarray, axis: int, step: int, max_rel_jump: float):
    """Tangent along `axis` (0 = rows, 1 = columns) from the smoother side; returns (tangent, valid)."""
    n = depth.shape[axis]
    idx = np.arange(n)
    tangents, valids, jumps = [], [], []
    for sign in (1, -1):
        j = idx + sign * step
        inside = (j >= 0) & (j < n)
        j = np.clip(j, 0, n - 1)
        other_p = np.take(points, j, axis=axis)
        other_z = np.take(depth, j, axis=axis)
        shape = (n, 1) if axis == 0 else (1, n)
        inside = inside.reshape(shape)
        jump = np.abs(other_z - depth)
        ok = inside & (other_z > 0) & (depth > 0) & (jump <= max_rel_jump * np.minimum(other_z, depth))
        # Both tangents point along +axis so that the cross product's sign does not depend on the side.
        tangents.append((other_p - points) * sign)
        valids.append(ok)
        jumps.append(np.where(ok, jump, np.inf))
    use_forward = valids[0] & (jumps[0] <= jumps[1])
    tangent = np.where(use_forward[..., None], tangents[0], tangents[1])
    return tangent, valids[0] | valids[1]


def depth_normals(
    depth: np.ndarray, K: np.ndarray, step: int = 2, max_rel_jump: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals facing the camera.

    depth: [H, W] float32, metres, 0 invalid.  K: [3, 3] float64 pixels.
    step: neighbour distance in pixels.  max_rel_jump: a neighbour whose depth differs by more than
    this fraction of the nearer depth is on another surface and is not used.
    Returns normals [H, W, 3] float32 (camera frame, zero where invalid) and valid [H, W] bool.
    """
    check_depth_k(depth, K)
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    depth = depth.astype(np.float32, copy=False)
    points = depth_to_points(depth, K)
    tu, ok_u = _one_sided(points, depth, 1, step, max_rel_jump)
    tv, ok_v = _one_sided(points, depth, 0, step, max_rel_jump)
    normals = np.cross(tu, tv)
    norm = np.linalg.norm(normals, axis=-1)
    valid = ok_u & ok_v & (norm > 0)
    normals = normals / np.where(valid, norm, 1.0)[..., None]
    flip = np.sum(normals * points, axis=-1) > 0
    normals[flip] *= -1
    normals[~valid] = 0
    return normals.astype(np.float32), valid


def depth_normals_fast(
    depth: np.ndarray, K: np.ndarray, step: int = 2, max_rel_jump: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """`depth_normals` in one numba pass over the pixels (same arguments, same results)."""
    check_depth_k(depth, K)
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    h, w = depth.shape
    # The ray factors exactly as `depth_to_points` computes them, so points agree to the bit.
    u = (np.arange(w, dtype=np.float32) - np.float32(K[0, 2])) / np.float32(K[0, 0])
    v = (np.arange(h, dtype=np.float32) - np.float32(K[1, 2])) / np.float32(K[1, 1])
    depth = np.ascontiguousarray(depth, np.float32)
    return _normals_kernel(depth, u, v, step, np.float32(max_rel_jump))


@numba.njit(cache=True, nogil=True)
def _tangent(depth, u, v, row, col, d_row, d_col, max_rel_jump, out):
    """Tangent at (row, col) towards +(d_row, d_col) from the side whose depth changes least (into out [3]);
    False when neither side is on the same surface."""
    h, w = depth.shape
    z = depth[row, col]
    best = np.float32(np.inf)
    found = False
    for sign in (1, -1):
        r, c = row + sign * d_row, col + sign * d_col
        if r < 0 or r >= h or c < 0 or c >= w:
            continue
        oz = depth[r, c]
        jump = abs(oz - z)
        if oz > 0 and z > 0 and jump <= max_rel_jump * min(oz, z) and (not found or jump < best):
            found, best = True, jump
            s = np.float32(sign)
            out[0] = (u[c] * oz - u[col] * z) * s
            out[1] = (v[r] * oz - v[row] * z) * s
            out[2] = (oz - z) * s
    return found


@numba.njit(cache=True, nogil=True)
def _normals_kernel(depth, u, v, step, max_rel_jump):
    h, w = depth.shape
    normals = np.zeros((h, w, 3), np.float32)
    valid = np.zeros((h, w), np.bool_)
    tu = np.empty(3, np.float32)
    tv = np.empty(3, np.float32)
    for row in range(h):
        for col in range(w):
            if not _tangent(depth, u, v, row, col, 0, step, max_rel_jump, tu):
                continue
            if not _tangent(depth, u, v, row, col, step, 0, max_rel_jump, tv):
                continue
            n0 = tu[1] * tv[2] - tu[2] * tv[1]
            n1 = tu[2] * tv[0] - tu[0] * tv[2]
            n2 = tu[0] * tv[1] - tu[1] * tv[0]
            norm = np.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
            if not norm > 0:
                continue
            n0, n1, n2 = n0 / norm, n1 / norm, n2 / norm
            z = depth[row, col]
            if n0 * (u[col] * z) + n1 * (v[row] * z) + n2 * z > 0:
                n0, n1, n2 = -n0, -n1, -n2
            normals[row, col, 0] = n0
            normals[row, col, 1] = n1
            normals[row, col, 2] = n2
            valid[row, col] = True
    return normals, valid


def depth_normals_reference(
    depth: np.ndarray, K: np.ndarray, step: int = 2, max_rel_jump: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """`depth_normals`, one pixel at a time (slow; for tests)."""
    points = depth_to_points(depth, K)
    h, w = depth.shape
    normals = np.zeros((h, w, 3), np.float32)
    valid = np.zeros((h, w), bool)

    def tangent(v: int, u: int, dv: int, du: int):
        best = None
        for sign in (1, -1):
            vv, uu = v + sign * dv, u + sign * du
            if not (0 <= vv < h and 0 <= uu < w):
                continue
            z0, z1 = float(depth[v, u]), float(depth[vv, uu])
            jump = abs(z1 - z0)
            if z0 > 0 and z1 > 0 and jump <= max_rel_jump * min(z0, z1) and (best is None or jump < best[0]):
                best = (jump, (points[vv, uu] - points[v, u]) * sign)
        return None if best is None else best[1]

    for v in range(h):
        for u in range(w):
            tu, tv = tangent(v, u, 0, step), tangent(v, u, step, 0)
            if tu is None or tv is None:
                continue
            n = np.cross(tu, tv)
            if np.linalg.norm(n) == 0:
                continue
            n = n / np.linalg.norm(n)
            normals[v, u] = -n if np.dot(n, points[v, u]) > 0 else n
            valid[v, u] = True
    return normals, valid


def smooth_normals(normals: np.ndarray, valid: np.ndarray, size: int, fast: bool = True) -> np.ndarray:
    """Average valid normals over a size×size box and renormalise: [H, W, 3] float32 (zero where invalid).

    fast: renormalise in one numba pass (`_renormalise`), else numpy; the same float32 arithmetic either way."""
    if size <= 1:
        return normals
    summed = cv2.boxFilter(normals * valid[..., None], -1, (size, size), normalize=False)
    if fast:
        return _renormalise(np.ascontiguousarray(summed, np.float32), np.ascontiguousarray(valid, bool))
    norm = np.linalg.norm(summed, axis=-1, keepdims=True)
    out = np.where(valid[..., None] & (norm > 0), summed / np.maximum(norm, 1e-12), 0)
    return out.astype(np.float32)


@numba.njit(cache=True, nogil=True)
def _renormalise(summed, valid):
    h, w = valid.shape
    out = np.zeros((h, w, 3), np.float32)
    tiny = np.float32(1e-12)
    for row in range(h):
        for col in range(w):
            x, y, z = summed[row, col, 0], summed[row, col, 1], summed[row, col, 2]
            norm = np.sqrt(x * x + y * y + z * z)
            if valid[row, col] and norm > 0:
                norm = max(norm, tiny)
                out[row, col, 0], out[row, col, 1], out[row, col, 2] = x / norm, y / norm, z / norm
    return out
