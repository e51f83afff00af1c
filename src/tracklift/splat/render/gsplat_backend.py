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

from tracklift.splat.render.output import RenderOutput, background_tensor

if TYPE_CHECKING:
    from tracklift.splat.render.camera import Camera
    from tracklift.splat.render.gaussians import Gaussians

BACKENDS = ("auto", "cpu", "torch", "gsplat")


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
    """Same contract and shapes as `rasterize` (outputs on the Gaussians' CUDA device): `means2d` is [N, 2]
    in our pixel coordinates, a detached tensor whose .grad receives gsplat's screen-space gradient."""
    import gsplat

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
    bg = background_tensor(background, n_ch, dtype).to(device)
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
    means2d = screen_means(meta["means2d"])
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


def screen_means(raw: torch.Tensor) -> torch.Tensor:
    """gsplat's projected means [1, N, 2] (pixel centres at +0.5) as ours: [N, 2], centres at integers.

    The render graph uses `raw`, so a tensor derived from it would get no gradient; the result is a detached
    copy that requires grad, and a hook on `raw` accumulates raw's gradient into its .grad (the shift does
    not change it), which densification reads as it does on the CPU backend."""
    if raw.ndim != 3 or raw.shape[0] != 1 or raw.shape[2] != 2:
        raise ValueError(f"gsplat means2d must be [1, N, 2], got {list(raw.shape)}")
    means2d = (raw[0] - 0.5).detach()
    if raw.requires_grad:
        means2d.requires_grad_(True)

        def accumulate(grad: torch.Tensor) -> None:
            means2d.grad = grad[0].detach() if means2d.grad is None else means2d.grad + grad[0].detach()

        raw.register_hook(accumulate)
    return means2d
