"""Controlled 2D inconsistency: exact per-view instance masks merged, split by a line and coarsened."""

from __future__ import annotations

import numpy as np

from benchmarks.trace3d.suite import Trace3DSuite


def inconsistent_masks(gt: np.ndarray, rng: np.random.Generator, suite: Trace3DSuite):
    """Masks of one view from its exact instance map, made inconsistent (see the module docstring).

    gt: [H, W] int64 instance id per pixel, -1 = none. Returns FrameMasks (may overlap).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    from tracklift.core.label_maps import split_by_lines, touching_pairs
    from tracklift.core.masks import FrameMasks

    ids = np.unique(gt[gt >= 0])
    if len(ids) == 0:
        return FrameMasks.empty(*gt.shape)
    index = {int(k): i for i, k in enumerate(ids)}
    pairs = touching_pairs(gt)
    merged = pairs[rng.random(len(pairs)) < suite.merge_rate]
    links = np.array([[index[int(a)], index[int(b)]] for a, b in merged]).reshape(-1, 2)
    graph = csr_matrix((np.ones(len(links)), (links[:, 0], links[:, 1])), shape=(len(ids), len(ids)))
    _, group = connected_components(graph, directed=False)
    masks = [np.isin(gt, ids[group == c]) for c in np.unique(group)]
    out = []
    for m in masks:
        if m.sum() >= 4 * suite.min_pixels and rng.random() < suite.split_rate:
            rows, cols = np.nonzero(m)
            below, above = split_by_lines(m, rng.uniform(0, np.pi), [0.0], (cols.mean(), rows.mean()), side="right")
            out += [above, below]
        else:
            out.append(m)
    for a, b in pairs[rng.random(len(pairs)) < suite.coarse_rate]:
        out.append((gt == a) | (gt == b))
    return FrameMasks(np.stack([m for m in out if m.any()]))
