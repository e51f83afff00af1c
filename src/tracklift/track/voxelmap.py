"""A track's voxel map: sorted voxel keys with per-voxel hit counts and weights, plus set operations."""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
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


@numba.njit(cache=True, nogil=True)
def _merge_evidence_kernel(map_keys, map_values, keys, weight, elsewhere, min_support):
    n, m, e_len = len(map_keys), len(keys), len(elsewhere)
    out_keys = np.empty(n + m, np.int64)
    out_values = np.empty((n + m, 3), np.float32)
    i = j = e = o = 0
    changed = False
    one = np.float32(1.0)
    while i < n or j < m:
        if j >= m or (i < n and map_keys[i] < keys[j]):  # a map voxel this frame did not hit
            key = map_keys[i]
            hits, w, misses = map_values[i, 0], map_values[i, 1], map_values[i, 2]
            while e < e_len and elsewhere[e] < key:
                e += 1
            if e < e_len and elsewhere[e] == key:
                was = hits >= min_support * (hits + misses)
                misses = misses + one
                changed |= was != (hits >= min_support * (hits + misses))
            i += 1
        elif i < n and map_keys[i] == keys[j]:  # a hit on a map voxel
            key = map_keys[i]
            hits, w, misses = map_values[i, 0], map_values[i, 1], map_values[i, 2]
            was = hits >= min_support * (hits + misses)
            hits, w = hits + one, w + weight[j]
            changed |= was != (hits >= min_support * (hits + misses))
            i += 1
            j += 1
        else:  # a new voxel
            key, hits, w, misses = keys[j], one, weight[j], np.float32(0.0)
            j += 1
        out_keys[o] = key
        out_values[o, 0], out_values[o, 1], out_values[o, 2] = hits, w, misses
        o += 1
    return out_keys[:o], out_values[:o], changed


def merge_evidence(
    map_keys: np.ndarray,
    map_values: np.ndarray,
    keys: np.ndarray,
    weight: np.ndarray,
    elsewhere: np.ndarray | None,
    min_support: float,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """One frame's evidence merged into a voxel map in one pass over the sorted keys (numba).

    map_keys: [M] int64 sorted unique, map_values: [M, 3] float32 (hits, weight, misses); keys: [N] int64 sorted
    unique, weight: [N] float32, their hits; elsewhere: [K] int64 sorted unique keys the frame saw under
    other labels, or None. A map voxel in `elsewhere` but not in `keys` gains a miss; every key adds one hit and
    its weight (a new key starts at zero). Returns the new keys and values and whether any of the map's voxels
    became active or inactive (`VoxelMap.active` at `min_support`)."""
    nothing = np.zeros(0, np.int64)
    return _merge_evidence_kernel(
        np.asarray(map_keys, np.int64),
        np.asarray(map_values, np.float32),
        np.asarray(keys, np.int64),
        np.asarray(weight, np.float32),
        nothing if elsewhere is None else np.asarray(elsewhere, np.int64),
        np.float32(min_support),
    )


def merge_evidence_reference(map_keys, map_values, keys, weight, elsewhere, min_support):
    """`merge_evidence` from the set operations (`contains`, `union_add`); the tests compare the two."""
    values = np.array(map_values, np.float32).reshape(-1, 3)

    def active(v):
        return v[:, 0] >= np.float32(min_support) * (v[:, 0] + v[:, 2])

    before = active(values)
    if elsewhere is not None:
        values[contains(elsewhere, map_keys) & ~contains(keys, map_keys), 2] += np.float32(1.0)
    hits = np.stack(
        [np.ones(len(keys), np.float32), np.asarray(weight, np.float32), np.zeros(len(keys), np.float32)], 1
    )
    new_keys, new_values = union_add(np.asarray(map_keys, np.int64), values, np.asarray(keys, np.int64), hits)
    after = active(new_values)[np.searchsorted(new_keys, map_keys)]
    return new_keys, new_values, bool((before != after).any())


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
        w = np.ones(len(keys), np.float32) if weight is None else weight
        self.keys, self.values, changed = merge_evidence(
            self.keys, self.values, keys, w, observed_elsewhere, self.min_support
        )
        if changed:
            self.coarse = coarsen_keys(self.keys[self.active], self.factor)
        elif len(keys):
            # New voxels are active (one hit, no miss): only their coarse voxels can be new.
            new = coarsen_keys(keys, self.factor) if coarse is None else coarse
            merged = np.sort(np.concatenate([self.coarse, new]), kind="stable")
            self.coarse = merged[np.r_[True, merged[1:] != merged[:-1]]] if len(merged) else merged

    def absorb(self, other: "VoxelMap") -> None:
        self.keys, self.values = union_add(self.keys, self.values, other.keys, other.values)
        self.coarse = coarsen_keys(self.keys[self.active], self.factor)
