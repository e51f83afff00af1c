"""Plain, slow, obviously correct ray casting: one ray at a time, Python floats.

The vectorised kernels in `tracklift.synth.raycast` and the culling renderer in `tracklift.synth.render`
are tested against these. Boxes use a different algorithm here (six face planes, point-in-rectangle)
than the slab method of the fast path, so the two check each other.
"""

from __future__ import annotations

import math

import numpy as np

from tracklift.synth.primitives import Part, PrimitiveScene

_EPS = 1e-6


def ray_box(o: np.ndarray, d: np.ndarray, center: np.ndarray, size: np.ndarray, yaw: float) -> float:
    """Smallest t > 0 where o + t d meets the box surface, inf on a miss."""
    c, s = math.cos(yaw), math.sin(yaw)
    rel = [o[i] - center[i] for i in range(3)]
    lo = [c * rel[0] + s * rel[1], -s * rel[0] + c * rel[1], rel[2]]
    ld = [c * d[0] + s * d[1], -s * d[0] + c * d[1], d[2]]
    half = [size[i] / 2 for i in range(3)]
    best = math.inf
    for axis in range(3):
        if ld[axis] == 0:
            continue
        for sign in (-1.0, 1.0):
            t = (sign * half[axis] - lo[axis]) / ld[axis]
            if t <= _EPS or t >= best:
                continue
            inside = all(abs(lo[k] + t * ld[k]) <= half[k] * (1 + 1e-12) + 1e-12 for k in range(3) if k != axis)
            if inside:
                best = t
    return best


def ray_cylinder(o: np.ndarray, d: np.ndarray, center: np.ndarray, radius: float, height: float) -> float:
    """Smallest t > 0 where o + t d meets the upright capped cylinder, inf on a miss."""
    ox, oy, oz = (o[i] - center[i] for i in range(3))
    dx, dy, dz = d
    hh = height / 2
    best = math.inf
    a = dx * dx + dy * dy
    if a > 0:
        b = 2 * (ox * dx + oy * dy)
        c = ox * ox + oy * oy - radius * radius
        disc = b * b - 4 * a * c
        if disc >= 0:
            for t in ((-b - math.sqrt(disc)) / (2 * a), (-b + math.sqrt(disc)) / (2 * a)):
                if _EPS < t < best and abs(oz + t * dz) <= hh:
                    best = t
    if dz != 0:
        for zc in (hh, -hh):
            t = (zc - oz) / dz
            x, y = ox + t * dx, oy + t * dy
            if _EPS < t < best and x * x + y * y <= radius * radius:
                best = t
    return best


def ray_sphere(o: np.ndarray, d: np.ndarray, center: np.ndarray, radius: float) -> float:
    """Smallest t > 0 where o + t d meets the sphere (geometric closest-approach form), inf on a miss."""
    norm = math.sqrt(sum(x * x for x in d))
    u = [x / norm for x in d]
    oc = [center[i] - o[i] for i in range(3)]
    along = sum(oc[i] * u[i] for i in range(3))
    dist2 = sum(x * x for x in oc) - along * along
    if dist2 > radius * radius:
        return math.inf
    half_chord = math.sqrt(radius * radius - dist2)
    for s in (along - half_chord, along + half_chord):
        if s / norm > _EPS:
            return s / norm
    return math.inf


def ray_room(o: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[float, int]:
    """Exit (t, face) of a ray starting inside the box [lo, hi]; faces -x, +x, -y, +y, -z, +z = 0..5."""
    best, face = math.inf, -1
    for axis in range(3):
        if d[axis] > 0:
            t, f = (hi[axis] - o[axis]) / d[axis], 2 * axis + 1
        elif d[axis] < 0:
            t, f = (lo[axis] - o[axis]) / d[axis], 2 * axis
        else:
            continue
        if t < best:
            best, face = t, f
    return best, face


def ray_part(o: np.ndarray, d: np.ndarray, part: Part) -> float:
    if part.kind == "box":
        return ray_box(o, d, part.center, part.size, part.yaw)
    if part.kind == "cylinder":
        return ray_cylinder(o, d, part.center, part.size[0] / 2, part.size[2])
    return ray_sphere(o, d, part.center, part.size[0] / 2)


def render_depth_instance(
    scene: PrimitiveScene, K: np.ndarray, pose: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-by-pixel z-depth [H, W] float64 (metres) and instance [H, W] int64 by testing every part."""
    depth = np.zeros((height, width))
    instance = np.zeros((height, width), np.int64)
    origin = pose[:3, 3]
    for v in range(height):
        for u in range(width):
            d = pose[:3, :3] @ np.array([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], 1.0])
            best, face = ray_room(origin, d, scene.room.lo, scene.room.hi)
            inst = scene.room.face_instances[face]
            for obj in scene.objects:
                for part in obj.parts:
                    t = ray_part(origin, d, part)
                    if t < best:
                        best, inst = t, obj.instance
            depth[v, u], instance[v, u] = best, inst
    return depth, instance
