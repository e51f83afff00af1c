"""Slow, obviously correct versions of `rasterize` and `trace_weights`: one Gaussian and one pixel at a time.

Only for tests on tiny scenes (autograd through Python scalars). The model is spelled out in
`rasterizer.py`'s module docstring; this file follows it line by line without tiles or batching.
"""

from __future__ import annotations

import math

import torch

from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians, eval_sh, quat_to_rotmat
from tracklift.splat.render.output import ALPHA_MAX, ALPHA_MIN, LOWPASS, T_MIN, RenderOutput


def _splats(g: Gaussians, cam: Camera, near: float, sh_degree: int | None, colors: torch.Tensor | None) -> list[dict]:
    """Screen-space splats of the Gaussians in front of the camera, sorted front to back."""
    K, R, t = cam.tensors(g.means.dtype)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    center = torch.as_tensor(cam.center, dtype=g.means.dtype)
    degree = g.sh_degree if sh_degree is None else sh_degree
    splats = []
    for i in range(g.n):
        p = R @ g.means[i] + t
        x, y, z = p[0], p[1], p[2]
        if z <= near:
            continue
        # The Jacobian of the perspective map, with x/z and y/z clamped to 15 % beyond the image border.
        u_lo, u_hi = -(cx + 0.15 * cam.width) / fx, (1.15 * cam.width - cx) / fx
        v_lo, v_hi = -(cy + 0.15 * cam.height) / fy, (1.15 * cam.height - cy) / fy
        tx = torch.clamp(x / z, u_lo, u_hi) * z
        ty = torch.clamp(y / z, v_lo, v_hi) * z
        J = torch.stack([torch.stack([fx / z, 0 * z, -fx * tx / z**2]), torch.stack([0 * z, fy / z, -fy * ty / z**2])])
        rot = quat_to_rotmat(g.quats[i : i + 1])[0]
        cov3d = rot @ torch.diag(torch.exp(2 * g.log_scales[i])) @ rot.T
        cov2d = J @ R @ cov3d @ R.T @ J.T + LOWPASS * torch.eye(2, dtype=z.dtype)
        det = torch.linalg.det(cov2d)
        if det <= 0:
            continue
        mid, det_f = 0.5 * float((cov2d[0, 0] + cov2d[1, 1]).detach()), float(det.detach())
        radius = math.ceil(3.0 * math.sqrt(mid + math.sqrt(max(0.1, mid**2 - det_f))))
        if colors is None:
            direction = (g.means[i] - center) / torch.linalg.norm(g.means[i] - center)
            color = torch.clamp(eval_sh(g.sh[i : i + 1], direction[None], degree)[0] + 0.5, min=0.0)
        else:
            color = colors[i]
        splats.append(
            {
                "index": i,
                "mean": torch.stack([fx * x / z + cx, fy * y / z + cy]),
                "conic": torch.linalg.inv(cov2d),
                "radius": radius,
                "opacity": torch.sigmoid(g.opacity_logits[i]),
                "depth": z,
                "color": color,
            }
        )
    splats.sort(key=lambda s: float(s["depth"].detach()))
    return splats


def _pixel_contributions(
    splats: list[dict], u: int, v: int, dtype: torch.dtype
) -> tuple[list[tuple[dict, torch.Tensor]], torch.Tensor]:
    """Front-to-back compositing at pixel (u, v): [(splat, weight α·T)], final transmittance."""
    T = torch.ones((), dtype=dtype)
    out = []
    for s in splats:
        d = torch.stack([u - s["mean"][0], v - s["mean"][1]])
        if abs(float(d[0].detach())) > s["radius"] or abs(float(d[1].detach())) > s["radius"]:  # outside the 3σ square
            continue
        power = -0.5 * (d @ s["conic"] @ d)  # <= 0: the conic is positive definite
        alpha = torch.clamp(s["opacity"] * torch.exp(power), max=ALPHA_MAX)
        if alpha < ALPHA_MIN:
            continue
        next_T = T * (1 - alpha)
        if next_T < T_MIN:
            break
        out.append((s, alpha * T))
        T = next_T
    return out, T


def rasterize_reference(
    g: Gaussians,
    cam: Camera,
    *,
    sh_degree: int | None = None,
    background: tuple[float, ...] | None = None,
    colors: torch.Tensor | None = None,
    near: float = 0.01,
) -> RenderOutput:
    """Per-pixel version of `rasterize` (color, alpha and depth; means2d and radii are not produced)."""
    splats = _splats(g, cam, near, sh_degree, colors)
    n_ch = 3 if colors is None else colors.shape[1]
    bg = torch.zeros(n_ch, dtype=g.means.dtype)
    if background is not None:
        bg = torch.as_tensor(background, dtype=g.means.dtype)
    color_rows, alpha_rows, depth_rows = [], [], []
    for v in range(cam.height):
        for u in range(cam.width):
            contribs, T = _pixel_contributions(splats, u, v, g.means.dtype)
            c = bg * T
            acc_depth = torch.zeros((), dtype=g.means.dtype)
            for s, w in contribs:
                c = c + w * s["color"]
                acc_depth = acc_depth + w * s["depth"]
            alpha = 1 - T
            color_rows.append(c)
            alpha_rows.append(alpha)
            depth_rows.append(acc_depth / torch.clamp(alpha, min=1e-10))
    shape = (cam.height, cam.width)
    return RenderOutput(
        color=torch.stack(color_rows).reshape(*shape, n_ch),
        alpha=torch.stack(alpha_rows).reshape(shape),
        depth=torch.stack(depth_rows).reshape(shape),
        means2d=torch.zeros(0, 2),
        radii=torch.zeros(0, dtype=torch.int64),
    )


def trace_weights_reference(
    g: Gaussians,
    cam: Camera,
    labels: torch.Tensor,
    num_labels: int,
    mode: str = "alpha",
    *,
    near: float = 0.01,
    count_threshold: float = ALPHA_MIN,
) -> torch.Tensor:
    """Per-pixel version of `trace_weights`: [N, num_labels] float32."""
    table = torch.zeros(g.n, num_labels, dtype=torch.float64)
    with torch.no_grad():
        splats = _splats(g, cam, near, None, torch.zeros(g.n, 0, dtype=g.means.dtype))
        for v in range(cam.height):
            for u in range(cam.width):
                label = int(labels[v, u])
                if label < 0:
                    continue
                for s, w in _pixel_contributions(splats, u, v, g.means.dtype)[0]:
                    if mode == "alpha":
                        table[s["index"], label] += float(w.detach())
                    elif w > count_threshold:
                        table[s["index"], label] += 1.0
    return table.float()
