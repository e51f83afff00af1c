"""What every rasterizer backend returns, and the image-model constants they share (3DGS values)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

LOWPASS = 0.3  # px², added to the 2D covariance (anti-aliasing dilation of 3DGS)
ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.99
T_MIN = 1e-4


@dataclass
class RenderOutput:
    """A rendered view.

    color:   [H, W, C], composited features (C = 3 for RGB) over the background.
    alpha:   [H, W], accumulated opacity 1 - T_final.
    depth:   [H, W], metres, expected camera depth Σ wᵢ zᵢ / alpha (0 where nothing is rendered).
    means2d: [N, 2], pixel coordinates of the projected means (pixel centres at integers) on every backend;
             when the Gaussians require grad its .grad holds the screen-space gradient after backward, which
             densification reads (gsplat: a detached copy that receives it, see `screen_means`).
    radii:   [N] int64, screen radius in pixels (0 = culled: behind `near`, degenerate or off-image).
    """

    color: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor
    means2d: torch.Tensor
    radii: torch.Tensor


def background_tensor(background: Sequence[float] | torch.Tensor | None, n_ch: int, dtype: torch.dtype) -> torch.Tensor:
    """[n_ch] background colour of `dtype` (zeros for None), checked against the channel count."""
    if background is None:
        return torch.zeros(n_ch, dtype=dtype)
    bg = torch.as_tensor(background, dtype=dtype).reshape(-1)
    if bg.numel() != n_ch:
        raise ValueError(f"background must have {n_ch} values (one per colour channel), got {bg.numel()}")
    return bg
