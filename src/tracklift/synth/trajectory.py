"""A smooth hand-held-like camera loop around the room, looking at objects.

Waypoints lie on a jittered ellipse through the free middle of the room at 1.2–1.8 m; each waypoint
looks at an object roughly outwards (sometimes across the room). Positions and look-at targets are
interpolated by a closed Catmull–Rom spline, and the camera goes round `loops` times (> 1 revisits the
first views after the objects have left the view).
"""

from __future__ import annotations

import numpy as np

from tracklift.synth.primitives import PrimitiveScene

WALL_MARGIN = 1.0  # metres between the path and the walls (tall furniture stands within 0.7 m of them)


def catmull_rom_closed(points: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Closed uniform Catmull–Rom spline through points [K, D] evaluated at parameters s [N] (period K)."""
    k = len(points)
    i = np.floor(s).astype(np.int64)
    f = (s - i)[:, None]
    p0, p1, p2, p3 = (points[(i + j) % k] for j in (-1, 0, 1, 2))
    return 0.5 * (2 * p1 + (p2 - p0) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f**2 + (3 * p1 - p0 - 3 * p2 + p3) * f**3)


def look_at(position: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[4, 4] float64 camera-to-world pose (OpenCV axes, world z up) at `position` [3] looking at `target` [3]."""
    z = target - position
    z = z / np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    if np.linalg.norm(x) < 1e-6:  # looking straight up or down: any horizontal x will do
        x = np.array([1.0, 0.0, 0.0])
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x, y, z], axis=1)
    pose[:3, 3] = position
    return pose


def camera_path(scene: PrimitiveScene, frames: int, seed: int, loops: float = 1.25, waypoints: int = 8) -> np.ndarray:
    """Camera-to-world poses [frames, 4, 4] float64 along a closed loop through the room."""
    rng = np.random.default_rng([seed, 2])
    lo, hi = scene.room.lo, scene.room.hi
    center = (lo + hi) / 2
    semi = np.maximum((hi[:2] - lo[:2]) / 2 - WALL_MARGIN, 0.3)
    angles = np.sort(rng.uniform(0, 2 * np.pi / waypoints, waypoints) + np.arange(waypoints) * 2 * np.pi / waypoints)
    radius = rng.uniform(0.6, 1.0, waypoints)
    positions = np.stack(
        [
            center[0] + semi[0] * radius * np.cos(angles),
            center[1] + semi[1] * radius * np.sin(angles),
            rng.uniform(1.2, 1.8, waypoints),
        ],
        1,
    )
    centers = np.array([o.box()[:3] for o in scene.objects])
    targets = []
    for pos, angle in zip(positions, angles):
        # Look outwards at nearby furniture or across the room, at things not too close to frame.
        wanted = angle + rng.uniform(-1.0, 1.0) + (np.pi if rng.random() < 0.4 else 0.0)
        rel = centers[:, :2] - pos[:2]
        bearing = np.arctan2(rel[:, 1], rel[:, 0])
        off = np.abs((bearing - wanted + np.pi) % (2 * np.pi) - np.pi)
        off[np.linalg.norm(rel, axis=1) < 1.5] += np.pi / 2
        target = centers[int(np.argmin(off))].copy()
        target[2] = np.clip(target[2], 0.3, 1.3)
        targets.append(target)
    s = np.linspace(0.0, loops * waypoints, frames, endpoint=False)
    pos = catmull_rom_closed(positions, s)
    tgt = catmull_rom_closed(np.array(targets), s)
    return np.stack([look_at(p, q) for p, q in zip(pos, tgt)])
