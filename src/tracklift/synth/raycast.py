"""Vectorised ray–primitive intersections and surface normals (numpy, one primitive × many rays).

Rays are `origin + t * direction`; directions need not be unit length, so with camera directions
`((u - cx) / fx, (v - cy) / fy, 1)` the returned `t` is the z-depth. Every function returns the smallest
`t > T_MIN` at which the ray crosses the surface (`inf` when it never does), which is the first visible
surface also when the origin is inside the primitive. `tracklift.synth.reference` holds the scalar
reference implementations these are tested against.
"""

from __future__ import annotations

import numpy as np

from tracklift.synth.primitives import Part

T_MIN = 1e-6  # ignore crossings at the origin itself


def _first_positive(*candidates: np.ndarray) -> np.ndarray:
    t = np.stack(np.broadcast_arrays(*candidates))
    t = np.where(np.isfinite(t) & (t > T_MIN), t, np.inf)
    return t.min(axis=0)


def intersect_box(
    origins: np.ndarray, dirs: np.ndarray, center: np.ndarray, size: np.ndarray, yaw: float
) -> np.ndarray:
    """Ray parameter of the first crossing of a box (slab method).

    origins: [..., 3] or [3] float64; dirs: [..., 3] float64 (non-zero); center: [3]; size: [3] full extents;
    yaw: radians about +z. Returns [...] float64 (inf: miss).
    """
    c, s = np.cos(yaw), np.sin(yaw)
    o = origins - center
    # Per-axis component arrays (no [..., 3] stacks): reductions over a length-3 axis are slow in numpy.
    local = (
        (c * o[..., 0] + s * o[..., 1], c * dirs[..., 0] + s * dirs[..., 1]),
        (-s * o[..., 0] + c * o[..., 1], -s * dirs[..., 0] + c * dirs[..., 1]),
        (o[..., 2], dirs[..., 2]),
    )
    t_near, t_far = -np.inf, np.inf
    for (o_i, d_i), half in zip(local, np.asarray(size, np.float64) / 2):
        # A zero direction component becomes a tiny one: the slab test then treats the ray as parallel.
        inv = 1.0 / np.where(np.abs(d_i) < 1e-15, 1e-15, d_i)
        t1, t2 = (-half - o_i) * inv, (half - o_i) * inv
        t_near = np.maximum(t_near, np.minimum(t1, t2))
        t_far = np.minimum(t_far, np.maximum(t1, t2))
    t = np.where(t_near > T_MIN, t_near, t_far)  # from inside the box the first crossing is the exit
    return np.where((t_near <= t_far) & (t > T_MIN), t, np.inf)


def intersect_cylinder(
    origins: np.ndarray, dirs: np.ndarray, center: np.ndarray, radius: float, height: float
) -> np.ndarray:
    """Ray parameter of the first crossing of an upright capped cylinder (axis = world z through `center`).

    origins: [..., 3] or [3] float64; dirs: [..., 3]; center: [3] (middle of the axis); radius, height in metres.
    Returns [...] float64 (inf: miss).
    """
    o = np.broadcast_to(origins - center, dirs.shape)
    d = dirs
    hh = height / 2
    a = d[..., 0] ** 2 + d[..., 1] ** 2
    b = 2 * (o[..., 0] * d[..., 0] + o[..., 1] * d[..., 1])
    c = o[..., 0] ** 2 + o[..., 1] ** 2 - radius**2
    disc = b * b - 4 * a * c
    # inf/nan from parallel rays (a = 0 or d_z = 0) are masked out below.
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(disc)
        candidates = []
        for t in ((-b - root) / (2 * a), (-b + root) / (2 * a)):
            z = o[..., 2] + t * d[..., 2]
            candidates.append(np.where((disc >= 0) & (a > 0) & (np.abs(z) <= hh), t, np.inf))
        for t in ((hh - o[..., 2]) / d[..., 2], (-hh - o[..., 2]) / d[..., 2]):
            x = o[..., 0] + t * d[..., 0]
            y = o[..., 1] + t * d[..., 1]
            candidates.append(np.where(np.isfinite(t) & (x * x + y * y <= radius**2), t, np.inf))
    return _first_positive(*candidates)


