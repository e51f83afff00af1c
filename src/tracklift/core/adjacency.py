"""Which labels of a label image touch: the neighbour pairs that merges and corrections start from."""

from __future__ import annotations

import numpy as np


def touching_pairs(label_map: np.ndarray) -> np.ndarray:
    """label_map: [H, W] integer labels, < 0 = none.
    Returns [E, 2] int64 unique pairs (a < b) of labels that are 4-neighbours somewhere, sorted by (a, b)."""
    if label_map.ndim != 2:
        raise ValueError(f"label_map must be [H, W], got shape {label_map.shape}")
    pairs = []
    for a, b in ((label_map[:, :-1], label_map[:, 1:]), (label_map[:-1, :], label_map[1:, :])):
        sel = (a != b) & (a >= 0) & (b >= 0)
        pairs.append(np.stack([np.minimum(a[sel], b[sel]), np.maximum(a[sel], b[sel])], axis=1))
    both = np.concatenate(pairs).astype(np.int64)
    return np.unique(both, axis=0) if len(both) else np.zeros((0, 2), np.int64)


def touching_pairs_reference(label_map: np.ndarray) -> np.ndarray:
    """`touching_pairs` pixel by pixel (slow; the tests compare the two)."""
    h, w = label_map.shape
    pairs = set()
    for y in range(h):
        for x in range(w):
            for ny, nx in ((y, x + 1), (y + 1, x)):
                if ny < h and nx < w:
                    a, b = int(label_map[y, x]), int(label_map[ny, nx])
                    if a != b and a >= 0 and b >= 0:
                        pairs.add((min(a, b), max(a, b)))
    return np.array(sorted(pairs), np.int64).reshape(-1, 2)
