"""The room's structure in a fused voxel map: floor, walls and ceiling, found as bounding planes.

Sequential RANSAC over the voxels (`segment2d.planes.best_plane` with a constant tolerance): each round
takes the best plane of the remaining voxels, refits it to its largest 3D-connected piece and takes its
inliers out of the search. A plane is *structural* when it bounds the map — the cameras see it from one
side and almost nothing of the map lies behind it (a floor, a wall, a ceiling; never a table top, which
has the floor below it, nor a cabinet front, which has a wall behind it) — and its largest connected
piece is room-sized. Structural planes take, besides their inliers, every voxel within `grow_distance`
connected to them through such voxels (noise, pose drift, creases), whatever its normal.
The floor is the structural plane facing most nearly up (within `floor_angle_deg` of the cameras' mean
up), the lowest of those; its normal is the map's refined up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracklift.core.config import config, option
from tracklift.lift.components import voxel_components
from tracklift.segment2d.planes import best_plane, fit_plane, plane_inliers


@config
class StructureConfig:
    distance: float = option(0.03, "inlier distance to a plane, metres", low=1e-6, high=10.0)
    angle_deg: float = option(25.0, "normal tolerance, degrees", low=0.0, high=90.0)
    max_planes: int = option(12, "planes tried at most", low=0, high=256)
    rounds: int = option(24, "RANSAC rounds at most", low=1, high=1024)
    iterations: int = option(300, "hypotheses per round", low=1, high=100_000)
    sample_size: int = option(20000, "voxels scored per hypothesis", low=3, high=10_000_000)
    min_plane_area: float = option(1.0, "area a structural plane's largest piece needs, m²", low=0.0, high=1e6)
    behind: float = option(
        0.10, "map voxels further than this behind a plane are behind it, metres", low=0.0, high=100.0
    )
    max_behind: float = option(0.05, "share of the map's voxels a bounding plane may have behind it", low=0.0, high=1.0)
    grow_distance: float = option(
        0.06, "structure grows to voxels this close to its planes, metres", low=0.0, high=10.0
    )
    floor_angle_deg: float = option(30.0, "floor normal vs the cameras' up, degrees", low=0.0, high=90.0)
    seed: int = option(0, "RANSAC seed", low=0)


@dataclass
class Structure:
    """structural: [N] bool voxels on floor, walls or ceiling.  planes: [P, 4] float64 structural planes
    (unit normal facing the cameras, offset).  up: [3] unit up (the floor's normal when a floor was found).
    floor_height: the floor's height along `up` (metres; the map's 2nd height percentile without a floor)."""

    structural: np.ndarray
    planes: np.ndarray
    up: np.ndarray
    floor_height: float


def find_structure(
    points: np.ndarray,
    normals: np.ndarray,
    view: np.ndarray,
    up: np.ndarray,
    voxel: float,
    cfg: StructureConfig | None = None,
) -> Structure:
    """points: [N, 3] float32 voxel centres, metres, world; normals: [N, 3] float32 unit; view: [N, 3] float32
    unit directions towards the cameras; up: [3] the cameras' mean up; voxel: edge, metres."""
    cfg = cfg or StructureConfig()
    n = len(points)
    if normals.shape != (n, 3) or view.shape != (n, 3):
        raise ValueError(f"normals and view must be [{n}, 3] like points, got {normals.shape}, {view.shape}")
    rng = np.random.default_rng(cfg.seed)
    coords = np.floor(points / voxel).astype(np.int64)
    structural = np.zeros(n, bool)
    remaining = np.ones(n, bool)
    planes: list[np.ndarray] = []
    needed = cfg.min_plane_area / voxel**2
    for _ in range(cfg.rounds):
        candidates = np.flatnonzero(remaining)
        if len(planes) == cfg.max_planes or len(candidates) < max(needed, 3):
            break
        sample = rng.choice(candidates, min(cfg.sample_size, len(candidates)), replace=False)
        plane, support = best_plane(points[sample], normals[sample], cfg.distance, rng, cfg.iterations, cfg.angle_deg)
        if plane is None or support * len(candidates) / len(sample) < needed:
            break
        inside = _on_plane(plane, candidates, points, normals, cfg)
        piece = _largest_piece(coords, inside)
        if len(piece) >= 3:
            plane = fit_plane(points[piece])
            inside = _on_plane(plane, candidates, points, normals, cfg)
            piece = _largest_piece(coords, inside)
        remaining[inside] = False
        if len(piece) < needed:
            continue
        plane = _facing_cameras(plane, view[inside])
        if np.mean(points @ plane[:3] + plane[3] < -cfg.behind) <= cfg.max_behind:
            structural |= _grow(plane, inside, points, coords, cfg.grow_distance)
            planes.append(plane)
    planes_arr = np.array(planes, np.float64).reshape(-1, 4)
    up, floor = _floor(planes_arr, np.asarray(up, np.float64), points, cfg.floor_angle_deg)
    return Structure(structural, planes_arr, up, floor)


def _on_plane(plane: np.ndarray, candidates: np.ndarray, points, normals, cfg: StructureConfig) -> np.ndarray:
    inside = np.zeros(len(points), bool)
    inside[candidates] = plane_inliers(
        points[candidates], normals[candidates], plane[None], cfg.distance, cfg.angle_deg
    )[:, 0]
    return inside


def _largest_piece(coords: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Indices of the largest 26-connected piece of the `inside` voxels."""
    idx = np.flatnonzero(inside)
    if len(idx) == 0:
        return idx
    labels = voxel_components(coords[idx], np.zeros(len(idx), np.int64), 1)
    return idx[labels == np.argmax(np.bincount(labels))]


def _facing_cameras(plane: np.ndarray, view: np.ndarray) -> np.ndarray:
    """The plane with its normal flipped, if needed, to the side its inliers were seen from."""
    return -plane if view.sum(axis=0) @ plane[:3] < 0 else plane


def _grow(plane: np.ndarray, inside: np.ndarray, points: np.ndarray, coords: np.ndarray, distance: float):
    """[N] bool: `inside` plus the voxels within `distance` of the plane connected to it through such voxels."""
    near = inside | (np.abs(points @ plane[:3] + plane[3]) <= distance)
    idx = np.flatnonzero(near)
    labels = voxel_components(coords[idx], np.zeros(len(idx), np.int64), 1)
    touching = np.zeros(labels.max() + 1, bool)
    touching[labels[inside[idx]]] = True
    out = np.zeros(len(points), bool)
    out[idx[touching[labels]]] = True
    return out


def _floor(planes: np.ndarray, up: np.ndarray, points: np.ndarray, angle_deg: float) -> tuple[np.ndarray, float]:
    floors = [p for p in planes if p[:3] @ up >= np.cos(np.radians(angle_deg))]
    if not floors:
        return up, float(np.percentile(points @ up, 2)) if len(points) else 0.0
    # n·x + d = 0 with n up: the plane's height along n is −d; the lowest is the floor.
    floor = min(floors, key=lambda p: -p[3])
    return floor[:3].copy(), float(-floor[3])
