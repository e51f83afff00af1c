"""Voxel hashing: world points <-> integer voxel coordinates <-> one int64 key per voxel.

A voxel of size `s` holds the points p with floor(p / s) = (i, j, k); its centre is (i + 0.5) s.
Keys pack the three coordinates, each offset by 2**20 into 21 bits: key = (i' << 42) | (j' << 21) | k'.
Coordinates must lie in [-2**20, 2**20), i.e. ±10 km at 1 cm voxels. Packing is monotone in (i, j, k)
lexicographic order, so sorted keys are sorted voxels.
"""

from __future__ import annotations

import numpy as np

BITS = 21
OFFSET = 1 << (BITS - 1)
_MASK = (1 << BITS) - 1


def voxel_coords(points: np.ndarray, voxel: float) -> np.ndarray:
    """points: [N, 3] float, metres -> [N, 3] int64 voxel coordinates (floor(p / voxel))."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must be [N, 3], got {points.shape}")
    if voxel <= 0:
        raise ValueError(f"voxel size must be positive, got {voxel}")
    return np.floor(points / voxel).astype(np.int64)


def pack_keys(coords: np.ndarray) -> np.ndarray:
    """coords: [N, 3] int64 voxel coordinates -> [N] int64 keys (vectorised)."""
    coords = np.asarray(coords, np.int64)
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ValueError(f"coords must be [N, 3], got {coords.shape}")
    if len(coords) and (coords.min() < -OFFSET or coords.max() >= OFFSET):
        raise ValueError(f"voxel coordinates must lie in [{-OFFSET}, {OFFSET}), got [{coords.min()}, {coords.max()}]")
    c = coords + OFFSET
    return (c[:, 0] << (2 * BITS)) | (c[:, 1] << BITS) | c[:, 2]


def pack_keys_reference(coords: np.ndarray) -> np.ndarray:
    """Plain per-voxel version of `pack_keys` (the tests compare the two)."""
    out = np.empty(len(coords), np.int64)
    for n, (i, j, k) in enumerate(np.asarray(coords, np.int64).tolist()):
        out[n] = ((i + OFFSET) * 2 ** (2 * BITS)) + ((j + OFFSET) * 2**BITS) + (k + OFFSET)
    return out


def unpack_keys(keys: np.ndarray) -> np.ndarray:
    """keys: [N] int64 -> [N, 3] int64 voxel coordinates."""
    keys = np.asarray(keys, np.int64)
    return np.stack([(keys >> (2 * BITS)) & _MASK, (keys >> BITS) & _MASK, keys & _MASK], axis=1) - OFFSET


def voxel_keys(points: np.ndarray, voxel: float) -> np.ndarray:
    """points: [N, 3] float, metres -> [N] int64 keys of the voxels holding them."""
    return pack_keys(voxel_coords(points, voxel))


def key_centres(keys: np.ndarray, voxel: float) -> np.ndarray:
    """keys: [N] int64 -> [N, 3] float32 voxel centres, metres."""
    return ((unpack_keys(keys) + 0.5) * voxel).astype(np.float32)


def unique_keys(keys: np.ndarray) -> np.ndarray:
    """[N] int64 keys -> sorted unique keys. A sort plus a neighbour test: numpy 2's hash-based np.unique is
    ~15× slower on int64 keys, and this runs several times per frame."""
    keys = np.sort(np.asarray(keys, np.int64).ravel())
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys


def count_keys(keys: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unique keys (sorted) and, per key, the number of occurrences or the sum of `weights` ([N])."""
    keys = np.asarray(keys, np.int64)
    order = np.argsort(keys)
    first = np.r_[True, keys[order][1:] != keys[order][:-1]] if len(keys) else np.zeros(0, bool)
    uniq = keys[order][first]
    inverse = np.empty(len(keys), np.int64)
    inverse[order] = np.cumsum(first) - 1
    if weights is None:
        return uniq, np.bincount(inverse, minlength=len(uniq)).astype(np.float32)
    return uniq, np.bincount(inverse, weights=weights, minlength=len(uniq)).astype(np.float32)


def contains(sorted_keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """[N] bool: which `query` keys are in `sorted_keys` ([M] int64 sorted unique)."""
    if len(sorted_keys) == 0:
        return np.zeros(len(query), bool)
    idx = np.minimum(np.searchsorted(sorted_keys, query), len(sorted_keys) - 1)
    return sorted_keys[idx] == query
