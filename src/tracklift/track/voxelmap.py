"""A track's voxel map: sorted voxel keys with per-voxel hit counts and weights, plus set operations."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracklift.lift.voxels import contains, pack_keys, unique_keys, unpack_keys


def coarsen_keys(keys: np.ndarray, factor: int) -> np.ndarray:
    """[N] int64 keys -> sorted unique keys of the voxels `factor` times larger that hold them."""
    if factor == 1:
        return unique_keys(keys)
    return unique_keys(pack_keys(unpack_keys(keys) // factor))


def union_add(
    keys_a: np.ndarray, vals_a: np.ndarray, keys_b: np.ndarray, vals_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
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


def union_add_reference(keys_a, vals_a, keys_b, vals_b) -> tuple[np.ndarray, np.ndarray]:
    """Plain dictionary version of `union_add` (the tests compare the two)."""
    acc: dict[int, np.ndarray] = {}
    for k, v in list(zip(keys_a.tolist(), vals_a)) + list(zip(keys_b.tolist(), vals_b)):
        acc[k] = acc.get(k, 0) + np.asarray(v, np.float64)
    keys = np.array(sorted(acc), np.int64)
    return keys, np.array([acc[k] for k in keys.tolist()], np.float32).reshape((len(keys),) + np.shape(vals_a)[1:])


@dataclass
class VoxelMap:
    """A set of voxels with per-voxel evidence.

    keys: [M] int64 sorted unique; values: [M, 3] float32 — hits (frames whose mask for this track held the
    voxel), weight (summed pixel weight × mask score) and misses (frames that saw the voxel under another
    mask or as background while this track was in view). A voxel is *active* while
    hits ≥ min_support · (hits + misses): a mask that once bled over a neighbour, or merged two objects,
    leaves voxels that later views keep contradicting, and they fade out (see `active`).
    coarse: sorted unique keys of the `factor`× larger voxels holding the active voxels (what overlaps and
    visibility are measured on).
    """

    factor: int
    min_support: float = 0.0
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    coarse: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def hits(self) -> np.ndarray:
        return self.values[:, 0]

    @property
    def weight(self) -> np.ndarray:
        return self.values[:, 1]

    @property
    def misses(self) -> np.ndarray:
        return self.values[:, 2]

    @property
    def active(self) -> np.ndarray:
        """[M] bool: voxels whose support hits / (hits + misses) reaches min_support."""
        return self.hits >= self.min_support * (self.hits + self.misses)

    def coarse_hits(self) -> np.ndarray:
        """[len(coarse)] float32: per coarse voxel, the most hits of an active voxel inside it."""
        active = self.active
        parent = pack_keys(unpack_keys(self.keys[active]) // self.factor)
        out = np.zeros(len(self.coarse), np.float32)
        np.maximum.at(out, np.searchsorted(self.coarse, parent), self.hits[active])
        return out

    def update(
        self,
        keys: np.ndarray | None = None,
        weight: np.ndarray | None = None,
        observed_elsewhere: np.ndarray | None = None,
        coarse: np.ndarray | None = None,
    ) -> None:
        """One frame's evidence: a miss for each map voxel in `observed_elsewhere` ([K] int64 sorted unique
        keys the frame saw under other labels) but not in `keys`, then a hit for each of `keys` ([N] int64
        sorted unique) with `weight` ([N]); refreshes `coarse` (pass coarsen_keys(keys) if known)."""
        keys = np.zeros(0, np.int64) if keys is None else np.asarray(keys, np.int64)
        before = self.active
        if observed_elsewhere is not None and len(self.keys):
            missed = contains(observed_elsewhere, self.keys) & ~contains(keys, self.keys)
            self.values[missed, 2] += 1.0
        if len(keys):
            w = np.ones(len(keys), np.float32) if weight is None else np.asarray(weight, np.float32)
            vals = np.stack([np.ones(len(keys), np.float32), w, np.zeros(len(keys), np.float32)], axis=1)
            old_keys = self.keys
            self.keys, self.values = union_add(self.keys, self.values, keys, vals)
            after = self.active[np.searchsorted(self.keys, old_keys)]
        else:
            after = self.active
        if (before != after).any():
            self.coarse = coarsen_keys(self.keys[self.active], self.factor)
        elif len(keys):
            # New voxels are active (one hit, no miss): only their coarse voxels can be new.
            new = coarsen_keys(keys, self.factor) if coarse is None else coarse
            merged = np.sort(np.concatenate([self.coarse, new]), kind="stable")
            self.coarse = merged[np.r_[True, merged[1:] != merged[:-1]]] if len(merged) else merged

    def absorb(self, other: "VoxelMap") -> None:
        self.keys, self.values = union_add(self.keys, self.values, other.keys, other.values)
        self.coarse = coarsen_keys(self.keys[self.active], self.factor)
