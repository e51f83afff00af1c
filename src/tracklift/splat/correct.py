"""Mask correction with the instance weight matrix (Trace3D): regroup each view's mask patches by how the
other views group their Gaussians.

A segmenter such as SAM gives overlapping masks at several granularities and groups an object differently
from view to view. Per view, the masks cut the image into *patches* (pixels covered by the same set of
masks). Each patch is traced into the Gaussians; for every other view its *signature* says into which of
that view's patches those Gaussians fall (`git.signatures`). Two touching patches *agree* in another view
with probability Σ s_p[r] s_q[r'] over pairs of patches r, r' that one mask of that view covers together.
Patches whose agreement, averaged over the views that see both well, reaches `threshold` are merged, the
others are separated, so a mask that fused two objects which the other views keep apart is cut, and an
object split in this view only is rejoined. Without enough other views, the view's own masks decide.
The output masks do not overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from tqdm import tqdm

from tracklift.segment2d.masks import FrameMasks
from tracklift.splat.camera import Camera
from tracklift.splat.gaussians import Gaussians
from tracklift.splat.git import InstanceTrace, signatures, trace_instances


@dataclass
class CorrectionConfig:
    """threshold: merge two touching patches when their mean agreement in other views is >= this;
    min_views: other views needed to overrule the view's own masks; min_visible: a view counts for a pair
    when it sees at least this share of each patch's Gaussian mass; mode: tracing weight, "alpha" or "count"."""

    threshold: float = 0.5
    min_views: int = 2
    min_visible: float = 0.2
    mode: str = "alpha"


@dataclass
class Patches:
    """The patches of one view.

    patch_map:  [H, W] int64, patch id per pixel, -1 where no mask covers it.
    membership: [P, M] bool, which of the view's M masks cover each patch.
    """

    patch_map: np.ndarray
    membership: np.ndarray

    @property
    def n(self) -> int:
        return int(self.membership.shape[0])


def build_patches(masks: np.ndarray) -> Patches:
    """Cut an image into patches: pixels with the same set of covering masks.

    masks: [M, H, W] bool (may overlap). Patch ids follow the sorted coverage sets (deterministic).
    """
    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.dtype != np.bool_:
        raise ValueError(f"masks must be [M, H, W] bool, got {masks.shape} {masks.dtype}")
    m, h, w = masks.shape
    flat = masks.reshape(m, -1).T  # [H*W, M]
    covered = flat.any(axis=1)
    patch_map = np.full(h * w, -1, np.int64)
    if not covered.any():
        return Patches(patch_map.reshape(h, w), np.zeros((0, m), bool))
    keys, inverse = np.unique(flat[covered], axis=0, return_inverse=True)
    patch_map[covered] = inverse.ravel()
    return Patches(patch_map.reshape(h, w), keys.astype(bool))


def touching_pairs(label_map: np.ndarray) -> np.ndarray:
    """[E, 2] int64 unique pairs (a < b) of labels >= 0 that are 4-neighbours somewhere in the map."""
    pairs = []
    for a, b in ((label_map[:, :-1], label_map[:, 1:]), (label_map[:-1, :], label_map[1:, :])):
        sel = (a != b) & (a >= 0) & (b >= 0)
        pairs.append(np.stack([np.minimum(a[sel], b[sel]), np.maximum(a[sel], b[sel])], axis=1))
    both = np.concatenate(pairs)
    return np.unique(both, axis=0) if len(both) else np.zeros((0, 2), np.int64)


def candidate_pairs(patches: Patches) -> np.ndarray:
    """[E, 2] int64 patch pairs to decide on: touching in the image, or covered by one mask (a mask may
    be cut in pieces by an occluder)."""
    m = patches.membership.astype(np.int64)
    a, b = np.nonzero(np.triu((m @ m.T) > 0, k=1))
    both = np.concatenate([touching_pairs(patches.patch_map), np.stack([a, b], axis=1)])
    return np.unique(both, axis=0) if len(both) else np.zeros((0, 2), np.int64)


def comembership(all_patches: Sequence[Patches], offsets: np.ndarray) -> csr_matrix:
    """[S, S] sparse block-diagonal: 1 where two global patch ids of one view share a mask of that view."""
    rows, cols = [], []
    for v, p in enumerate(all_patches):
        m = p.membership.astype(np.int64)
        together = (m @ m.T) > 0
        np.fill_diagonal(together, True)
        r, c = np.nonzero(together)
        rows.append(r + offsets[v])
        cols.append(c + offsets[v])
    n = int(offsets[-1])
    r, c = (np.concatenate(rows), np.concatenate(cols)) if rows else (np.zeros(0, int), np.zeros(0, int))
    return csr_matrix((np.ones(len(r)), (r, c)), shape=(n, n))


