"""Edge weights of a surface graph (pixels of a depth image, or voxels of a fused map) for FH segmentation.

weight = max(shape + color_weight · colour − tolerance, 0), with
    shape  = depth_weight · off-tangent-plane distance / scale + normal_weight · (1 − n_a·n_b),
             times convex_factor on convex creases: normals diverge across a convex crease (a box's edge,
             which should not split an object) and converge across a concave one (object meets support or
             another object, which should);
    colour = CIE Lab distance / 100.
The off-tangent-plane distance is each end's distance from the other's tangent plane (zero along a slanted
surface, large across a step); `scale` makes it relative (the nearer depth for pixels).
Differences below `tolerance` are sensor noise: they always merge, even inside noise-free regions whose FH
internal difference is zero.
`crease_weights` is vectorised numpy over edge arrays, `edge_weight` the same float32 arithmetic for one edge
inside numba kernels (the pixel graph's), `crease_weights_reference` plain Python for tests.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np


def lab_colors(rgb: np.ndarray) -> np.ndarray:
    """[..., 3] uint8 RGB -> [..., 3] float32 CIE Lab / 100."""
    rgb = np.asarray(rgb, np.uint8)
    flat = rgb.reshape(-1, 1, 3).astype(np.float32)
    flat /= 255.0
    lab = cv2.cvtColor(flat, cv2.COLOR_RGB2Lab)
    lab /= 100.0
    return lab.reshape(rgb.shape)


def crease_weights(
    points: np.ndarray,
    normals: np.ndarray,
    lab: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    scale,
    depth_weight: float,
    normal_weight: float,
    convex_factor: float,
    color_weight: float,
    tolerance: float,
) -> np.ndarray:
    """[E] float32 weights of edges src → dst (module docstring), unsorted.

    points: [N, 3] float32 metres; normals: [N, 3] unit, facing the viewer; lab: [N, 3] (`lab_colors`);
    src, dst: [E] int node ids; scale: metres, a scalar or [E].
    """
    p, n = points, normals
    step = p[dst] - p[src]
    off_plane = np.maximum(np.abs(np.sum(n[src] * step, axis=1)), np.abs(np.sum(n[dst] * step, axis=1))) / scale
    angle = 1.0 - np.sum(n[src] * n[dst], axis=1)
    shape = depth_weight * off_plane + normal_weight * angle
    convex = np.sum((n[src] - n[dst]) * (p[src] - p[dst]), axis=1) > 0
    shape = np.where(convex, convex_factor * shape, shape)
    colour = np.linalg.norm(lab[src] - lab[dst], axis=1)
    return np.maximum(shape + color_weight * colour - tolerance, 0).astype(np.float32)


@numba.njit(cache=True, nogil=True)
def edge_weight(points, normals, lab, a, b, scale, depth_weight, normal_weight, convex_factor, color_weight, tolerance):
    """`crease_weights` of the one edge a → b (node rows of points, normals, lab [N, 3] float32); scale and the
    weights float32, so the arithmetic is `crease_weights`' float32 arithmetic."""
    s0, s1, s2 = points[b, 0] - points[a, 0], points[b, 1] - points[a, 1], points[b, 2] - points[a, 2]
    off_a = abs(normals[a, 0] * s0 + normals[a, 1] * s1 + normals[a, 2] * s2)
    off_b = abs(normals[b, 0] * s0 + normals[b, 1] * s1 + normals[b, 2] * s2)
    off_plane = max(off_a, off_b) / scale
    cos = normals[a, 0] * normals[b, 0] + normals[a, 1] * normals[b, 1] + normals[a, 2] * normals[b, 2]
    shape = depth_weight * off_plane + normal_weight * (np.float32(1.0) - cos)
    d0, d1, d2 = normals[a, 0] - normals[b, 0], normals[a, 1] - normals[b, 1], normals[a, 2] - normals[b, 2]
    if d0 * -s0 + d1 * -s1 + d2 * -s2 > 0:
        shape = convex_factor * shape
    c0, c1, c2 = lab[a, 0] - lab[b, 0], lab[a, 1] - lab[b, 1], lab[a, 2] - lab[b, 2]
    colour = np.sqrt(c0 * c0 + c1 * c1 + c2 * c2)
    return max(shape + color_weight * colour - tolerance, np.float32(0.0))


def crease_weights_reference(
    points, normals, lab, src, dst, scale, depth_weight, normal_weight, convex_factor, color_weight, tolerance
) -> np.ndarray:
    """Plain per-edge version of `crease_weights` (the tests compare the two)."""
    scale = np.broadcast_to(np.asarray(scale, np.float64), (len(src),))
    out = np.empty(len(src), np.float32)
    for e, (a, b) in enumerate(zip(np.asarray(src).tolist(), np.asarray(dst).tolist())):
        pa, pb = np.asarray(points[a], np.float64), np.asarray(points[b], np.float64)
        na, nb = np.asarray(normals[a], np.float64), np.asarray(normals[b], np.float64)
        off = max(abs(na @ (pb - pa)), abs(nb @ (pb - pa))) / scale[e]
        shape = depth_weight * off + normal_weight * (1.0 - na @ nb)
        if (na - nb) @ (pa - pb) > 0:
            shape *= convex_factor
        colour = np.linalg.norm(np.asarray(lab[a], np.float64) - np.asarray(lab[b], np.float64))
        out[e] = max(shape + color_weight * colour - tolerance, 0.0)
    return out
