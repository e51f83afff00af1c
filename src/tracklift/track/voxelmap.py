"""A track's voxel map: sorted voxel keys with per-voxel hit counts and weights, plus set operations."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracklift.lift.voxels import pack_keys, unpack_keys


def coarsen_keys(keys: np.ndarray, factor: int) -> np.ndarray:
    """[N] int64 keys -> sorted unique keys of the voxels `factor` times larger that hold them."""
    if factor == 1:
        return np.unique(keys)
    return np.unique(pack_keys(unpack_keys(keys) // factor))


def union_add(keys_a: np.ndarray, vals_a: np.ndarray, keys_b: np.ndarray, vals_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of two sorted-unique key sets, adding per-key values.

    keys_*: [N*] int64 sorted unique; vals_*: [N*, C] or [N*] float32. Returns (keys, vals) sorted unique.
    """
    keys = np.concatenate([keys_a, keys_b])
    vals = np.concatenate([vals_a, vals_b]).astype(np.float32)
    if len(keys) == 0:
        return keys.astype(np.int64), vals
    # A stable sort of two sorted runs is a linear merge (timsort), unlike np.unique's quicksort.
    order = np.argsort(keys, kind="stable")
    keys, vals = keys[order], vals[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.add.reduceat(vals, starts, axis=0)


def sorted_union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union of two sorted-unique int64 arrays (linear-time merge)."""
    keys = np.sort(np.concatenate([a, b]), kind="stable")
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys


def union_add_reference(keys_a, vals_a, keys_b, vals_b) -> tuple[np.ndarray, np.ndarray]:
    """Plain dictionary version of `union_add` (the tests compare the two)."""
    acc: dict[int, np.ndarray] = {}
    for k, v in list(zip(keys_a.tolist(), vals_a)) + list(zip(keys_b.tolist(), vals_b)):
        acc[k] = acc.get(k, 0) + np.asarray(v, np.float64)
    keys = np.array(sorted(acc), np.int64)
    return keys, np.array([acc[k] for k in keys.tolist()], np.float32).reshape((len(keys),) + np.shape(vals_a)[1:])


@dataclass
class VoxelMap:
    """A set of voxels with per-voxel statistics.

    keys: [M] int64 sorted unique; values: [M, 2] float32 — column 0 the frames that put the voxel in this
    map (hits), column 1 the summed pixel weight × mask score; coarse: sorted unique keys of the voxels
    `factor` times larger that hold the map (what overlaps and visibility are measured on).
    """

    factor: int
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    coarse: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def hits(self) -> np.ndarray:
        return self.values[:, 0]

    @property
    def weight(self) -> np.ndarray:
        return self.values[:, 1]

    def add(self, keys: np.ndarray, weight: np.ndarray, coarse: np.ndarray | None = None) -> None:
        """Add one segment: keys [N] int64 sorted unique, weights [N]; coarse = coarsen_keys(keys) if known."""
        vals = np.stack([np.ones(len(keys), np.float32), np.asarray(weight, np.float32)], axis=1)
        self._add(np.asarray(keys, np.int64), vals, coarse)

    def absorb(self, other: "VoxelMap") -> None:
        self._add(other.keys, other.values, other.coarse)

    def _add(self, keys: np.ndarray, values: np.ndarray, coarse: np.ndarray | None) -> None:
        self.keys, self.values = union_add(self.keys, self.values, keys, values)
        self.coarse = sorted_union(self.coarse, coarsen_keys(keys, self.factor) if coarse is None else coarse)
