"""Tessellate a `PrimitiveScene` into a coloured triangle mesh with per-vertex ground truth.

Every surface is a parametric grid (box faces, cylinder sides and caps, sphere latitude/longitude)
whose vertices lie exactly on the analytic surface the renderer ray-casts; coincident vertices of a
part are welded. Each object's grid spacing is refined until it has `min_object_vertices` vertices
(evaluation ignores regions under 100 vertices). Room faces are meshed on the inside only; faces that
rest on something (`Part.open_bottom`) are left out because they can never be seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tracklift.io.ply import Mesh
from tracklift.synth.primitives import Part, PrimitiveScene
from tracklift.synth.texture import albedo, to_local

MIN_SEGMENTS = 12  # around a cylinder or sphere, however small


@dataclass
class SceneMesh:
    """The scene mesh and its ground truth.

    mesh:     vertices [V, 3] float32 metres world, faces [F, 3], colors [V, 3] uint8 (albedo).
    instance: [V] int32, instance number (objects 1..K, then the room faces).
    label_id: [V] int32, ScanNet200 label id.
    segment:  [V] int32, one segment per part / room face (a coarse over-segmentation).
    """

    mesh: Mesh
    instance: np.ndarray
    label_id: np.ndarray
    segment: np.ndarray


def _grid(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], nu: int, nv: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices [(nu+1)(nv+1), 3] of fn(u, v) on [0,1]² and faces whose normal is d/du × d/dv."""
    u, v = np.meshgrid(np.linspace(0, 1, nu + 1), np.linspace(0, 1, nv + 1), indexing="ij")
    verts = fn(u.ravel(), v.ravel())
    idx = np.arange((nu + 1) * (nv + 1)).reshape(nu + 1, nv + 1)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return verts, faces


def _rect(
    center: np.ndarray, half: np.ndarray, axis: int, sign: float, spacing: float
) -> tuple[np.ndarray, np.ndarray]:
    """The face of the axis-aligned box (center, half) on side `sign` of `axis`, normal pointing that way."""
    b, c = (axis + 1) % 3, (axis + 2) % 3
    if sign < 0:
        b, c = c, b  # keep d/du × d/dv along the outward normal
    nu, nv = (max(1, int(np.ceil(2 * half[k] / spacing))) for k in (b, c))

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        p = np.tile(center, (len(u), 1))
        p[:, axis] += sign * half[axis]
        p[:, b] += (2 * u - 1) * half[b]
        p[:, c] += (2 * v - 1) * half[c]
        return p

    return _grid(fn, nu, nv)


