"""Mesh superpoints by ScanNet's segmentator (the algorithm behind every `*.segs.json` it ships).

Faithful to ScanNet's C++ in every step that decides the result:

* vertex normal: the running mean (`lerp` by 1/(count+1), in face order) of the *unit* normals of the
  faces around the vertex — each face counts once whatever its area, and the mean is not renormalised;
* graph: three directed edges per face, (i1, i2), (i1, i3), (i3, i2), so an edge shared by two faces
  appears twice, possibly with two different weights;
* weight `1 − n_a·n_b`, squared when the edge is convex: `n_b · (p_b − p_a)/|p_b − p_a| > 0`
  (squaring shrinks small normal differences across convex creases);
* all arithmetic in float32 in the C++ evaluation order, edges sorted in `std::sort` order, then
  `graph_segment.segment_graph` (threshold `w + k/size`, then the small-segment merge pass).

One deliberate difference: a zero-area face has no normal (ScanNet divides by zero and spreads NaN
into its vertices' normals, whose edges then sort in an undefined order); here such a face is skipped
when averaging normals. Meshes without degenerate faces segment exactly as ScanNet does.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tracklift.superpoints.graph_segment import segment_graph

_ONE = np.float32(1.0)


def _check_mesh(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert: vertices [V, 3] finite → float32; faces [F, 3] indices in [0, V) → int64."""
    vertices = np.asarray(vertices)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be [V, 3], got {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must be [F, 3] triangles, got {faces.shape}")
    if not np.issubdtype(faces.dtype, np.integer) and len(faces):
        raise ValueError(f"faces must hold integer vertex indices, got dtype {faces.dtype}")
    if not np.all(np.isfinite(vertices)):
        raise ValueError("vertices contain NaN or infinite coordinates")
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise ValueError(f"faces index vertices outside [0, {len(vertices)})")
    return np.ascontiguousarray(vertices, np.float32), np.ascontiguousarray(faces, np.int64)


def segment_mesh(vertices: np.ndarray, faces: np.ndarray, k_thresh: float = 0.01, min_verts: int = 20) -> np.ndarray:
    """ScanNet superpoints of a triangle mesh.

    vertices: [V, 3] float32, metres. faces: [F, 3] int vertex indices, counter-clockwise seen from
    outside (the winding decides which creases count as convex).
    k_thresh: ScanNet's `kThresh` (larger → larger segments). min_verts: ScanNet's `segMinVerts`.
    Returns [V] int64 segment ids: the representative vertex of each segment, as in `segIndices`.
    """
    a, b, w = mesh_graph(vertices, faces)
    return segment_graph(len(vertices), a, b, w, k_thresh, min_verts)


def mesh_graph(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ScanNet's edge graph of a mesh: a, b [3F] int64 (edge a→b), w [3F] float32 weights."""
    vertices, faces = _check_mesh(vertices, faces)
    normals = _vertex_normals_kernel(vertices, faces)
    a = faces[:, [0, 0, 2]].ravel()
    b = faces[:, [1, 2, 1]].ravel()
    return a, b, edge_weights(vertices, normals, a, b)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """[V, 3] float32: running mean of unit face normals per vertex (not renormalised), as ScanNet."""
    vertices, faces = _check_mesh(vertices, faces)
    return _vertex_normals_kernel(vertices, faces)


def edge_weights(points: np.ndarray, normals: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ScanNet's edge weight for edges a→b, vectorised in float32 with the C++ evaluation order.

    points, normals: [V, 3] float32 (normals need not be unit). a, b: [E] int.
    Returns [E] float32: `1 − n_a·n_b`, squared where `n_b · unit(p_b − p_a) > 0` (convex).
    """
    p = np.asarray(points, np.float32)
    n = np.asarray(normals, np.float32)
    pa, pb, na, nb = p[a], p[b], n[a], n[b]
    d = pb - pa
    # Coincident vertices give 0/0: the convexity test is then False, as in C++.
    with np.errstate(invalid="ignore", divide="ignore"):
        dd = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2])
        d = d / dd[:, None]
    dot = na[:, 0] * nb[:, 0] + na[:, 1] * nb[:, 1] + na[:, 2] * nb[:, 2]
    dot2 = nb[:, 0] * d[:, 0] + nb[:, 1] * d[:, 1] + nb[:, 2] * d[:, 2]
    w = _ONE - dot
    return np.where(dot2 > 0, w * w, w).astype(np.float32)


@njit(cache=True)
def _vertex_normals_kernel(vertices, faces):
    normals = np.zeros(vertices.shape, np.float32)
    counts = np.zeros(len(vertices), np.int64)
    one = np.float32(1.0)
    for f in range(len(faces)):
        i1, i2, i3 = faces[f, 0], faces[f, 1], faces[f, 2]
        e1 = vertices[i2] - vertices[i1]
        e2 = vertices[i3] - vertices[i1]
        cx = e1[1] * e2[2] - e1[2] * e2[1]
        cy = e1[2] * e2[0] - e1[0] * e2[2]
        cz = e1[0] * e2[1] - e1[1] * e2[0]
        length = math.sqrt(cx * cx + cy * cy + cz * cz)
        if length == 0:
            continue
        cx, cy, cz = cx / length, cy / length, cz / length
        for v in (i1, i2, i3):
            t = one / (np.float32(counts[v]) + one)
            u = one - t
            normals[v, 0] = t * cx + u * normals[v, 0]
            normals[v, 1] = t * cy + u * normals[v, 1]
            normals[v, 2] = t * cz + u * normals[v, 2]
            counts[v] += 1
    return normals


def mesh_graph_reference(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain-Python `mesh_graph`, one face and one edge at a time in float32 scalars; equal bit for bit."""
    vertices, faces = _check_mesh(vertices, faces)
    f32 = np.float32
    normals = [[f32(0), f32(0), f32(0)] for _ in range(len(vertices))]
    counts = [0] * len(vertices)
    a, b = [], []
    for i1, i2, i3 in faces.tolist():
        p1, p2, p3 = vertices[i1], vertices[i2], vertices[i3]
        e1 = [p2[j] - p1[j] for j in range(3)]
        e2 = [p3[j] - p1[j] for j in range(3)]
        c = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]]
        length = np.sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2])
        a += [i1, i1, i3]
        b += [i2, i3, i2]
        if length == 0:
            continue
        c = [cj / length for cj in c]
        for v in (i1, i2, i3):
            t = f32(1) / (f32(counts[v]) + f32(1))
            normals[v] = [t * c[j] + (f32(1) - t) * normals[v][j] for j in range(3)]
            counts[v] += 1
    weights = []
    for i, j in zip(a, b):
        d = [vertices[j][m] - vertices[i][m] for m in range(3)]
        dd = np.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
        dot = normals[i][0] * normals[j][0] + normals[i][1] * normals[j][1] + normals[i][2] * normals[j][2]
        w = f32(1) - dot
        if dd > 0:
            u = [dm / dd for dm in d]
            if normals[j][0] * u[0] + normals[j][1] * u[1] + normals[j][2] * u[2] > 0:
                w = w * w
        weights.append(w)
    return np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(weights, np.float32)
