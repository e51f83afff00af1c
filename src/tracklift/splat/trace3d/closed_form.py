"""Closed-form lifting: per-view masks -> 3D instances of Gaussians, with no training.

The masks' ids need not agree across views, so segments are first *associated*: two segments of different
views have affinity min(share of a's Gaussians that land in b, share of b's that land in a), measured on
the instance weight matrix (`tracing.signatures`) where each view sees the other's Gaussians well enough.
Average-linkage agglomeration joins segments while the mean affinity is >= `link_threshold` and never puts
two segments of one view into one instance (they are different objects by definition), which stops chains
through a mask that fused two objects. Then each Gaussian takes the instance with the largest summed
weight, as in FlashSplat's closed form, against the background (unmasked pixels) scaled by
`background_bias`; a Gaussian where background wins gets -1.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from tracklift.core.config import config, option
from tracklift.splat.io.instances import Instances
from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians
from tracklift.splat.trace3d.tracing import (
    InstanceTrace,
    TracedViews,
    check_label_maps,
    owned_weights,
    signatures,
    trace_instances,
)


@config
class GaussianLiftConfig:
    """Closed-form lifting of per-view masks to Gaussians (splat's; `tracklift.lift.LiftConfig` is RGB-D's)."""

    link_threshold: float = option(0.5, "mean segment affinity needed to join segments", low=0.0, high=1.0)
    min_visible: float = option(
        0.3, "a view pair counts when each sees this share of the other's segment", low=0.0, high=1.0
    )
    background_bias: float = option(1.0, "weight of the background vote", low=0.0)
    min_views: int = option(2, "instances supported by fewer views are dropped", low=1)
    min_gaussians: int = option(3, "smaller instances are dropped", low=1)
    mode: str = option("alpha", "tracing weight", choices=("alpha", "count"))


def with_background(
    label_maps: Sequence[np.ndarray], *, label_empty_views: bool = False
) -> tuple[list[np.ndarray], list[int]]:
    """Give each view's unmasked pixels (-1) their own label L_v (after the view's L_v mask labels).

    Returns the new maps and num_labels per view (L_v + 1; the last label of each view is background).
    A view with no masks at all keeps no labels (0) unless `label_empty_views`: a segmenter that found
    nothing is no evidence that all it sees is background, but density control needs every view that
    sees a Gaussian to count.
    """
    out, counts = [], []
    for lab in label_maps:
        n = int(lab.max(initial=-1)) + 1
        labelled = n > 0 or label_empty_views
        out.append(np.where(lab < 0, n, lab) if labelled else lab)
        counts.append(n + 1 if labelled else 0)
    return out, counts


def segment_affinity(trace: InstanceTrace, background: np.ndarray, min_visible: float) -> np.ndarray:
    """[S, S] float64 mutual affinity between global labels, NaN where undefined (same view, a background
    label, or a view that does not see the other segment well enough)."""
    W = owned_weights(trace)
    sig, mass = signatures(trace, W)  # [S, S], [S, V]
    total = np.asarray(W.sum(axis=0)).ravel()
    view = trace.view_of_label()
    with np.errstate(invalid="ignore", divide="ignore"):
        seen = np.where(total[:, None] > 0, mass / total[:, None], 0.0) >= min_visible  # [S, V]
    defined = seen[:, view] & seen[:, view].T
    defined &= view[:, None] != view[None, :]
    defined &= ~background[:, None] & ~background[None, :]
    return np.where(defined, np.minimum(sig, sig.T), np.nan)


def agglomerate(
    affinity: np.ndarray, view: np.ndarray, threshold: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """Average-linkage clustering with a cannot-link between labels of one view.

    affinity: [S, S] symmetric, NaN = undefined (not averaged); view: [S] int64; weights: [S] > 0 or None,
    a pair of labels counts w_a·w_b in the cluster means (e.g. sizes, so a sliver cannot bridge two
    regions). Returns cluster [S] int64 (cluster ids are the smallest member index, then compacted to
    0..C-1 in order of first member).
    """
    s = len(view)
    defined = ~np.isnan(affinity)
    pair_weight = np.ones((s, s)) if weights is None else np.outer(weights, weights).astype(np.float64)
    total = np.where(defined, affinity * pair_weight, 0.0)
    count = np.where(defined, pair_weight, 0.0)
    conflict = view[:, None] == view[None, :]  # clusters sharing a view (kept up to date on merges)
    active = np.ones(s, bool)
    parent = np.arange(s)
    while True:
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = np.where(count > 0, total / np.maximum(count, 1), -np.inf)
        avg[~(active[:, None] & active[None, :]) | conflict] = -np.inf
        a, b = divmod(int(np.argmax(avg)), s)
        if not avg[a, b] >= threshold:
            break
        a, b = min(a, b), max(a, b)
        for m in (total, count, conflict):
            m[a] += m[b]
            m[:, a] += m[:, b]
        active[b] = False
        parent[parent == b] = a
    _, cluster = np.unique(parent, return_inverse=True)
    return cluster.astype(np.int64)


def agglomerate_reference(
    affinity: np.ndarray, view: np.ndarray, threshold: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """Plain version of `agglomerate` (for tests): recompute every cluster pair's mean from scratch."""
    w = np.ones(len(view)) if weights is None else np.asarray(weights, np.float64)
    clusters = [[i] for i in range(len(view))]
    while True:
        best, pair = -np.inf, None
        for i in range(len(clusters)):
            for j in range(i + 1, len(clusters)):
                if set(view[clusters[i]]) & set(view[clusters[j]]):
                    continue
                pairs = [(a, b) for a in clusters[i] for b in clusters[j] if not np.isnan(affinity[a, b])]
                if not pairs:
                    continue
                mean = np.average([affinity[a, b] for a, b in pairs], weights=[w[a] * w[b] for a, b in pairs])
                if mean > best:
                    best, pair = float(mean), (i, j)
        if pair is None or best < threshold:
            break
        i, j = pair
        clusters[i] = clusters[i] + clusters[j]
        del clusters[j]
    out = np.zeros(len(view), np.int64)
    for c, mem in enumerate(sorted(clusters, key=min)):
        out[mem] = c
    return out


