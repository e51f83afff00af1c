"""Mask correction with the instance weight matrix (Trace3D): regroup each view's mask patches by how the
other views group their Gaussians.

A segmenter such as SAM gives overlapping masks at several granularities and groups an object differently
from view to view. Per view, the masks cut the image into *patches* (pixels covered by the same set of
masks). Each patch is traced into the Gaussians; for every other view its *signature* says into which of
that view's patches those Gaussians fall (`tracing.signatures`). In another view, two patches agree as much as
the smaller of: the share of p's mass under a mask with q's main patch, and the other way round
(`agreement_per_view`; J, the Jaccard index of the sets of masks covering two patches, says how much a
view groups them, `comembership`). Patches are grouped by size-weighted average linkage while their
agreement over the views that see both well, the patches' own view (its J) being one more voter
(`pair_agreement`, where a view that keeps them apart weighs more than one that groups them), reaches
`threshold`: an object split in this view only is rejoined, and a coarse mask over two objects that the
other views keep apart is dropped. A single mask that fused two objects is one patch; it is first cut into
parts along the labels of the view that shows it divided best (`split_conflicts`), and the parts are
regrouped like any patches, so a needless cut costs nothing. Without enough other views, the view's own
masks decide. The output masks do not overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.sparse import csr_matrix
from tqdm import tqdm

from tracklift.core.config import config, option
from tracklift.core.label_maps import touching_pairs
from tracklift.core.masks import FrameMasks
from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians
from tracklift.splat.trace3d.closed_form import agglomerate
from tracklift.splat.trace3d.tracing import InstanceTrace, owned_weights, signatures, trace_instances


@config
class CorrectionConfig:
    """Mask correction across views (why these defaults: docs/tuning.md#splat)."""

    threshold: float = option(
        0.5, "merge touching patches whose agreement in other views is >= this", low=0.0, high=1.0
    )
    separation_weight: float = option(2.0, "weight of a view keeping two patches apart vs one grouping them", low=0.0)
    split_below: float = option(
        0.95, "cut a patch whose own Gaussians agree less than this (0 = never)", low=0.0, high=1.0
    )
    min_part: float = option(
        0.05, "parts of a cut patch below this share stay with its largest part", low=0.0, high=1.0
    )
    min_part_pixels: int = option(12, "parts of a cut patch below this many pixels stay with its largest", low=0)
    min_views: int = option(2, "other views needed to overrule the view's own masks", low=1)
    min_visible: float = option(
        0.2, "a view counts for a patch seeing this share of its Gaussian mass", low=0.0, high=1.0
    )
    mode: str = option("alpha", "tracing weight", choices=("alpha", "count"))


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
    flat = masks.reshape(m, h * w).T  # [H*W, M]; explicit size: a view may have no masks
    covered = flat.any(axis=1)
    patch_map = np.full(h * w, -1, np.int64)
    if not covered.any():
        return Patches(patch_map.reshape(h, w), np.zeros((0, m), bool))
    keys, inverse = np.unique(flat[covered], axis=0, return_inverse=True)
    patch_map[covered] = inverse.ravel()
    return Patches(patch_map.reshape(h, w), keys.astype(bool))


def candidate_pairs(patches: Patches) -> np.ndarray:
    """[E, 2] int64 patch pairs to decide on: touching in the image, or covered by one mask (a mask may
    be cut in pieces by an occluder)."""
    m = patches.membership.astype(np.int64)
    a, b = np.nonzero(np.triu((m @ m.T) > 0, k=1))
    both = np.concatenate([touching_pairs(patches.patch_map), np.stack([a, b], axis=1)])
    return np.unique(both, axis=0) if len(both) else np.zeros((0, 2), np.int64)


def comembership(all_patches: Sequence[Patches], offsets: np.ndarray) -> csr_matrix:
    """[S, S] sparse block-diagonal: how much one view groups two of its patches, the Jaccard index of the
    sets of masks covering them (1 on the diagonal, 0 for patches of disjoint masks).

    A view that has a coarse mask over A and B *and* their own masks votes 1/3 for grouping A with B, and
    an object with a nested part mask 1/2 for grouping the part with the rest: granularity choices of a
    view count less than a plain fused mask (1).
    """
    rows, cols, vals = [], [], []
    for v, p in enumerate(all_patches):
        m = p.membership.astype(np.int64)
        inter = m @ m.T
        sizes = m.sum(axis=1)
        union = sizes[:, None] + sizes[None, :] - inter
        r, c = np.nonzero(inter)
        rows.append(r + offsets[v])
        cols.append(c + offsets[v])
        vals.append(inter[r, c] / union[r, c])
    n = int(offsets[-1])
    if not rows:
        return csr_matrix((n, n))
    return csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


@dataclass
class PatchEvidence:
    """What the other views say about one view's P patches.

    sig:     [P, S] float64, `tracing.signatures` of the patches (owned weights).
    grouped: [P, S] float64, sig summed over the patches each global patch shares a mask with.
    seen:    [P, V] float64, share of the patch's Gaussian mass each view sees (0 for the patches' own view).
    visible: [P, V] bool, views that see the patch well enough to count (seen >= min_visible).
    """

    sig: np.ndarray
    grouped: np.ndarray
    seen: np.ndarray
    visible: np.ndarray


def patch_evidence(trace: InstanceTrace, view: int, together: csr_matrix, min_visible: float) -> PatchEvidence:
    lo, hi = int(trace.offsets[view]), int(trace.offsets[view + 1])
    W = owned_weights(trace)[:, lo:hi]
    sig, mass = signatures(trace, W)  # [P, S], [P, V]
    total = np.asarray(W.sum(axis=0)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        seen = np.where(total[:, None] > 0, mass / total[:, None], 0.0)
    seen[:, view] = 0.0
    return PatchEvidence(sig, np.asarray((csr_matrix(sig) @ together).todense()), seen, seen >= min_visible)


def agreement_per_view(ev: PatchEvidence, view_of: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """[E, V] how much view v puts patches p[e] and q[e] under one mask: the share of p's mass grouped with
    q's main patch there, or of q's mass with p's main patch, whichever is smaller.

    The smaller of the two, because a small object's Gaussians bleed into the large one beside it (at a
    few pixels across, much of a bottle's weight lands on its table) while the table's hardly land on the
    bottle; a view that truly groups the two scores high both ways. For p == q: the share of p's mass
    grouped with its own main patch.
    """
    out = np.zeros((len(p), ev.visible.shape[1]))
    for v in range(ev.visible.shape[1]):
        cols = np.flatnonzero(view_of == v)
        if len(cols) == 0:
            continue
        main = cols[ev.sig[:, cols].argmax(axis=1)]  # [P] global id of each patch's main patch in view v
        out[:, v] = np.minimum(ev.grouped[p, main[q]], ev.grouped[q, main[p]])
    return out


def pair_agreement(
    ev: PatchEvidence,
    view_of: np.ndarray,
    pairs: np.ndarray,
    separation_weight: float = 1.0,
    own: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Agreement of patch pairs [E, 2] over the views that see both patches: A / (A + w·D), A the summed
    per-view agreement, D the summed disagreement (1 - agreement), w = separation_weight (1: the mean).
    own: [E] float64, optionally the patches' own view's agreement (`comembership`), counted as one more
    view, so that the few other views that see a patch must outvote its own masks.

    Returns agreement [E] float64 in [0, 1] (0 where no view counts) and views [E] int64 (other views
    counted).
    """
    p, q = pairs[:, 0], pairs[:, 1]
    per_view = agreement_per_view(ev, view_of, p, q)
    counted = ev.visible[p] & ev.visible[q]
    n_views = counted.sum(axis=1)
    together = (per_view * counted).sum(axis=1)
    apart = ((1.0 - per_view) * counted).sum(axis=1)
    if own is not None:
        together, apart = together + own, apart + (1.0 - own)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.where(n_views > 0, together / (together + separation_weight * apart), 0.0)
    return np.nan_to_num(agreement), n_views


def split_conflicts(
    g: Gaussians,
    camera: Camera,
    trace: InstanceTrace,
    view: int,
    patches: Patches,
    ev: PatchEvidence,
    cfg: CorrectionConfig,
) -> tuple[Patches, int]:
    """Cut the patches of one view whose own Gaussians the other views keep apart (a mask fused two objects).

    A patch is in conflict when its self-agreement (`pair_agreement` of the patch with itself) is below
    `cfg.split_below`. It is cut along the labels of its *witness*, the view that shows most of its mass
    divided (disagreement times the share of the mass it sees, so a view that glimpses a corner of it does
    not decide): each Gaussian's label distribution in the witness is rendered into this view and every
    pixel of the patch takes the witness label that dominates it. Parts smaller than `min_part` of the patch
    (or `min_part_pixels`), and pixels where the witness' labelled Gaussians cover less than half, join the
    largest part. Regrouping then decides which parts belong together. Returns the refined patches and the number of
    patches cut.
    """
    import torch

    from tracklift.splat.render.rasterizer import rasterize

    view_of = trace.view_of_label()
    idx = np.arange(patches.n)
    self_agreement, n_views = pair_agreement(ev, view_of, np.stack([idx, idx], axis=1))
    per_view = agreement_per_view(ev, view_of, idx, idx)
    conflict = np.flatnonzero((n_views >= cfg.min_views) & (self_agreement < cfg.split_below))
    patch_map, membership = patches.patch_map.copy(), [patches.membership]
    next_id, n_cut = patches.n, 0
    W = trace.matrix()
    rendered: dict[int, np.ndarray] = {}
    for p in conflict:
        witness = int(np.argmax(np.where(ev.visible[p], (1.0 - per_view[p]) * ev.seen[p], -np.inf)))
        if witness not in rendered:
            block = W[:, int(trace.offsets[witness]) : int(trace.offsets[witness + 1])].toarray()
            rows = block.sum(axis=1, keepdims=True)
            dist = torch.as_tensor(np.where(rows > 0, block / np.maximum(rows, 1e-30), 0.0), dtype=g.means.dtype)
            with torch.no_grad():
                rendered[witness] = rasterize(g.detach(), camera, colors=dist, background=None).color.numpy()
        inside = patch_map == p
        feats = rendered[witness][inside]  # [K, L_witness]
        part = np.where(feats.sum(axis=1) >= 0.5, feats.argmax(axis=1), -1)
        labels, counts = np.unique(part[part >= 0], return_counts=True)
        big = labels[counts >= max(cfg.min_part_pixels, cfg.min_part * len(part))]
        if len(big) < 2:
            continue
        largest = labels[np.argmax(counts)]
        lut = np.full(feats.shape[1] + 1, p, np.int64)  # last entry: part -1; small parts stay with p
        others = big[big != largest]
        lut[others] = next_id + np.arange(len(others))
        patch_map[inside] = lut[part]
        membership.append(np.repeat(patches.membership[p : p + 1], len(others), axis=0))
        next_id += len(others)
        n_cut += 1
    return Patches(patch_map, np.concatenate(membership)), n_cut


def regroup(
    patches: Patches, pairs: np.ndarray, affinity: np.ndarray, threshold: float, masks: FrameMasks
) -> FrameMasks:
    """Non-overlapping masks from patches: average-linkage groups of the candidate `pairs` [E, 2] with
    `affinity` [E] (other pairs do not count), joined while the mean, weighted by the patches' pixel
    counts, is >= threshold, so neither one strong pair nor a sliver of a patch can chain two groups that
    otherwise disagree. Each mask keeps the label and score of the original mask that covers most of it."""
    n = patches.n
    pm = patches.patch_map
    if n == 0:
        return FrameMasks(np.zeros((0, *pm.shape), bool))
    valid = pm >= 0
    sizes = np.bincount(pm[valid], minlength=n)
    dense = np.full((n, n), np.nan)
    dense[pairs[:, 0], pairs[:, 1]] = affinity
    dense[pairs[:, 1], pairs[:, 0]] = affinity
    group = agglomerate(dense, np.arange(n), threshold, np.maximum(sizes, 1))
    n_groups = int(group.max(initial=-1)) + 1
    h, w = pm.shape
    out = np.zeros((n_groups, h, w), bool)
    out[group[pm[valid]], *np.nonzero(valid)] = True
    cover = np.zeros((n_groups, patches.membership.shape[1]))
    np.add.at(cover, group, patches.membership * sizes[:, None])
    best = cover.argmax(axis=1) if cover.shape[1] else np.zeros(n_groups, int)
    labels = [masks.labels[b] for b in best] if len(masks) else []
    scores = masks.scores[best] if len(masks) else np.zeros(0, np.float32)
    return FrameMasks(out, labels, scores)


def _joined(corrected: FrameMasks, patches: Patches, pairs: np.ndarray) -> np.ndarray:
    """[E] bool, which candidate pairs ended in one corrected mask."""
    group = np.full(patches.n, -1)
    for k, m in enumerate(corrected.masks):
        group[np.unique(patches.patch_map[m])] = k
    return group[pairs[:, 0]] == group[pairs[:, 1]]


def _trace_patches(g, cameras, all_patches, cfg, progress) -> tuple[InstanceTrace, csr_matrix]:
    maps, counts = [p.patch_map for p in all_patches], [p.n for p in all_patches]
    trace = trace_instances(g, cameras, maps, mode=cfg.mode, num_labels=counts, progress=progress)
    return trace, comembership(all_patches, trace.offsets)


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
            raise ValueError(
                f"masks of view {cam.name!r} are {fm.shape[1]}x{fm.shape[0]}, camera is {cam.width}x{cam.height}"
            )
    all_patches = [build_patches(fm.masks) for fm in masks]
    report = {"patches": 0, "cut": 0, "pairs": 0, "merged": 0, "overruled": 0}
    trace, together = _trace_patches(g, cameras, all_patches, cfg, progress)
    if cfg.split_below > 0:
        for v in tqdm(range(len(cameras)), desc="conflict splitting", disable=not progress, unit="view"):
            ev = patch_evidence(trace, v, together, cfg.min_visible)
            all_patches[v], cut = split_conflicts(g, cameras[v], trace, v, all_patches[v], ev, cfg)
            report["cut"] += cut
        if report["cut"]:
            trace, together = _trace_patches(g, cameras, all_patches, cfg, progress)
    view_of = trace.view_of_label()
    out = []
    for v in tqdm(range(len(cameras)), desc="mask correction", disable=not progress, unit="view"):
        patches = all_patches[v]
        pairs = candidate_pairs(patches)
        first, second = patches.membership[pairs[:, 0]], patches.membership[pairs[:, 1]]
        shared, covering = (first & second).sum(axis=1), (first | second).sum(axis=1)
        own = shared > 0
        ev = patch_evidence(trace, v, together, cfg.min_visible)
        own_vote = shared / np.maximum(covering, 1)  # as `comembership`
        agreement, n_views = pair_agreement(ev, view_of, pairs, cfg.separation_weight, own_vote)
        affinity = np.where(n_views >= cfg.min_views, agreement, own.astype(np.float64))
        corrected = regroup(patches, pairs, affinity, cfg.threshold, masks[v])
        out.append(corrected)
        merge = _joined(corrected, patches, pairs)
        report["patches"] += patches.n
        report["pairs"] += len(pairs)
        report["merged"] += int(merge.sum())
        report["overruled"] += int((merge != own).sum())
    return out, report