def _weld(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate grids, merge coincident vertices (1e-7 m), drop faces that became degenerate."""
    offsets = np.cumsum([0] + [len(v) for v, _ in parts])
    verts = np.concatenate([v for v, _ in parts])
    faces = np.concatenate([f + o for (_, f), o in zip(parts, offsets)])
    _, first, inverse = np.unique(
        np.round(verts * 1e7).astype(np.int64), axis=0, return_index=True, return_inverse=True
    )
    # Keep the first occurrence's order so output does not depend on coordinate sorting quirks.
    keep = np.sort(first)
    remap = np.empty(len(first), np.int64)
    remap[np.argsort(first)] = np.arange(len(first))
    new_index = remap[inverse.ravel()]
    faces = new_index[faces]
    ok = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    return verts[keep], faces[ok]


def tessellate(part: Part, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices [V, 3] float64 (world, exactly on the surface) and outward-wound faces [F, 3] of a part."""
    half = part.size / 2
    if part.kind == "box":
        grids = [
            _rect(np.zeros(3), half, axis, sign, spacing)
            for axis in range(3)
            for sign in (-1.0, 1.0)
            if not (axis == 2 and sign < 0 and part.open_bottom)
        ]
        verts, faces = _weld(grids)
        c, s = np.cos(part.yaw), np.sin(part.yaw)
        verts = verts @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T
        return verts + part.center, faces
    r = half[0]
    n_around = max(MIN_SEGMENTS, int(np.ceil(2 * np.pi * r / spacing)))
    if part.kind == "cylinder":
        hh = half[2]
        n_up, n_rad = max(1, int(np.ceil(2 * hh / spacing))), max(1, int(np.ceil(r / spacing)))

        def side(u: np.ndarray, v: np.ndarray) -> np.ndarray:  # u: angle, v: height
            return np.stack([r * np.cos(2 * np.pi * u), r * np.sin(2 * np.pi * u), (2 * v - 1) * hh], 1)

        def cap(radial: np.ndarray, angle: np.ndarray, z: float) -> np.ndarray:
            return np.stack(
                [
                    r * radial * np.cos(2 * np.pi * angle),
                    r * radial * np.sin(2 * np.pi * angle),
                    np.full_like(radial, z),
                ],
                1,
            )

        # Parameter order sets the winding: (radius, angle) faces +z, (angle, radius) faces -z.
        grids = [_grid(side, n_around, n_up), _grid(lambda u, v: cap(u, v, hh), n_rad, n_around)]
        if not part.open_bottom:
            grids.append(_grid(lambda u, v: cap(v, u, -hh), n_around, n_rad))
        verts, faces = _weld(grids)
        return verts + part.center, faces

    def sphere(u: np.ndarray, v: np.ndarray) -> np.ndarray:  # u: polar angle / pi, v: azimuth / 2 pi
        polar, azimuth = np.pi * u, 2 * np.pi * v
        return r * np.stack([np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)], 1)

    verts, faces = _weld([_grid(sphere, max(MIN_SEGMENTS // 2, int(np.ceil(np.pi * r / spacing))), n_around)])
    return verts + part.center, faces


def build_mesh(scene: PrimitiveScene, spacing: float = 0.08, min_object_vertices: int = 250) -> SceneMesh:
    """Mesh of every object (refined until >= `min_object_vertices` each) and the room's inner faces."""
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray, int, int]] = []  # verts, faces, colours, instance, label
    for obj in scene.objects:
        step = spacing
        while True:
            meshed = [tessellate(p, step) for p in obj.parts]
            if sum(len(v) for v, _ in meshed) >= min_object_vertices or step < 1e-3:
                break
            step /= 1.4
        for part, (v, f) in zip(obj.parts, meshed):
            colors = albedo(part.material, to_local(v, part.center, part.yaw))
            pieces.append((v, f, colors, obj.instance, obj.label_id))
    room = scene.room
    center, half = (room.lo + room.hi) / 2, (room.hi - room.lo) / 2
    for face in range(6):
        axis, positive = divmod(face, 2)
        # Seen from inside: wind the -x wall like a +x face (normal into the room), then put it on x = lo.
        v, f = _rect(center, half, axis, -1.0 if positive else 1.0, spacing)
        v[:, axis] = room.hi[axis] if positive else room.lo[axis]
        pieces.append((v, f, albedo(room.materials[face], v), room.face_instances[face], room.face_label_ids[face]))

    offsets = np.cumsum([0] + [len(p[0]) for p in pieces])
    vertices = np.concatenate([p[0] for p in pieces]).astype(np.float32)
    faces = np.concatenate([p[1] + o for p, o in zip(pieces, offsets)])
    colors = np.clip(np.round(np.concatenate([p[2] for p in pieces]) * 255), 0, 255).astype(np.uint8)
    sizes = [len(p[0]) for p in pieces]
    instance = np.repeat([p[3] for p in pieces], sizes).astype(np.int32)
    label_id = np.repeat([p[4] for p in pieces], sizes).astype(np.int32)
    segment = np.repeat(np.arange(len(pieces)), sizes).astype(np.int32)
    return SceneMesh(Mesh(vertices, faces, colors), instance, label_id, segment)


def observed_vertices(
    vertices: np.ndarray,
    vertex_instance: np.ndarray,
    K: np.ndarray,
    pose: np.ndarray,
    depth: np.ndarray,
    instance: np.ndarray,
    tolerance: float = 0.03,
) -> np.ndarray:
    """[V] bool: vertices a camera sees — in front, inside the image, and at a pixel (or a neighbouring one)
    that shows the vertex's own instance within `tolerance` metres (plus 1 % of the depth, for surfaces seen
    at a slant). The instance test keeps a wall hidden a centimetre behind a picture from counting as seen.

    vertices: [V, 3] metres, world frame; vertex_instance: [V] instance numbers; K: [3, 3]; pose: [4, 4]
    camera-to-world; depth: [H, W] metres, noise-free (0 = nothing hit); instance: [H, W] rendered instances.
    """
    h, w = depth.shape
    cam = (vertices.astype(np.float64) - pose[:3, 3]) @ pose[:3, :3]
    z = cam[:, 2]
    front = z > 1e-3
    safe_z = np.where(front, z, 1.0)
    u = np.round(K[0, 0] * cam[:, 0] / safe_z + K[0, 2]).astype(np.int64)
    v = np.round(K[1, 1] * cam[:, 1] / safe_z + K[1, 2]).astype(np.int64)
    inside = front & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    idx = np.nonzero(inside)[0]
    padded_depth = np.pad(depth, 1, mode="constant")
    padded_instance = np.pad(instance, 1, mode="constant")
    own = vertex_instance[idx]
    best = np.full(len(idx), np.inf)
    for dv in range(3):
        for du in range(3):
            d = padded_depth[v[idx] + dv, u[idx] + du]
            same = (d > 0) & (padded_instance[v[idx] + dv, u[idx] + du] == own)
            best = np.minimum(best, np.where(same, np.abs(d - z[idx]), np.inf))
    seen = np.zeros(len(vertices), bool)
    seen[idx] = best <= tolerance + 0.01 * z[idx]
    return seen


def crop_mesh(scene_mesh: SceneMesh, keep: np.ndarray) -> SceneMesh:
    """The part of the mesh on vertices `keep` ([V] bool): faces with all three corners kept, reindexed."""
    remap = np.full(len(keep), -1, np.int64)
    remap[keep] = np.arange(int(keep.sum()))
    faces = remap[scene_mesh.mesh.faces]
    faces = faces[(faces >= 0).all(axis=1)]
    mesh = Mesh(scene_mesh.mesh.vertices[keep], faces, scene_mesh.mesh.colors[keep])
    return SceneMesh(mesh, scene_mesh.instance[keep], scene_mesh.label_id[keep], scene_mesh.segment[keep])
