"""Adaptive density control of 3DGS: clone small and split large Gaussians with a large screen-space
positional gradient, prune transparent or oversized ones."""

from __future__ import annotations

import math

import torch

from tracklift.core.config import config, option
from tracklift.splat.render.gaussians import quat_to_rotmat
from tracklift.splat.train.optim import GaussianOptimizer

_SPLIT_SHRINK = math.log(1.6)  # a split Gaussian's children have 1/1.6 of its scale (two children, as 3DGS)


@config
class DensifyConfig:
    """3DGS adaptive density control (the 3DGS defaults; see docs/tuning.md#splat)."""

    grad_threshold: float = option(0.0002, "mean view-space gradient norm (NDC) marking under-reconstruction", low=0.0)
    percent_dense: float = option(0.01, "× scene extent: larger Gaussians are split, smaller cloned", low=0.0)
    prune_opacity: float = option(0.005, "remove Gaussians below this opacity", low=0.0, high=1.0)
    max_world_size: float = option(0.1, "× scene extent: remove larger Gaussians", low=0.0)
    max_screen_size: int = option(0, "pixels: remove Gaussians whose screen radius exceeded it (0 = never)", low=0)
    max_gaussians: int = option(50_000, "no growth beyond this count (CPU budget)", low=1)


class GradientStats:
    """Per-Gaussian running statistics between two densification steps."""

    def __init__(self, n: int) -> None:
        self.grad_sum = torch.zeros(n, dtype=torch.float64)
        self.count = torch.zeros(n, dtype=torch.float64)
        self.max_radii = torch.zeros(n, dtype=torch.int64)

    def update(self, means2d_grad: torch.Tensor, radii: torch.Tensor, width: int, height: int) -> None:
        """means2d_grad: [N, 2] d loss / d pixel position; radii: [N] int64 (0 = not rendered)."""
        seen = radii > 0
        # 3DGS thresholds the gradient w.r.t. NDC positions: d/d ndc = d/d px · (W/2, H/2).
        to_ndc = torch.tensor([width / 2.0, height / 2.0], dtype=torch.float64)
        ndc = means2d_grad.detach().reshape(-1, 2).double() * to_ndc
        self.grad_sum[seen] += ndc[seen].norm(dim=-1)
        self.count[seen] += 1
        self.max_radii = torch.maximum(self.max_radii, radii)

    def state_dict(self) -> dict:
        return {"grad_sum": self.grad_sum, "count": self.count, "max_radii": self.max_radii}

    @classmethod
    def from_state_dict(cls, state: dict) -> GradientStats:
        stats = cls(0)
        stats.grad_sum, stats.count, stats.max_radii = state["grad_sum"], state["count"], state["max_radii"]
        return stats


def densify_and_prune(
    opt: GaussianOptimizer, stats: GradientStats, extent: float, config: DensifyConfig, seed: int
) -> dict[str, int]:
    """One densification step on the optimiser's Gaussians (in place); returns counts of what changed."""
    g = opt.gaussians().detach()
    grads = stats.grad_sum / stats.count.clamp_min(1)
    size = g.scales.max(dim=-1).values
    hot = grads >= config.grad_threshold
    room = max(0, config.max_gaussians - g.n)
    if int(hot.sum()) > room:  # keep the largest gradients when the budget is nearly spent
        top = torch.argsort(grads, descending=True, stable=True)[:room]
        hot = torch.zeros_like(hot)
        hot[top] = True
    small = size <= config.percent_dense * extent
    clone = hot & small
    split = hot & ~small

    # Split: two children sampled inside the parent, smaller by 1.6; the parent is removed below.
    parents = g.index(split)
    gen = torch.Generator().manual_seed(seed)
    children = []
    for _ in range(2):
        offset = torch.randn(parents.n, 3, generator=gen, dtype=g.means.dtype) * parents.scales
        child = parents.clone()
        child.means = parents.means + (quat_to_rotmat(parents.quats) @ offset[:, :, None])[:, :, 0]
        child.log_scales = parents.log_scales - _SPLIT_SHRINK
        children.append(child)
    opt.append(g.index(clone))
    for child in children:
        opt.append(child)

    n_new = opt.n - g.n
    opacity = torch.sigmoid(opt.params["opacity_logits"].detach())
    size_all = torch.exp(opt.params["log_scales"].detach()).max(dim=-1).values
    remove = (opacity < config.prune_opacity) | (size_all > config.max_world_size * extent)
    remove[: g.n] |= split
    if config.max_screen_size > 0:
        remove[: g.n] |= stats.max_radii > config.max_screen_size
    if bool(remove.all()):  # never prune to an empty model; keep the most opaque Gaussian
        remove[torch.argmax(opacity)] = False
    opt.keep(~remove)
    n_split = int(split.sum())
    return {"cloned": int(clone.sum()), "split": n_split, "pruned": int(remove.sum()) - n_split, "added": n_new}


def reset_opacity(opt: GaussianOptimizer, ceiling: float = 0.01) -> None:
    """Clamp every opacity to at most `ceiling` and zero its Adam moments (3DGS opacity reset)."""
    cap = math.log(ceiling / (1 - ceiling))
    opt.set_values("opacity_logits", opt.params["opacity_logits"].detach().clamp_max(cap))
