"""Differentiable tile-based Gaussian splatting: projection and tile binning in PyTorch, compositing by one of
three backends.

The image model is the one of 3D Gaussian Splatting (Kerbl et al. 2023):

* project each mean with the pinhole camera; 2D covariance J W Σ Wᵀ Jᵀ (EWA) plus 0.3 px² low-pass;
* a Gaussian touches the pixels inside the square of half-side 3σ (σ² = largest eigenvalue) around its mean;
* per pixel, front-to-back by camera depth: α = min(0.99, opacity · exp(-½ dᵀ Σ⁻¹ d)), skipped when
  α < 1/255; the pixel stops before the Gaussian that would bring transmittance T below 1e-4;
* colour = Σ αᵢ Tᵢ cᵢ + T_final · background, with cᵢ = max(0, SH(view direction) + 0.5).

Projection and colours are PyTorch (autograd gives their gradients). `bin_tiles` lists, per tile, the
depth-sorted Gaussians that can reach it (the 3σ square cut to the opacity-aware ellipse outside which α <
1/255). Compositing, `rasterize(backend=...)`:

* "cpu" (the default without CUDA): `sparse_blend.py`, per-pixel numba kernels that walk each tile's list and
  stop where the 3DGS CUDA kernels stop, with a hand-written backward;
* "torch": tiles with similar Gaussian counts evaluated together as dense [tiles, pixels, Gaussians] tensors
  (log α as one matmul of pixel monomials with per-Gaussian quadratic coefficients, transmittance by a
  cumulative sum of log(1 - α), a hand-written backward for the compositing step);
* "gsplat": the CUDA rasterizer, when CUDA and gsplat are present.

`reference.py` holds a per-pixel loop version of the same model that the tests compare both CPU backends against,
values and gradients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians, eval_sh, quat_to_rotmat
from tracklift.splat.render.gsplat_backend import choose_backend, rasterize_gsplat
from tracklift.splat.render.output import ALPHA_MAX, ALPHA_MIN, LOWPASS, T_MIN, RenderOutput, background_tensor
from tracklift.splat.render.sparse_blend import SparseBlend

# Elements of one [tiles, pixels, Gaussians] batch; bounds peak memory (~20 live tensors of this size).
BATCH_ELEMENTS = 1 << 21


@dataclass
class Projection:
    """Per-Gaussian screen-space quantities ([N, ...]; rows with radii == 0 are unused)."""

    means2d: torch.Tensor  # [N, 2] px
    conics: torch.Tensor  # [N, 3] (a, b, c) of the inverse 2D covariance [[a, b], [b, c]]
    depths: torch.Tensor  # [N] camera z, metres
    radii: torch.Tensor  # [N] int64 px
    log_opacity: torch.Tensor  # [N] log(sigmoid(opacity_logits))
    features: torch.Tensor  # [N, C]


def project(
    g: Gaussians,
    cam: Camera,
    *,
    near: float = 0.01,
    sh_degree: int | None = None,
    colors: torch.Tensor | None = None,
) -> Projection:
    """Project Gaussians into `cam`: screen means, conics, depths, radii, opacities, per-view colours."""
    K, R, t = cam.tensors(g.means.dtype)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    p = g.means @ R.T + t
    z_raw = p[:, 2]
    in_front = z_raw > near
    z = torch.where(in_front, z_raw, torch.ones_like(z_raw))  # keeps culled rows finite
    # Clamp the Jacobian's x/z like 3DGS so Gaussians far outside the view do not blow up.
    lim_x = (cam.width * 1.15 - cx) / fx, (cx + cam.width * 0.15) / fx
    lim_y = (cam.height * 1.15 - cy) / fy, (cy + cam.height * 0.15) / fy
    tx = (p[:, 0] / z).clamp(-lim_x[1], lim_x[0]) * z
    ty = (p[:, 1] / z).clamp(-lim_y[1], lim_y[0]) * z
    zero = torch.zeros_like(z)
    J = torch.stack([fx / z, zero, -fx * tx / (z * z), zero, fy / z, -fy * ty / (z * z)], dim=-1).reshape(-1, 2, 3)
    M = quat_to_rotmat(g.quats) * torch.exp(g.log_scales)[:, None, :]
    JW = J @ R
    JWM = JW @ M
    cov2d = JWM @ JWM.transpose(1, 2)
    a = cov2d[:, 0, 0] + LOWPASS
    b = cov2d[:, 0, 1]
    c = cov2d[:, 1, 1] + LOWPASS
    det = a * c - b * b
    det_ok = det > 0
    inv_det = 1.0 / torch.where(det_ok, det, torch.ones_like(det))
    conics = torch.stack([c * inv_det, -b * inv_det, a * inv_det], dim=-1)
    means2d = torch.stack([fx * p[:, 0] / z + cx, fy * p[:, 1] / z + cy], dim=-1)

    with torch.no_grad():
        mid = 0.5 * (a + c)
        lam = mid + torch.sqrt((mid * mid - det).clamp_min(0.1))
        radii = torch.ceil(3.0 * torch.sqrt(lam)).to(torch.int64)
        on_image = (
            (means2d[:, 0] + radii >= 0)
            & (means2d[:, 0] - radii <= cam.width - 1)
            & (means2d[:, 1] + radii >= 0)
            & (means2d[:, 1] - radii <= cam.height - 1)
        )
        radii = torch.where(in_front & det_ok & on_image, radii, torch.zeros_like(radii))

    if colors is None:
        degree = g.sh_degree if sh_degree is None else sh_degree
        if degree > g.sh_degree:
            raise ValueError(f"sh_degree {degree} exceeds the Gaussians' SH degree {g.sh_degree}")
        center = torch.as_tensor(cam.center, dtype=g.means.dtype)
        dirs = g.means - center
        dirs = dirs / dirs.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        features = (eval_sh(g.sh, dirs, degree) + 0.5).clamp_min(0.0)
    else:
        if colors.ndim != 2 or colors.shape[0] != g.n:
            raise ValueError(f"colors must be [{g.n}, C], got {list(colors.shape)}")
        features = colors.to(g.means.dtype)
    return Projection(means2d, conics, z_raw, radii, F.logsigmoid(g.opacity_logits), features)


@dataclass
class _TileBatch:
    pixels: torch.Tensor  # [B, P] int64 flat index into the padded image (rows Hp, columns Wp)
    origin: torch.Tensor  # [B, 2] pixel coordinates (x, y) of each tile's first pixel (float)
    gids: torch.Tensor  # [B, M] int64 Gaussian index (0 where padded)
    valid: torch.Tensor  # [B, M] bool


@torch.no_grad()
def bin_tiles(proj: Projection, width: int, height: int, tile: int) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """Bin the visible Gaussians into tiles of `tile` px by their 3σ squares.

    Returns (pair_gid [pairs] int64 Gaussian ids, grouped by tile in row-major tile order and depth-sorted
    within each tile; counts [tiles] int64 pairs per tile; tiles_x, tiles_y)."""
    tiles_x, tiles_y = -(-width // tile), -(-height // tile)
    vis = torch.nonzero(proj.radii > 0).squeeze(1)
    vis = vis[torch.argsort(proj.depths[vis], stable=True)]
    # α >= 1/255 needs dᵀ Σ⁻¹ d <= k = 2 (log opacity - log(1/255)): no pixel outside that ellipse blends
    # the Gaussian, so its bounding box (half-sides sqrt(k Σxx), sqrt(k Σyy)) bounds the tiles exactly
    # like the 3σ square does, and tighter for faint or elongated Gaussians.
    k = 2.0 * (proj.log_opacity[vis] - math.log(ALPHA_MIN))
    vis, k = vis[k > 0], k[k > 0]
    m = proj.means2d[vis].detach()
    r = proj.radii[vis].to(m.dtype)
    a, _, c = proj.conics[vis].detach().unbind(-1)
    det = a * c - proj.conics[vis, 1].detach() ** 2  # of the conic; Σxx = c / det, Σyy = a / det
    rx = torch.minimum(r, torch.sqrt(k.detach() * c / det))
    ry = torch.minimum(r, torch.sqrt(k.detach() * a / det))
    # One pixel of slack so float rounding can never drop a tile that the per-pixel test accepts.
    x0 = torch.ceil(m[:, 0] - rx - 1).clamp(0, width - 1).to(torch.int64) // tile
    x1 = torch.floor(m[:, 0] + rx + 1).clamp(0, width - 1).to(torch.int64) // tile
    y0 = torch.ceil(m[:, 1] - ry - 1).clamp(0, height - 1).to(torch.int64) // tile
    y1 = torch.floor(m[:, 1] + ry + 1).clamp(0, height - 1).to(torch.int64) // tile
    nx, ny = x1 - x0 + 1, y1 - y0 + 1
    per = nx * ny
    owner = torch.repeat_interleave(torch.arange(len(vis)), per)
    local = torch.arange(int(per.sum())) - torch.repeat_interleave(torch.cumsum(per, 0) - per, per)
    tile_id = (y0[owner] + local // nx[owner]) * tiles_x + x0[owner] + local % nx[owner]
    order = torch.argsort(tile_id, stable=True)  # stable: keeps depth order inside a tile
    pair_gid = vis[owner[order]]
    counts = torch.bincount(tile_id, minlength=tiles_x * tiles_y)
    return pair_gid, counts, tiles_x, tiles_y


@torch.no_grad()
def _tile_batches(proj: Projection, width: int, height: int, tile: int) -> list[_TileBatch]:
    """Batches of tiles with their depth-sorted Gaussians (`bin_tiles`), as dense tensors."""
    pair_gid, counts, tiles_x, _ = bin_tiles(proj, width, height, tile)
    wp = tiles_x * tile
    starts = torch.cumsum(counts, 0) - counts

    local_pix = torch.arange(tile * tile)
    ly, lx = local_pix // tile, local_pix % tile
    busy = torch.nonzero(counts).squeeze(1)
    busy = busy[torch.argsort(counts[busy], descending=True, stable=True)]
    batches = []
    i = 0
    while i < len(busy):
        m_max = int(counts[busy[i]])
        n_tiles = max(1, BATCH_ELEMENTS // (tile * tile * m_max))
        ids = busy[i : i + n_tiles]
        ids = ids[counts[ids] * 2 >= m_max]  # a new batch once padding would exceed half the work
        i += len(ids)
        py = (ids // tiles_x)[:, None] * tile + ly[None]
        px = (ids % tiles_x)[:, None] * tile + lx[None]
        slot = torch.arange(m_max)
        valid = slot[None] < counts[ids][:, None]
        idx = torch.where(valid, starts[ids][:, None] + slot[None], torch.zeros_like(valid, dtype=torch.int64))
        batches.append(
            _TileBatch(
                pixels=py * wp + px,
                origin=torch.stack([ids % tiles_x, ids // tiles_x], dim=-1).to(proj.means2d.dtype) * tile,
                gids=torch.where(valid, pair_gid[idx], torch.zeros_like(idx)),
                valid=valid,
            )
        )
    return batches


def _blend_weights(proj: Projection, batch: _TileBatch, tile: int) -> torch.Tensor:
    """Compositing weights w = α·T [B, P, M] of one tile batch (pixels row-major inside each tile)."""
    gids = batch.gids
    mean = proj.means2d[gids] - batch.origin[:, None, :]  # [B, M, 2], tile-local pixel coordinates
    mx, my = mean.unbind(-1)
    a, b, c = proj.conics[gids].unbind(-1)
    # log α = log(opacity) - ½ dᵀ Σ⁻¹ d is a quadratic in the pixel position (x, y): expand it in the
    # monomials (x², y², xy, x, y, 1) so that all pixels × Gaussians of a tile come from one matmul.
    # Tile-local coordinates keep the terms small: on a 50k-Gaussian room at 160x120, float32 colours
    # differ from float64 by at most 5e-5 (tile 4) to 1.7e-4 (tile 16-32), well below one 8-bit level.
    coeffs = torch.stack(
        [
            -0.5 * a,
            -0.5 * c,
            -b,
            a * mx + b * my,
            c * my + b * mx,
            proj.log_opacity[gids] - 0.5 * (a * mx * mx + c * my * my) - b * mx * my,
        ],
        dim=1,
    )  # [B, 6, M]
    local = torch.arange(tile, dtype=mean.dtype)
    y, x = torch.meshgrid(local, local, indexing="ij")
    x, y = x.reshape(-1), y.reshape(-1)
    monomials = torch.stack([x * x, y * y, x * y, x, y, torch.ones_like(x)], dim=-1)  # [P, 6]
    log_alpha = torch.matmul(monomials, coeffs)  # [B, P, M]
    with torch.no_grad():
        # The 3σ square test is separable: columns against x, rows against y.
        r = proj.radii[gids].to(mean.dtype)[:, None, :]
        in_x = ((local[None, :, None] - mx[:, None, :]).abs() <= r) & batch.valid[:, None, :]  # [B, tile, M]
        in_y = (local[None, :, None] - my[:, None, :]).abs() <= r
        use = (in_y[:, :, None, :] & in_x[:, None, :, :]).reshape(log_alpha.shape)
        use &= log_alpha >= math.log(ALPHA_MIN)
    return _Composite.apply(log_alpha, use)


def _composite_forward(log_alpha: torch.Tensor, use: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Front-to-back compositing along the last axis: (w, alpha, T, keep), all [B, P, M]."""
    alpha = torch.where(use, torch.exp(log_alpha).clamp_max(ALPHA_MAX), 0.0)
    log_t = torch.log1p(-alpha)
    cum = torch.cumsum(log_t, dim=-1)  # log of the inclusive transmittance product
    keep = cum >= math.log(T_MIN)  # a prefix per pixel: compositing stops at the first failure
    T = torch.exp(cum - log_t)  # exclusive transmittance
    return torch.where(keep, alpha * T, 0.0), alpha, T, keep


