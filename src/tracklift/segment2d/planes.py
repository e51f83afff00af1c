"""Dominant planes (floor, walls, table tops) of one depth image by sequential RANSAC.

Each round draws 3-point hypotheses from a random subsample of the remaining pixels, scores them
on that subsample, refits the winner by least squares on its inliers, takes its inliers over the whole
image, refits to their largest connected piece and takes the inliers again; a plane is kept when one
connected piece of its inliers is large, and then consists of its pieces that are not tiny. A pixel is
an inlier when it is near the plane (a tolerance that grows with depth beyond 1 m, as depth noise does)
and its normal agrees with the plane's; at the end each plane also takes the pixels connected to it
that are near it, whatever their normals (noise, creases).

The per-pixel tests run as numba kernels (`plane_inliers_fast`, `_plane_mask`, `_near_plane`) beside their
numpy references (`plane_inliers` and the same expressions in `find_planes(..., fast=False)`); they agree
except where float rounding puts a pixel within an ulp of a tolerance.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np

from tracklift.core.config import config, option


@config
class PlaneConfig:
    max_planes: int = option(4, "at most this many planes", low=0, high=64)
    rounds: int = option(8, "RANSAC rounds", low=1, high=256)
    min_fraction: float = option(0.08, "share of the valid pixels a plane's largest piece must hold", low=0.0, high=1.0)
    min_piece: float = option(0.01, "share of the valid pixels its other pieces need to count", low=0.0, high=1.0)
    distance: float = option(0.02, "inlier distance at 1 m depth (scaled beyond), metres", low=1e-6, high=10.0)
    angle_deg: float = option(20.0, "normal tolerance, degrees", low=0.0, high=90.0)
    iterations: int = option(200, "hypotheses per plane", low=1, high=100_000)
    sample_size: int = option(4000, "pixels scored per hypothesis", low=3, high=10_000_000)


def depth_tolerance(points: np.ndarray, cfg: PlaneConfig) -> np.ndarray:
    """[M, 1] float32 inlier distances for camera-frame points [M, 3]: cfg.distance, scaled by depth beyond 1 m."""
    return np.float32(cfg.distance) * np.maximum(points[:, 2:3], np.float32(1.0))


def plane_inliers(points: np.ndarray, normals: np.ndarray, planes: np.ndarray, tol, angle_deg: float) -> np.ndarray:
    """points, normals: [M, 3] float32; planes: [P, 4] (unit n, d with n·x + d = 0); tol: metres, a scalar or
    [M, 1] per point -> [M, P] bool: near the plane and the normal within angle_deg of the plane's (either sign)."""
    planes = planes.astype(np.float32)
    dist = np.abs(points @ planes[:, :3].T + planes[:, 3])
    agree = np.abs(normals @ planes[:, :3].T) >= np.float32(np.cos(np.radians(angle_deg)))
    return (dist <= tol) & agree


def plane_inliers_fast(points: np.ndarray, normals: np.ndarray, planes: np.ndarray, tol, angle_deg: float):
    """`plane_inliers` as one numba pass (same arguments and result)."""
    points = np.ascontiguousarray(points, np.float32)
    tol = np.ascontiguousarray(np.broadcast_to(np.asarray(tol, np.float32), (len(points), 1))[:, 0])
    cos = np.float32(np.cos(np.radians(angle_deg)))
    return _inliers_kernel(points, np.ascontiguousarray(normals, np.float32), planes.astype(np.float32), tol, cos)


@numba.njit(cache=True, nogil=True)
def _inliers_kernel(points, normals, planes, tol, cos):
    out = np.empty((len(points), len(planes)), np.bool_)
    for i in range(len(points)):
        for j in range(len(planes)):
            dist = abs(
                points[i, 0] * planes[j, 0] + points[i, 1] * planes[j, 1] + points[i, 2] * planes[j, 2] + planes[j, 3]
            )
            dot = abs(normals[i, 0] * planes[j, 0] + normals[i, 1] * planes[j, 1] + normals[i, 2] * planes[j, 2])
            out[i, j] = dist <= tol[i] and dot >= cos
    return out


