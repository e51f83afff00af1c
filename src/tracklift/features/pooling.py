"""Masks on a patch grid: the share of each patch cell a mask covers, for mask-pooled ViT features.

The model sees the whole image resized to gh×gw patches, so patch cell (i, j) covers the original
pixels [i·H/gh, (i+1)·H/gh) × [j·W/gw, (j+1)·W/gw), fractional pixels included. Coverage is that
cell's area under the mask divided by the cell's area: a mask smaller than a patch still weighs on
the patch(es) it touches (a mask inside one cell gets exactly that cell's feature), which nearest-
neighbour downsampling would lose. `patch_coverage` uses OpenCV's area resampling, which computes
exactly this when shrinking; `patch_coverage_reference` builds the interval overlaps explicitly.
"""

from __future__ import annotations

import cv2
import numpy as np


def patch_coverage(masks: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """masks: [N, H, W] bool; grid: (gh, gw) -> coverage [N, gh·gw] float32 in [0, 1]."""
    if masks.ndim != 3:
        raise ValueError(f"masks must be [N, H, W], got shape {masks.shape}")
    gh, gw = grid
    if gh > masks.shape[1] or gw > masks.shape[2]:
        # OpenCV's area resampling interpolates when enlarging; cells smaller than a pixel need the overlaps.
        return patch_coverage_reference(masks, grid).astype(np.float32)
    out = np.zeros((masks.shape[0], gh * gw), np.float32)
    for n, mask in enumerate(masks):
        out[n] = cv2.resize(mask.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA).ravel()
    return out


def _overlap(n_pixels: int, n_cells: int) -> np.ndarray:
    """[n_cells, n_pixels]: length of pixel p's unit interval inside cell c, over the cell's length."""
    edges = np.arange(n_cells + 1) * (n_pixels / n_cells)
    pixel = np.arange(n_pixels)
    low = np.maximum(edges[:-1, None], pixel[None, :])
    high = np.minimum(edges[1:, None], pixel[None, :] + 1)
    return np.clip(high - low, 0, None) / (n_pixels / n_cells)


def patch_coverage_reference(masks: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """`patch_coverage` as explicit separable interval overlaps (float64, for tests)."""
    gh, gw = grid
    rows, cols = _overlap(masks.shape[1], gh), _overlap(masks.shape[2], gw)
    return np.einsum("iv,nvu,ju->nij", rows, masks.astype(np.float64), cols).reshape(masks.shape[0], -1)


def pool_normalised(coverage: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Coverage-weighted mean of patch tokens per mask, L2-normalised.

    coverage: [N, P] float32; tokens: [P, C] float32 -> [N, C] float32 (zero row for an empty mask).
    """
    if coverage.shape[1] != tokens.shape[0]:
        raise ValueError(f"coverage has {coverage.shape[1]} patches, tokens {tokens.shape[0]}")
    pooled = coverage @ tokens
    norm = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.where(norm > 0, norm, 1)).astype(np.float32)
