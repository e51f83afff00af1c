"""Connected components of voxel sets on the voxel grid, many sets at once.

Two voxels of the same group (e.g. the same 2D mask) are connected when their coordinates differ by at
most `radius` along every axis (radius 1 = 26-neighbourhood). Groups never connect to each other, so all
masks of a frame are split in one vectorised pass.
"""

from __future__ import annotations

from collections import deque

import numba
import numpy as np


def _half_offsets(radius: int) -> np.ndarray:
    """[K, 3] int64: the neighbour offsets with (di, dj, dk) > 0 lexicographically (each pair once)."""
    r = np.arange(-radius, radius + 1)
    grid = np.stack(np.meshgrid(r, r, r, indexing="ij"), axis=-1).reshape(-1, 3)
    positive = (grid[:, 0] > 0) | ((grid[:, 0] == 0) & ((grid[:, 1] > 0) | ((grid[:, 1] == 0) & (grid[:, 2] > 0))))
    return grid[positive].astype(np.int64)


def _check(coords: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    coords = np.asarray(coords, np.int64)
    groups = np.asarray(groups, np.int64)
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ValueError(f"coords must be [N, 3] int, got {coords.shape}")
    if groups.shape != (len(coords),):
        raise ValueError(f"groups must be [{len(coords)}], got {groups.shape}")
    return coords, groups


def voxel_components(coords: np.ndarray, groups: np.ndarray, radius: int = 1) -> np.ndarray:
    """Component id per voxel.

    coords: [N, 3] int64 voxel coordinates; groups: [N] int64 group of each voxel. The (group, coord)
    pairs must be unique. Returns [N] int64 component ids, numbered 0..C-1 in the order of each component's
    first voxel by (group, i, j, k) (components never span groups). A numba union-find beside the plain
    breadth-first `voxel_components_reference`.
    """
    coords, groups = _check(coords, groups)
    n = len(coords)
    if n == 0:
        return np.zeros(0, np.int64)
    # Re-pack (group, i, j, k) into one int64 with a margin of `radius` per axis so that a neighbour offset
    # is one constant and can never wrap into another row, plane or group.
    lo = coords.min(0) - radius
    ext = coords.max(0) - lo + radius + 1
    g = groups - groups.min()
    if float(g.max() + 1) * float(np.prod(ext.astype(np.float64))) >= 2.0**62:
        raise ValueError("voxel set too spread out to pack; use a larger voxel size")
    c = coords - lo
    keys = ((g * ext[0] + c[:, 0]) * ext[1] + c[:, 1]) * ext[2] + c[:, 2]
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    if n > 1 and (np.diff(sorted_keys) == 0).any():
        raise ValueError("voxel_components: (group, coord) pairs must be unique")
    deltas = np.array([(di * ext[1] + dj) * ext[2] + dk for di, dj, dk in _half_offsets(radius)], np.int64)
    labels = np.empty(n, np.int64)
    labels[order] = _components_kernel(sorted_keys, deltas)
    return labels


@numba.njit(cache=True, nogil=True)
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@numba.njit(cache=True, nogil=True)
def _components_kernel(sorted_keys, deltas):
    """Union-find over sorted unique keys joined where they differ by one of `deltas` (all > 0): each offset is
    one merge-like sweep, since key + delta grows with key. Components are numbered by their first key."""
    n = len(sorted_keys)
    parent = np.arange(n)
    for delta in deltas:
        j = 0
        for i in range(n):
            target = sorted_keys[i] + delta
            while j < n and sorted_keys[j] < target:
                j += 1
            if j == n:
                break
            if sorted_keys[j] == target:
                a, b = _find(parent, i), _find(parent, j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    labels = np.empty(n, np.int64)
    count = 0
    for i in range(n):
        root = _find(parent, i)
        if root == i:
            labels[i] = count
            count += 1
        else:
            labels[i] = labels[root]  # roots are the smallest index of their component: labelled already
    return labels


def voxel_components_reference(coords: np.ndarray, groups: np.ndarray, radius: int = 1) -> np.ndarray:
    """Plain breadth-first version of `voxel_components` (same partition; ids may be numbered differently)."""
    coords, groups = _check(coords, groups)
    index = {(int(g), *map(int, c)): n for n, (g, c) in enumerate(zip(groups, coords))}
    labels = np.full(len(coords), -1, np.int64)
    offsets = [tuple(o) for o in np.stack(np.meshgrid(*[np.arange(-radius, radius + 1)] * 3), -1).reshape(-1, 3)]
    current = 0
    for start in range(len(coords)):
        if labels[start] >= 0:
            continue
        labels[start] = current
        queue = deque([start])
        while queue:
            n = queue.popleft()
            g, i, j, k = int(groups[n]), *map(int, coords[n])
            for di, dj, dk in offsets:
                m = index.get((g, i + di, j + dj, k + dk))
                if m is not None and labels[m] < 0:
                    labels[m] = current
                    queue.append(m)
        current += 1
    return labels


def main_components(
    groups: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    depth: np.ndarray | None = None,
    share: float = np.inf,
    behind: float = np.inf,
) -> np.ndarray:
    """[N] bool: the voxels of each group's main components.

    groups: [N] int group (mask) of each voxel; labels: [N] int component id (components never span groups);
    weights: [N] mass of each voxel (default 1); depth: [N] camera depth of each voxel, metres.
    The heaviest component of a group is kept (ties: the smaller id), and so is every other component of the
    group with at least `share` of its mass whose mean depth lies at most `behind` metres beyond the heaviest's:
    the legs of a desk whose top the depth edges cut away are kept, a strip the mask bled onto the wall far
    behind is not. The defaults keep the heaviest component only.
    """
    groups = np.asarray(groups, np.int64)
    labels = np.asarray(labels, np.int64)
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, np.float64)
    mass = np.bincount(labels, weights=w)
    comp_group = np.zeros(len(mass), np.int64)
    comp_group[labels] = groups
    # Sort components by group, then by decreasing mass (then id): the first of each group is the heaviest.
    order = np.lexsort((np.arange(len(mass)), -mass, comp_group))
    first = np.ones(len(order), bool)
    first[1:] = comp_group[order][1:] != comp_group[order][:-1]
    winners = np.zeros(len(mass), bool)
    winners[order[first]] = True
    if np.isfinite(share) or np.isfinite(behind):
        heaviest = np.zeros(int(comp_group.max(initial=0)) + 1, np.int64)
        heaviest[comp_group[order[first]]] = order[first]
        main = heaviest[comp_group]
        ok = mass >= share * mass[main]
        if depth is not None:
            mean_depth = np.bincount(labels, weights=w * np.asarray(depth, np.float64)) / np.maximum(mass, 1e-12)
            ok &= mean_depth <= mean_depth[main] + behind
        winners |= ok & (mass > 0)
    return winners[labels]


def main_components_reference(groups, labels, weights=None, depth=None, share=np.inf, behind=np.inf) -> np.ndarray:
    """Plain per-group version of `main_components` (the tests compare the two)."""
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, np.float64)
    d = np.zeros(len(labels)) if depth is None else np.asarray(depth, np.float64)
    keep = np.zeros(len(labels), bool)
    for g in np.unique(groups):
        comps = {}
        for n in np.flatnonzero(groups == g):
            m, wd = comps.get(int(labels[n]), (0.0, 0.0))
            comps[int(labels[n])] = (m + w[n], wd + w[n] * d[n])
        top = min(comps, key=lambda c: (-comps[c][0], c))
        top_mass, top_depth = comps[top][0], comps[top][1] / max(comps[top][0], 1e-12)
        for c, (m, wd) in comps.items():
            near = depth is None or wd / max(m, 1e-12) <= top_depth + behind
            if c == top or (m > 0 and m >= share * top_mass and near):
                keep[(groups == g) & (labels == c)] = True
    return keep