def pair_agreement(
    trace: InstanceTrace, view: int, pairs: np.ndarray, together: csr_matrix, min_visible: float
) -> tuple[np.ndarray, np.ndarray]:
    """Agreement of patch pairs of one view, averaged over the other views that see both.

    pairs: [E, 2] local patch ids of `view`. together: `comembership` of all views.
    Returns agreement [E] float64 in [0, 1] (0 where no view counts) and views [E] int64 (views counted).
    """
    lo, hi = int(trace.offsets[view]), int(trace.offsets[view + 1])
    W = trace.matrix()[:, lo:hi]
    sig, mass = signatures(trace, W)  # [P, S], [P, V]
    total = np.asarray(W.sum(axis=0)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        visible = np.where(total[:, None] > 0, mass / total[:, None], 0.0) >= min_visible  # [P, V]
    visible[:, view] = False
    grouped = np.asarray((csr_matrix(sig) @ together).todense())  # [P, S]: mass in patches grouped with s
    view_of = trace.view_of_label()
    p, q = pairs[:, 0], pairs[:, 1]
    per_view = np.zeros((len(pairs), trace.n_views))
    for v in range(trace.n_views):
        cols = view_of == v
        per_view[:, v] = (sig[p][:, cols] * grouped[q][:, cols]).sum(axis=1)
    counted = visible[p] & visible[q]
    n_views = counted.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.where(n_views > 0, (per_view * counted).sum(axis=1) / np.maximum(n_views, 1), 0.0)
    return agreement, n_views


def regroup(patches: Patches, pairs: np.ndarray, merge: np.ndarray, masks: FrameMasks) -> FrameMasks:
    """Non-overlapping masks from patches joined along the `merge`d pairs; each keeps the label and score
    of the original mask that covers most of it."""
    n = patches.n
    keep = pairs[merge]
    graph = csr_matrix((np.ones(len(keep)), (keep[:, 0], keep[:, 1])), shape=(n, n))
    n_groups, group = connected_components(graph, directed=False)
    h, w = patches.patch_map.shape
    pm = patches.patch_map
    out = np.zeros((n_groups, h, w), bool)
    valid = pm >= 0
    out[group[pm[valid]], *np.nonzero(valid)] = True
    sizes = np.bincount(pm[valid], minlength=n)
    cover = np.zeros((n_groups, patches.membership.shape[1]))
    np.add.at(cover, group, patches.membership * sizes[:, None])
    best = cover.argmax(axis=1) if cover.shape[1] else np.zeros(n_groups, int)
    labels = [masks.labels[b] for b in best] if len(masks) else []
    scores = masks.scores[best] if len(masks) else np.zeros(0, np.float32)
    return FrameMasks(out, labels, scores)


def correct_masks(
    g: Gaussians,
    cameras: Sequence[Camera],
    masks: Sequence[FrameMasks],
    config: CorrectionConfig | None = None,
    *,
    progress: bool = False,
) -> tuple[list[FrameMasks], dict]:
    """Correct every view's masks against the others (see the module docstring).

    cameras: V views; masks: V FrameMasks of the camera sizes (may overlap). Returns the corrected
    non-overlapping masks and a report (patches, candidate pairs, merged pairs, overruled pairs).
    """
    cfg = config or CorrectionConfig()
    if len(masks) != len(cameras):
        raise ValueError(f"need one FrameMasks per camera, got {len(cameras)} cameras and {len(masks)} mask sets")
    for cam, fm in zip(cameras, masks):
        if fm.shape != (cam.height, cam.width):
            raise ValueError(f"masks of view {cam.name!r} are {fm.shape[1]}x{fm.shape[0]}, camera is {cam.width}x{cam.height}")
    all_patches = [build_patches(fm.masks) for fm in masks]
    trace = trace_instances(
        g, cameras, [p.patch_map for p in all_patches], mode=cfg.mode, num_labels=[p.n for p in all_patches], progress=progress
    )
    together = comembership(all_patches, trace.offsets)
    report = {"patches": 0, "pairs": 0, "merged": 0, "overruled": 0}
    out = []
    for v in tqdm(range(len(cameras)), desc="mask correction", disable=not progress, unit="view"):
        patches = all_patches[v]
        pairs = candidate_pairs(patches)
        own = (patches.membership[pairs[:, 0]] & patches.membership[pairs[:, 1]]).any(axis=1)
        agreement, n_views = pair_agreement(trace, v, pairs, together, cfg.min_visible)
        decided = n_views >= cfg.min_views
        merge = np.where(decided, agreement >= cfg.threshold, own)
        out.append(regroup(patches, pairs, merge, masks[v]))
        report["patches"] += patches.n
        report["pairs"] += len(pairs)
        report["merged"] += int(merge.sum())
        report["overruled"] += int((merge != own).sum())
    return out, report
