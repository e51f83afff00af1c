"""Soft (linearly interpolated) histogram binning, vectorised, with a per-value reference.

A value's weight is shared between the two nearest bin centres by a triangular kernel, so a small
colour change moves weight smoothly instead of jumping bins. Bin centres of B bins over [lo, hi]
sit at lo + (i + 0.5) (hi - lo) / B; values beyond the outer centres go wholly to the outer bin;
circular binning (orientations) wraps instead.
"""

from __future__ import annotations

import numpy as np


def _position(values: np.ndarray, lo: float, hi: float, bins: int) -> np.ndarray:
    return (np.asarray(values, np.float32) - np.float32(lo)) / np.float32((hi - lo) / bins) - np.float32(0.5)


def soft_bins(values: np.ndarray, lo: float, hi: float, bins: int, circular: bool = False):
    """values: [P] -> (index [P, 2] int32, weight [P, 2] float32): the two bins each value feeds and how much.

    Weights of each value sum to 1.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    t = _position(values, lo, hi, bins)
    if circular:
        t = np.mod(t, bins)
        i0 = np.floor(t).astype(np.int32)
        frac = t - i0
        index = np.stack([i0 % bins, (i0 + 1) % bins], axis=1)
    else:
        t = np.clip(t, 0, bins - 1)
        i0 = np.minimum(np.floor(t).astype(np.int32), max(bins - 2, 0))
        frac = t - i0
        index = np.stack([i0, np.minimum(i0 + 1, bins - 1)], axis=1)
    return index, np.stack([1 - frac, frac], axis=1).astype(np.float32)


def soft_bins_reference(value: float, lo: float, hi: float, bins: int, circular: bool = False) -> np.ndarray:
    """One value -> its weight in every bin [bins] float64, by the triangular kernel max(0, 1 - distance)."""
    t = float(_position(value, lo, hi, bins))
    weights = np.zeros(bins)
    for i in range(bins):
        if circular:
            distance = abs((t - i + bins / 2) % bins - bins / 2)
        else:
            distance = abs(min(max(t, 0), bins - 1) - i)
        weights[i] = max(0.0, 1.0 - distance)
    return weights
