"""Optional CUDA rasterization through gsplat (imported lazily, only when chosen).

Conversions from our conventions to `gsplat.rasterization`:
* viewmats = inverse of our camera-to-world pose (both use OpenCV camera axes);
* gsplat puts pixel centres at (u + 0.5, v + 0.5), ours at (u, v): shift cx, cy by +0.5;
* scales = exp(log_scales), opacities = sigmoid(logits); quats are wxyz in both;
* SH colours: gsplat evaluates the same real SH basis and adds the same +0.5 offset and clamp.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Sequence

import torch

if TYPE_CHECKING:
    from tracklift.splat.camera import Camera
    from tracklift.splat.gaussians import Gaussians
    from tracklift.splat.rasterize import RenderOutput

BACKENDS = ("auto", "cpu", "gsplat")


def gsplat_available() -> bool:
    """True when CUDA is usable and the gsplat package can be imported."""
    return torch.cuda.is_available() and importlib.util.find_spec("gsplat") is not None


def choose_backend(backend: str) -> str:
    """Resolve "auto" to "gsplat" or "cpu"; raise a clear error when "gsplat" cannot run here."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        return "gsplat" if gsplat_available() else "cpu"
    if backend == "gsplat" and not gsplat_available():
        missing = "CUDA is not available" if not torch.cuda.is_available() else "the gsplat package is not installed"
        raise RuntimeError(f"backend 'gsplat' requested but {missing}; use backend='cpu' or 'auto'")
    return backend


def rasterize_gsplat(
    g: Gaussians,
    cam: Camera,
    *,
    sh_degree: int | None,
    background: Sequence[float] | torch.Tensor | None,
    colors: torch.Tensor | None,
    near: float,
) -> RenderOutput:
    """Same contract as `rasterize` (outputs on the Gaussians' CUDA device), except that `means2d` is
    gsplat's [1, N, 2] tensor in gsplat pixel coordinates (ours + 0.5); read gradients with reshape(-1, 2)."""
    import gsplat

    from tracklift.splat.rasterize import RenderOutput, _background

    device, dtype = g.means.device, g.means.dtype
    K = torch.as_tensor(cam.K, dtype=dtype, device=device).clone()
    K[0, 2] += 0.5
    K[1, 2] += 0.5
    viewmat = torch.as_tensor(cam.world_to_camera(), dtype=dtype, device=device)
    if colors is None:
        degree = g.sh_degree if sh_degree is None else sh_degree
        feats, n_ch = g.sh, 3
    else:
        degree, feats, n_ch = None, colors.to(dtype), colors.shape[1]
    bg = _background(background, n_ch, dtype).to(device)
    render, alphas, meta = gsplat.rasterization(
        means=g.means,
        quats=g.quats,
        scales=torch.exp(g.log_scales),
        opacities=torch.sigmoid(g.opacity_logits),
        colors=feats,
        viewmats=viewmat[None],
        Ks=K[None],
        width=cam.width,
        height=cam.height,
        near_plane=near,
        sh_degree=degree,
        packed=False,
        backgrounds=bg[None],
        render_mode="RGB+ED",
    )
    means2d = meta["means2d"]  # [1, N, 2]: the tensor the graph uses, so its .grad is the screen-space gradient
    if means2d.requires_grad:
        means2d.retain_grad()
    radii = meta["radii"][0]
    if radii.ndim == 2:  # newer gsplat returns per-axis radii
        radii = radii.max(dim=-1).values
    return RenderOutput(
        color=render[0, ..., :n_ch],
        alpha=alphas[0, ..., 0],
        depth=render[0, ..., n_ch],
        means2d=means2d,
        radii=radii.to(torch.int64),
    )
