"""Image losses of 3DGS training: L1, SSIM with a Gaussian window, PSNR."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_C1 = 0.01**2  # (k1 · L)^2 with dynamic range L = 1
_C2 = 0.03**2


def _gaussian_window(size: int, sigma: float, dtype: torch.dtype) -> torch.Tensor:
    """[size] normalised 1D Gaussian."""
    x = torch.arange(size, dtype=dtype) - (size - 1) / 2
    w = torch.exp(-(x**2) / (2 * sigma**2))
    return w / w.sum()


def _blur(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of [B, C, H, W], zero padding ('same' size, as the 3DGS SSIM)."""
    c = x.shape[1]
    k = len(window)
    x = F.conv2d(x, window.reshape(1, 1, 1, k).expand(c, 1, 1, k), padding=(0, k // 2), groups=c)
    return F.conv2d(x, window.reshape(1, 1, k, 1).expand(c, 1, k, 1), padding=(k // 2, 0), groups=c)


def ssim_map(a: torch.Tensor, b: torch.Tensor, window: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Per-pixel SSIM of two images a, b: [H, W, C] in [0, 1] -> [H, W, C]."""
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"ssim needs two [H, W, C] images of equal shape, got {list(a.shape)} and {list(b.shape)}")
    w = _gaussian_window(window, sigma, a.dtype)
    x, y = a.permute(2, 0, 1)[None], b.permute(2, 0, 1)[None]
    mu_x, mu_y = _blur(x, w), _blur(y, w)
    var_x = _blur(x * x, w) - mu_x**2
    var_y = _blur(y * y, w) - mu_y**2
    cov = _blur(x * y, w) - mu_x * mu_y
    num = (2 * mu_x * mu_y + _C1) * (2 * cov + _C2)
    den = (mu_x**2 + mu_y**2 + _C1) * (var_x + var_y + _C2)
    return (num / den)[0].permute(1, 2, 0)


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of [H, W, C] images."""
    return ssim_map(a, b).mean()


def photometric_loss(render: torch.Tensor, target: torch.Tensor, ssim_lambda: float = 0.2) -> torch.Tensor:
    """(1 - λ) · L1 + λ · (1 - SSIM) of [H, W, 3] images in [0, 1]."""
    l1 = (render - target).abs().mean()
    return (1.0 - ssim_lambda) * l1 + ssim_lambda * (1.0 - ssim(render, target))


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of images in [0, 1] (inf when identical)."""
    mse = float(((a.detach().clamp(0, 1) - b.detach()) ** 2).mean())
    return math.inf if mse == 0 else -10.0 * math.log10(mse)