class _Composite(torch.autograd.Function):
    """w = α·T from log α with a hand-written backward (a third of the memory passes of autograd's).

    With G = dL/dw and S_k = Σ_{i>k} G_i w_i:  dL/dα_k = keep_k T_k G_k - S_k / (1 - α_k), and
    dα/dlog α = α where the 0.99 clamp is inactive (the masks `use` and `keep` are held constant).
    """

    @staticmethod
    def forward(ctx, log_alpha: torch.Tensor, use: torch.Tensor) -> torch.Tensor:
        w, alpha, T, keep = _composite_forward(log_alpha, use)
        ctx.save_for_backward(w, alpha, T, keep, use & (log_alpha < math.log(ALPHA_MAX)))
        return w

    @staticmethod
    def backward(ctx, grad_w: torch.Tensor) -> tuple[torch.Tensor, None]:
        w, alpha, T, keep, unclamped = ctx.saved_tensors
        gw = grad_w * w
        after = gw.sum(dim=-1, keepdim=True) - torch.cumsum(gw, dim=-1)  # S_k = Σ_{i>k} G_i w_i
        grad_alpha = torch.where(keep, T * grad_w, 0.0) - after / (1.0 - alpha)
        return torch.where(unclamped, grad_alpha * alpha, 0.0), None