@numba.njit(cache=True, nogil=True)
def _plane_mask(points, normals, candidates, plane, distance, cos):
    """[N] bool: candidates [N] bool that are inliers of plane [4] float32 with tolerance `depth_tolerance`
    (distance float32); `plane_inliers` over the candidates, without gathering them."""
    out = np.zeros(len(points), np.bool_)
    one = np.float32(1.0)
    for i in range(len(points)):
        if candidates[i]:
            tol = distance * max(points[i, 2], one)
            dist = abs(points[i, 0] * plane[0] + points[i, 1] * plane[1] + points[i, 2] * plane[2] + plane[3])
            dot = abs(normals[i, 0] * plane[0] + normals[i, 1] * plane[1] + normals[i, 2] * plane[2])
            out[i] = dist <= tol and dot >= cos
    return out


@numba.njit(cache=True, nogil=True)
def _near_plane(points, free, plane, distance):
    """[N] bool: free [N] bool points within `distance` (scaled by depth beyond 1 m) of plane [4] float64."""
    out = np.zeros(len(points), np.bool_)
    one = np.float32(1.0)
    for i in range(len(points)):
        if free[i]:
            tol = distance * max(points[i, 2], one)
            p0, p1, p2 = np.float64(points[i, 0]), np.float64(points[i, 1]), np.float64(points[i, 2])
            out[i] = abs(p0 * plane[0] + p1 * plane[1] + p2 * plane[2] + plane[3]) <= tol
    return out


