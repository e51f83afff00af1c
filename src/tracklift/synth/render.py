"""Ray-cast rendering of a `PrimitiveScene`: RGB (Lambert + ambient), z-depth, instance and semantic ids.

Each part is intersected only with the rays inside its projected bounding rectangle (screen-space
culling), vectorised with numpy; `tracklift.synth.reference.render_depth_instance` is the pixel-by-pixel
reference this is tested against. No shadows: the point light just shades by angle and distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracklift.synth.primitives import Part, PrimitiveScene
from tracklift.synth.raycast import ROOM_NORMALS, intersect_part, intersect_room, part_normals
from tracklift.synth.texture import albedo, to_local

NEAR = 0.05  # metres; parts with corners closer than this are tested against the whole image
AMBIENT = 0.35


@dataclass
class RGBDRender:
    """One rendered view.

    depth:    [H, W] float32, metres along the optical axis (the room is closed: every pixel hits).
    instance: [H, W] int32, instance number of the visible surface (objects and room faces).
    semantic: [H, W] int32, label id of the visible surface.
    color:    [H, W, 3] uint8 RGB, noise-free.
    cos_incidence: [H, W] float32, |cos| of the angle between the view ray and the surface normal.
    """

    depth: np.ndarray
    instance: np.ndarray
    semantic: np.ndarray
    color: np.ndarray
    cos_incidence: np.ndarray


def intrinsics(width: int, height: int) -> np.ndarray:
    """[3, 3] float64 pinhole intrinsics with a ScanNet-like field of view (fx = 0.9 · width)."""
    f = 0.9 * width
    return np.array([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]])


def camera_rays(K: np.ndarray, pose: np.ndarray, width: int, height: int) -> np.ndarray:
    """World-frame ray directions [H, W, 3] float64 whose camera z component is 1 (so t = z-depth)."""
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    d_cam = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)
    return d_cam @ pose[:3, :3].T


def _screen_rect(part: Part, K: np.ndarray, pose: np.ndarray, width: int, height: int) -> tuple[slice, slice] | None:
    """Rows and columns that can see `part`, from its projected corners; None when it is behind the camera."""
    cam = (part.corners() - pose[:3, 3]) @ pose[:3, :3]
    if (cam[:, 2] < NEAR).all():
        return None
    if (cam[:, 2] < NEAR).any():
        return slice(0, height), slice(0, width)
    u = K[0, 0] * cam[:, 0] / cam[:, 2] + K[0, 2]
    v = K[1, 1] * cam[:, 1] / cam[:, 2] + K[1, 2]
    u0, u1 = max(int(np.floor(u.min())), 0), min(int(np.ceil(u.max())) + 1, width)
    v0, v1 = max(int(np.floor(v.min())), 0), min(int(np.ceil(v.max())) + 1, height)
    if u0 >= u1 or v0 >= v1:
        return None
    return slice(v0, v1), slice(u0, u1)


def render(scene: PrimitiveScene, K: np.ndarray, pose: np.ndarray, width: int, height: int) -> RGBDRender:
    """Render `scene` from camera-to-world `pose` [4, 4] with intrinsics `K` [3, 3] at width×height."""
    origin = pose[:3, 3]
    dirs = camera_rays(K, pose, width, height)
    room = scene.room
    t, face = intersect_room(origin, dirs, room.lo, room.hi)
    # Surface index per pixel: 0..5 room faces, 6 + k the k-th part.
    surface = face.astype(np.int64)
    parts = [(p, o.instance, o.label_id) for o in scene.objects for p in o.parts]
    for k, (part, _, _) in enumerate(parts):
        rect = _screen_rect(part, K, pose, width, height)
        if rect is None:
            continue
        t_part = intersect_part(origin, dirs[rect], part)
        closer = t_part < t[rect]
        t[rect] = np.where(closer, t_part, t[rect])
        surface[rect] = np.where(closer, 6 + k, surface[rect])

    instances = np.array(list(room.face_instances) + [i for _, i, _ in parts], np.int32)
    label_ids = np.array(list(room.face_label_ids) + [lab for _, _, lab in parts], np.int32)
    color, cos_inc = _shade(scene, parts, origin, dirs, t, surface)
    return RGBDRender(t.astype(np.float32), instances[surface], label_ids[surface], color, cos_inc)


def _shade(
    scene: PrimitiveScene, parts: list, origin: np.ndarray, dirs: np.ndarray, t: np.ndarray, surface: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Colour [H, W, 3] uint8 and |cos incidence| [H, W] float32, one visible surface at a time."""
    h, w = t.shape
    flat = surface.ravel()
    order = np.argsort(flat, kind="stable")
    bounds = np.searchsorted(flat[order], np.arange(6 + len(parts) + 1))
    d = dirs.reshape(-1, 3)
    points = origin + d * t.reshape(-1, 1)
    rgb = np.zeros((h * w, 3))
    cos_inc = np.zeros(h * w)
    for k in range(6 + len(parts)):
        idx = order[bounds[k] : bounds[k + 1]]
        if len(idx) == 0:
            continue
        p = points[idx]
        if k < 6:
            normal = np.broadcast_to(ROOM_NORMALS[k], p.shape)
            base = albedo(scene.room.materials[k], p)
        else:
            part = parts[k - 6][0]
            normal = part_normals(p, part)
            base = albedo(part.material, to_local(p, part.center, part.yaw))
        view = d[idx] / np.linalg.norm(d[idx], axis=1, keepdims=True)
        cos_v = (normal * view).sum(1)
        normal = np.where(cos_v[:, None] > 0, -normal, normal)  # face the camera
        to_light = scene.light - p
        dist = np.linalg.norm(to_light, axis=1)
        diffuse = np.clip((normal * to_light).sum(1) / np.maximum(dist, 1e-9), 0, None) / (1 + 0.04 * dist**2)
        rgb[idx] = base * (AMBIENT + 0.15 * np.abs(cos_v) + 0.6 * diffuse)[:, None]
        cos_inc[idx] = np.abs(cos_v)
    color = np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8).reshape(h, w, 3)
    return color, cos_inc.astype(np.float32).reshape(h, w)