def _check_inputs(g: Gaussians, cam: Camera, tile: int) -> None:
    if tile < 1:
        raise ValueError(f"tile must be >= 1, got {tile}")
    if not isinstance(cam, Camera):
        raise TypeError(f"cam must be a Camera, got {type(cam).__name__}")
    if not torch.isfinite(g.means).all():
        raise ValueError("Gaussians.means has NaN or inf entries")


def rasterize(
    g: Gaussians,
    cam: Camera,
    *,
    sh_degree: int | None = None,
    background: Sequence[float] | torch.Tensor | None = (0.0, 0.0, 0.0),
    colors: torch.Tensor | None = None,
    near: float = 0.01,
    tile: int = 16,
    backend: str = "auto",
) -> RenderOutput:
    """Render Gaussians into `cam`, differentiably w.r.t. every Gaussian parameter and `colors`.

    g:          N Gaussians (float32 or float64; outputs follow its dtype).
    cam:        the view, W x H pixels.
    sh_degree:  SH bands to use (default: all of `g.sh`).
    background: [C] colour behind the Gaussians; None = zeros. With `colors` of width C != 3 pass None
                or a length-C value.
    colors:     [N, C] optional per-Gaussian features rendered instead of the SH colour (no offset or clamp).
    near:       metres; Gaussians with camera depth <= near are culled.
    tile:       tile side in pixels (a speed knob: results do not depend on it).
    backend:    "auto" (gsplat when CUDA and gsplat are available, else "cpu"), "cpu" (per-pixel numba
                kernels, `sparse_blend.py`), "torch" (dense tile batches of vectorised torch) or "gsplat".
    Returns RenderOutput with color [H, W, C], alpha [H, W], depth [H, W].
    """
    _check_inputs(g, cam, tile)
    chosen = choose_backend(backend)
    if chosen == "gsplat":
        return rasterize_gsplat(g, cam, sh_degree=sh_degree, background=background, colors=colors, near=near)

    proj = project(g, cam, near=near, sh_degree=sh_degree, colors=colors)
    if proj.means2d.requires_grad:
        proj.means2d.retain_grad()
    n_ch = proj.features.shape[1]
    bg = background_tensor(background, n_ch, proj.features.dtype)
    # Features, depth and a constant 1 (whose blend is alpha = Σ w = 1 - T_final), blended together.
    channels = torch.cat([proj.features, proj.depths[:, None], torch.ones_like(proj.depths)[:, None]], dim=1)
    if chosen == "cpu":
        pair_gid, counts, tiles_x, _ = bin_tiles(proj, cam.width, cam.height, tile)
        starts = torch.cumsum(counts, 0) - counts
        bins = (pair_gid.numpy(), starts.numpy(), counts.numpy(), tiles_x, tile)
        acc = SparseBlend.apply(
            proj.means2d, proj.conics, proj.log_opacity, channels, proj.radii, bins, cam.width, cam.height
        )
    else:
        acc = _dense_blend(proj, channels, cam.width, cam.height, tile)
    alpha = acc[..., n_ch + 1]
    depth = acc[..., n_ch] / alpha.clamp_min(1e-10)
    color = acc[..., :n_ch] + (1.0 - alpha)[..., None] * bg
    return RenderOutput(color=color, alpha=alpha, depth=depth, means2d=proj.means2d, radii=proj.radii)