def _pieces(inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-connected pieces of `inside` [H, W] bool: labels [H, W] int32 (0 = outside) and sizes [count] (sizes[0] = "
    "0)."""
    count, labels = cv2.connectedComponents(inside.astype(np.uint8), connectivity=8)
    sizes = np.bincount(labels.ravel(), minlength=count)
    sizes[0] = 0
    return labels, sizes


def fit_plane(points: np.ndarray) -> np.ndarray:
    """Least-squares plane through points [M, 3] -> [4] float64 (unit normal, offset)."""
    points = points.astype(np.float64)
    centre = points.mean(axis=0)
    normal = np.linalg.svd(points - centre, full_matrices=False)[2][-1]
    return np.append(normal, -normal @ centre)


def best_plane(
    points: np.ndarray,
    normals: np.ndarray,
    tol,
    rng: np.random.Generator,
    iterations: int,
    angle_deg: float,
    inliers=plane_inliers,
):
    """Best of `iterations` random 3-point planes over a sample (points, normals: [M, 3]; tol as in
    `plane_inliers`), refit to its inliers; with its inlier count. (None, 0) when every triple is degenerate.
    inliers: `plane_inliers` or `plane_inliers_fast`."""
    tri = rng.integers(0, len(points), (iterations, 3))
    normal = np.cross(points[tri[:, 1]] - points[tri[:, 0]], points[tri[:, 2]] - points[tri[:, 0]])
    norm = np.linalg.norm(normal, axis=1)
    keep = norm > 1e-12
    if not keep.any():
        return None, 0
    normal = normal[keep] / norm[keep, None]
    hyp = np.concatenate([normal, -np.sum(normal * points[tri[keep, 0]], axis=1, keepdims=True)], axis=1)
    support = inliers(points, normals, hyp, tol, angle_deg)
    best = int(np.argmax(support.sum(axis=0)))
    inliers = support[:, best]
    plane = fit_plane(points[inliers]) if inliers.sum() >= 3 else hyp[best]
    return plane, int(inliers.sum())


def find_planes(
    points: np.ndarray, normals: np.ndarray, valid: np.ndarray, cfg: PlaneConfig, seed: int = 0, fast: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Dominant planes of one view (fast: numba kernels, else their numpy references).

    points: [H, W, 3] float32, metres, camera frame.  normals: [H, W, 3] float32 unit.  valid: [H, W] bool.
    Returns plane_ids [H, W] int32 (-1 = on no plane) and planes [P, 4] float64 (unit normal, offset),
    in the order found (largest first, up to RANSAC's luck, which `seed` fixes).
    """
    h, w = valid.shape
    if points.shape != (h, w, 3) or normals.shape != (h, w, 3):
        raise ValueError(f"points and normals must be [{h}, {w}, 3] like valid, got {points.shape}, {normals.shape}")
    rng = np.random.default_rng(seed)
    flat_p = points.reshape(-1, 3).astype(np.float32, copy=False)
    flat_n = normals.reshape(-1, 3).astype(np.float32, copy=False)
    plane_ids = np.full(h * w, -1, np.int32)
    remaining = valid.reshape(-1).copy()
    needed = cfg.min_fraction * valid.sum()
    planes: list[np.ndarray] = []

    distance, cos = np.float32(cfg.distance), np.float32(np.cos(np.radians(cfg.angle_deg)))

    def on_plane(plane: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        if fast:
            return _plane_mask(flat_p, flat_n, remaining, plane.astype(np.float32), distance, cos)
        inside = np.zeros_like(remaining)
        pts = flat_p[candidates]
        tol = depth_tolerance(pts, cfg)
        inside[candidates] = plane_inliers(pts, flat_n[candidates], plane[None], tol, cfg.angle_deg)[:, 0]
        return inside

    for _ in range(cfg.rounds):
        candidates = np.flatnonzero(remaining)
        if len(planes) == cfg.max_planes or candidates.size < max(needed, 3):
            break
        sample = rng.choice(candidates, min(cfg.sample_size, candidates.size), replace=False)
        pts = flat_p[sample]
        tol = depth_tolerance(pts, cfg)
        inliers = plane_inliers_fast if fast else plane_inliers
        plane, support = best_plane(pts, flat_n[sample], tol, rng, cfg.iterations, cfg.angle_deg, inliers)
        if plane is None or support * candidates.size / sample.size < needed:
            break  # not even the best hypothesis is likely to hold a large enough plane
        inside = on_plane(plane, candidates)
        # Refit to the largest connected piece alone: a plane through scraps of several surfaces
        # (the tops of two boxes of different heights) then falls back onto one real surface.
        labels, sizes = _pieces(inside.reshape(h, w))
        if sizes.max() >= 3:
            largest = np.flatnonzero(labels.ravel() == np.argmax(sizes))
            plane = fit_plane(flat_p[rng.choice(largest, min(cfg.sample_size, largest.size), replace=False)])
            inside = on_plane(plane, candidates)
        remaining &= ~inside
        # Coplanar scraps without one large piece are no support surface.
        labels, sizes = _pieces(inside.reshape(h, w))
        if sizes.max() >= needed:
            plane_ids[np.isin(labels.ravel(), np.flatnonzero(sizes >= cfg.min_piece * valid.sum()))] = len(planes)
            planes.append(plane)
    plane_ids = plane_ids.reshape(h, w)
    _grow(plane_ids, planes, flat_p, valid, cfg, fast)
    return plane_ids, np.array(planes, np.float64).reshape(-1, 4)


def _grow(
    plane_ids: np.ndarray, planes: list[np.ndarray], flat_p: np.ndarray, valid: np.ndarray, cfg: PlaneConfig, fast: bool
) -> None:
    """Give each plane the unassigned pixels that lie on it by distance alone and connect to it through such
    pixels: where noise or a crease (floor meets wall) spoils the normals, the distance test still holds."""
    for index, plane in enumerate(planes):
        mine = plane_ids.ravel() == index
        free = valid.ravel() & (plane_ids.ravel() < 0)
        if fast:
            near = _near_plane(flat_p, free, plane.astype(np.float64), np.float32(cfg.distance))
        else:
            tol = cfg.distance * np.maximum(flat_p[:, 2], 1.0)
            near = np.zeros_like(free)
            near[free] = np.abs(flat_p[free] @ plane[:3] + plane[3]) <= tol[free]
        count, labels = cv2.connectedComponents((near | mine).reshape(plane_ids.shape).astype(np.uint8), connectivity=8)
        touching = np.zeros(count, bool)
        touching[labels.ravel()[mine]] = True
        touching[0] = False
        plane_ids.reshape(-1)[near & touching[labels.ravel()]] = index