def vote(
    trace: InstanceTrace, label_instance: np.ndarray, background: np.ndarray, n_instances: int, background_bias: float
) -> tuple[np.ndarray, np.ndarray]:
    """FlashSplat-style closed form: each Gaussian takes the instance with the largest summed weight.

    label_instance: [S] int64 instance of each global label (-1 = votes for nothing); background: [S] bool.
    Returns instance [N] int32 (-1 where background wins or no weight) and confidence [N] float32 (the
    winner's share of the Gaussian's counted weight).
    """
    t = trace.table
    n = trace.n_gaussians
    scores = np.zeros((n, n_instances + 1))  # last column: background
    target = np.where(background[t.label], n_instances, label_instance[t.label])
    use = target >= 0
    w = t.weight.astype(np.float64) * np.where(background[t.label], background_bias, 1.0)
    np.add.at(scores, (t.primitive[use], target[use]), w[use])
    best = scores.argmax(axis=1)
    total = scores.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.where(total > 0, scores[np.arange(n), best] / total, 0.0)
    instance = np.where((best == n_instances) | (total == 0), -1, best)
    return instance.astype(np.int32), confidence.astype(np.float32)


def lift_closed_form(
    g: Gaussians,
    cameras: Sequence[Camera],
    label_maps: Sequence[np.ndarray],
    config: GaussianLiftConfig | None = None,
    *,
    labels: Sequence[Sequence[str | None]] | None = None,
    progress: bool = False,
    resume: TracedViews | None = None,
    after_view: Callable[[TracedViews], None] | None = None,
) -> Instances:
    """3D instances of `g` from V views' label maps whose ids need not agree across views.

    label_maps: V × [H, W] int, -1 = no mask (background), else the view's mask index. labels: optional
    per view, a class name per mask index (the instance takes its segments' most common name).
    resume, after_view: continue / checkpoint the tracing pass, view by view (`trace_instances`); the rest
    is one whole-scene computation.
    """
    cfg = config or GaussianLiftConfig()
    maps, counts = with_background(check_label_maps(cameras, label_maps))
    trace = trace_instances(
        g, cameras, maps, mode=cfg.mode, num_labels=counts, progress=progress, resume=resume, after_view=after_view
    )
    background = np.zeros(trace.n_labels, bool)
    background[trace.offsets[1:][np.array(counts) > 0] - 1] = True
    view = trace.view_of_label()
    cluster = agglomerate(segment_affinity(trace, background, cfg.min_visible), view, cfg.link_threshold)
    cluster[background] = -1
    support = np.zeros(int(cluster.max(initial=-1)) + 1, np.int64)
    np.add.at(support, cluster[~background], 1)  # one segment per view in a cluster: segments = views
    keep = support >= cfg.min_views
    label_instance = np.where((cluster >= 0) & keep[np.maximum(cluster, 0)], cluster, -1)
    instance, confidence = vote(trace, label_instance, background, len(support), cfg.background_bias)
    return compact(instance, confidence, label_instance, support, view, trace.offsets, labels, cfg.min_gaussians)


def compact(
    instance: np.ndarray,
    confidence: np.ndarray,
    label_instance: np.ndarray,
    support: np.ndarray,
    view: np.ndarray,
    offsets: np.ndarray,
    labels: Sequence[Sequence[str | None]] | None,
    min_gaussians: int,
) -> Instances:
    """Drop instances with fewer than `min_gaussians` Gaussians and renumber by size (largest first)."""
    sizes = np.bincount(instance[instance >= 0], minlength=len(support))
    alive = np.flatnonzero(sizes >= max(min_gaussians, 1))
    alive = alive[np.argsort(-sizes[alive], kind="stable")]
    new_id = np.full(len(support) + 1, -1, np.int64)
    new_id[alive] = np.arange(len(alive))
    out = new_id[instance]
    names: list[str | None] = []
    for old in alive:
        votes: dict[str, int] = {}
        if labels is not None:
            for s in np.flatnonzero(label_instance == old):
                v = int(view[s])
                local = int(s - offsets[v])
                name = labels[v][local] if local < len(labels[v]) else None
                if name:
                    votes[name] = votes.get(name, 0) + 1
        names.append(max(sorted(votes), key=votes.get) if votes else None)
    return Instances(out.astype(np.int32), names, support[alive], np.where(out >= 0, confidence, 0.0))