def _dense_blend(proj: Projection, channels: torch.Tensor, width: int, height: int, tile: int) -> torch.Tensor:
    """[H, W, C] blend of `channels` [N, C] by dense tile batches (the "torch" backend; one bmm per batch)."""
    tiles_x, tiles_y = -(-width // tile), -(-height // tile)
    hp, wp = tiles_y * tile, tiles_x * tile
    n = channels.shape[1]
    pixels, blended = [], []
    for batch in _tile_batches(proj, width, height, tile):
        w = _blend_weights(proj, batch, tile)
        pixels.append(batch.pixels.reshape(-1))
        blended.append(torch.bmm(w, channels[batch.gids]).reshape(-1, n))
    acc = torch.zeros(hp * wp, n, dtype=channels.dtype)
    if pixels:
        acc = acc.index_copy(0, torch.cat(pixels), torch.cat(blended))
    return acc.reshape(hp, wp, n)[:height, :width]


def trace_weights(
    g: Gaussians,
    cam: Camera,
    labels: torch.Tensor,
    num_labels: int,
    mode: str = "alpha",
    *,
    near: float = 0.01,
    tile: int = 16,
    count_threshold: float = ALPHA_MIN,
) -> torch.Tensor:
    """Per Gaussian, how much it contributes to each 2D label of one view (the instance weight matrix row).

    labels:     [H, W] int64 label per pixel of `cam`, -1 = ignore, else in [0, num_labels).
    mode:       "alpha": sum over the label's pixels of the Gaussian's blend weight α·T;
                "count": number of the label's pixels where α·T > count_threshold.
    Returns [N, num_labels] float32. Forward only (no gradients).
    """
    if mode not in ("alpha", "count"):
        raise ValueError(f"mode must be 'alpha' or 'count', got {mode!r}")
    labels = torch.as_tensor(labels)
    if tuple(labels.shape) != (cam.height, cam.width):
        expected = f"[{cam.height}, {cam.width}]"
        raise ValueError(f"labels must be {expected} to match camera {cam.name!r}, got {list(labels.shape)}")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"labels must be an integer tensor, got {labels.dtype}")
    labels = labels.to(torch.int64)
    if num_labels < 1 or int(labels.max()) >= num_labels or int(labels.min()) < -1:
        raise ValueError(f"labels must lie in [-1, {num_labels}), found [{int(labels.min())}, {int(labels.max())}]")
    _check_inputs(g, cam, tile)
    out = torch.zeros(g.n * num_labels, dtype=torch.float64)
    with torch.no_grad():
        proj = project(g.detach(), cam, near=near, colors=g.means.new_zeros(g.n, 0))
        tiles_x, tiles_y = -(-cam.width // tile), -(-cam.height // tile)
        padded = torch.full((tiles_y * tile, tiles_x * tile), -1, dtype=torch.int64)
        padded[: cam.height, : cam.width] = labels
        padded = padded.reshape(-1)
        for batch in _tile_batches(proj, cam.width, cam.height, tile):
            w = _blend_weights(proj, batch, tile)
            lab = padded[batch.pixels][:, :, None]  # [B, P, 1]
            hit = (w > (count_threshold if mode == "count" else 0.0)) & (lab >= 0)
            key = (batch.gids[:, None, :] * num_labels + lab).expand_as(w)[hit]
            out.index_add_(0, key, w[hit].double() if mode == "alpha" else torch.ones(len(key), dtype=torch.float64))
    return out.reshape(g.n, num_labels).float()