def intersect_sphere(origins: np.ndarray, dirs: np.ndarray, center: np.ndarray, radius: float) -> np.ndarray:
    """Ray parameter of the first crossing of a sphere. origins [..., 3] or [3]; dirs [..., 3]. Returns [...]."""
    o = np.broadcast_to(origins - center, dirs.shape)
    a = (dirs * dirs).sum(-1)
    b = 2 * (o * dirs).sum(-1)
    c = (o * o).sum(-1) - radius**2
    disc = b * b - 4 * a * c
    with np.errstate(invalid="ignore"):
        root = np.sqrt(disc)
    ok = disc >= 0
    return _first_positive(np.where(ok, (-b - root) / (2 * a), np.inf), np.where(ok, (-b + root) / (2 * a), np.inf))


def intersect_room(
    origins: np.ndarray, dirs: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where rays starting inside the box [lo, hi] leave it.

    Returns t: [...] float64 and face: [...] int64 in 0..5 (-x, +x, -y, +y, -z, +z).
    """
    t = np.full(dirs.shape[:-1], np.inf)
    face = np.zeros(dirs.shape[:-1], np.int64)
    for axis in range(3):
        o_i, d_i = origins[..., axis], dirs[..., axis]
        # Per axis the exit is through the face the direction points at; parallel rays never exit there.
        with np.errstate(divide="ignore", invalid="ignore"):
            t_i = np.where(d_i > 0, (hi[axis] - o_i) / d_i, np.where(d_i < 0, (lo[axis] - o_i) / d_i, np.inf))
        closer = t_i < t
        t = np.where(closer, t_i, t)
        face = np.where(closer, 2 * axis + (d_i > 0), face)
    return t, face


def intersect_part(origins: np.ndarray, dirs: np.ndarray, part: Part) -> np.ndarray:
    """First crossing of any part kind; see the per-kind functions for shapes."""
    if part.kind == "box":
        return intersect_box(origins, dirs, part.center, part.size, part.yaw)
    if part.kind == "cylinder":
        return intersect_cylinder(origins, dirs, part.center, part.size[0] / 2, part.size[2])
    return intersect_sphere(origins, dirs, part.center, part.size[0] / 2)


def part_normals(points: np.ndarray, part: Part) -> np.ndarray:
    """Outward unit normals [N, 3] float64 at surface points [N, 3] of `part` (world frame)."""
    p = points - part.center
    if part.kind == "sphere":
        return p / np.linalg.norm(p, axis=1, keepdims=True)
    if part.kind == "cylinder":
        radial = np.hypot(p[:, 0], p[:, 1])
        on_cap = np.abs(np.abs(p[:, 2]) - part.size[2] / 2) < np.abs(radial - part.size[0] / 2)
        n = np.zeros_like(p)
        n[:, 2] = np.where(on_cap, np.sign(p[:, 2]), 0.0)
        safe = np.maximum(radial, 1e-12)
        n[:, 0] = np.where(on_cap, 0.0, p[:, 0] / safe)
        n[:, 1] = np.where(on_cap, 0.0, p[:, 1] / safe)
        return n
    c, s = np.cos(part.yaw), np.sin(part.yaw)
    local = np.stack([c * p[:, 0] + s * p[:, 1], -s * p[:, 0] + c * p[:, 1], p[:, 2]], 1)
    ratio = np.abs(local) / (part.size / 2)
    axis = np.argmax(ratio, axis=1)
    n_local = np.zeros_like(local)
    n_local[np.arange(len(p)), axis] = np.sign(local[np.arange(len(p)), axis])
    return np.stack([c * n_local[:, 0] - s * n_local[:, 1], s * n_local[:, 0] + c * n_local[:, 1], n_local[:, 2]], 1)


ROOM_NORMALS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], np.float64)
"""Inward normals of the room's faces, indexed like `intersect_room`'s face."""
