"""Dominant planes (floor, walls, table tops) of one depth image by sequential RANSAC.

Each round draws 3-point hypotheses from a random subsample of the remaining pixels, scores them
on that subsample, refits the winner by least squares on its inliers and takes its inliers over
the whole image; a plane is kept when one connected piece of its inliers is large, and then consists of
its pieces that are not tiny. A pixel is an inlier when it is near the plane (a tolerance that grows with depth
beyond 1 m, as depth noise does) and its normal agrees with the plane's; at the end each plane also takes
the nearby pixels on it whose normals a crease blurred.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class PlaneConfig:
    """max_planes: at most this many planes, found in at most `rounds` RANSAC rounds.
    min_fraction: a plane's largest connected piece must hold this share of the valid pixels.
    min_piece: its other pieces count when they hold this share (a floor split by a sofa).
    distance: inlier distance in metres at 1 m depth (scaled by depth beyond).  angle_deg: normal tolerance.
    grow_px: pixels this close to a plane join it on distance alone (creases, where normals blend).
    iterations: hypotheses per plane.  sample_size: pixels scored per hypothesis."""

    max_planes: int = 4
    rounds: int = 8
    min_fraction: float = 0.08
    min_piece: float = 0.01
    distance: float = 0.02
    angle_deg: float = 20.0
    grow_px: int = 4
    iterations: int = 200
    sample_size: int = 4000


def _inliers(points: np.ndarray, normals: np.ndarray, planes: np.ndarray, cfg: PlaneConfig) -> np.ndarray:
    """points, normals: [M, 3]; planes: [P, 4] (unit n, d with n·x + d = 0) -> [M, P] bool."""
    dist = np.abs(points @ planes[:, :3].T + planes[:, 3])
    tol = cfg.distance * np.maximum(points[:, 2:3], 1.0)
    agree = np.abs(normals @ planes[:, :3].T) >= np.cos(np.radians(cfg.angle_deg))
    return (dist <= tol) & agree


def _large_pieces(inside: np.ndarray, min_piece: float, needed: float) -> np.ndarray | None:
    """The 8-connected pieces of `inside` [H, W] bool with >= min_piece pixels, or None when the largest
    piece has fewer than `needed` pixels: coplanar scraps (tops of equal-height boxes) are no support surface."""
    count, labels = cv2.connectedComponents(inside.astype(np.uint8), connectivity=8)
    sizes = np.bincount(labels.ravel(), minlength=count)
    sizes[0] = 0
    if sizes.max() < needed:
        return None
    return np.isin(labels, np.flatnonzero(sizes >= min_piece))


def _fit_plane(points: np.ndarray) -> np.ndarray:
    """Least-squares plane through points [M, 3] -> [4] (unit normal, offset)."""
    centre = points.mean(axis=0)
    normal = np.linalg.svd(points - centre, full_matrices=False)[2][-1]
    return np.append(normal, -normal @ centre)


def find_planes(
    points: np.ndarray, normals: np.ndarray, valid: np.ndarray, cfg: PlaneConfig, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Dominant planes of one view.

    points: [H, W, 3] float32, metres, camera frame.  normals: [H, W, 3] float32 unit.  valid: [H, W] bool.
    Returns plane_ids [H, W] int32 (-1 = on no plane) and planes [P, 4] float64 (unit normal, offset),
    in the order found (largest first, up to RANSAC's luck, which `seed` fixes).
    """
    h, w = valid.shape
    if points.shape != (h, w, 3) or normals.shape != (h, w, 3):
        raise ValueError(f"points and normals must be [{h}, {w}, 3] like valid, got {points.shape}, {normals.shape}")
    rng = np.random.default_rng(seed)
    flat_p = points.reshape(-1, 3).astype(np.float32)
    flat_n = normals.reshape(-1, 3).astype(np.float32)
    plane_ids = np.full(h * w, -1, np.int32)
    remaining = valid.reshape(-1).copy()
    needed = cfg.min_fraction * valid.sum()
    planes: list[np.ndarray] = []
    for _ in range(cfg.rounds):
        if len(planes) == cfg.max_planes:
            break
        candidates = np.flatnonzero(remaining)
        if candidates.size < max(needed, 3):
            break
        sample = rng.choice(candidates, min(cfg.sample_size, candidates.size), replace=False)
        sp, sn = flat_p[sample], flat_n[sample]
        tri = rng.integers(0, sample.size, (cfg.iterations, 3))
        normal = np.cross(sp[tri[:, 1]] - sp[tri[:, 0]], sp[tri[:, 2]] - sp[tri[:, 0]])
        norm = np.linalg.norm(normal, axis=1)
        keep = norm > 1e-12
        if not keep.any():
            break
        normal = normal[keep] / norm[keep, None]
        hyp = np.concatenate([normal, -np.sum(normal * sp[tri[keep, 0]], axis=1, keepdims=True)], axis=1)
        support = _inliers(sp, sn, hyp, cfg).sum(axis=0)
        if support.max() * candidates.size / sample.size < needed:
            break  # not even the best hypothesis is likely to hold a large enough plane
        best = hyp[np.argmax(support)]
        support = _inliers(sp, sn, best[None], cfg)[:, 0]
        if support.sum() >= 3:
            best = _fit_plane(sp[support].astype(np.float64))
        inside = np.zeros_like(remaining)
        inside[candidates] = _inliers(flat_p[candidates], flat_n[candidates], best[None], cfg)[:, 0]
        remaining &= ~inside
        inside = _large_pieces(inside.reshape(h, w), cfg.min_piece * valid.sum(), needed)
        if inside is not None:
            plane_ids[inside.ravel()] = len(planes)
            planes.append(best)
    plane_ids = plane_ids.reshape(h, w)
    _grow(plane_ids, planes, flat_p, valid, cfg)
    return plane_ids, np.array(planes, np.float64).reshape(-1, 4)


def _grow(plane_ids: np.ndarray, planes: list[np.ndarray], flat_p: np.ndarray, valid: np.ndarray, cfg: PlaneConfig) -> None:
    """Give each plane the unassigned pixels within `grow_px` of it that lie on it by distance alone:
    at a crease (floor meets wall) normals blend both surfaces and fail the normal test."""
    kernel = np.ones((2 * cfg.grow_px + 1,) * 2, np.uint8)
    tol = cfg.distance * np.maximum(flat_p[:, 2], 1.0)
    for index, plane in enumerate(planes):
        near = cv2.dilate((plane_ids == index).astype(np.uint8), kernel).astype(bool).ravel()
        free = near & valid.ravel() & (plane_ids.ravel() < 0)
        on_plane = np.abs(flat_p[free] @ plane[:3] + plane[3]) <= tol[free]
        plane_ids.reshape(-1)[np.flatnonzero(free)[on_plane]] = index
