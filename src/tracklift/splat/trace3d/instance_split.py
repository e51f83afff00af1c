"""GIT-guided density control (Trace3D): split Gaussians that straddle two instances, prune what stays
ambiguous or is seen by no view.

A Gaussian is ambiguous in a view when its top label there has less than `min_share` of its weight; it is
split when it is ambiguous in more than `max_ambiguous` of the views that see it (the statistic is the
tracing table's `ambiguous_view_fraction`, shared with the point pipeline). Its two children sit at ±1σ
along one of its axes with that axis halved, so each covers one side of the boundary it straddled. Which
axis crosses the boundary is not known: a flat Gaussian on a surface can lie along an object's silhouette
as well as across it, so its `split_axes` largest axes are each tried and the split whose more ambiguous
child is least ambiguous is kept. After re-tracing, children that are still ambiguous are pruned, as are
Gaussians with no weight in any view.
Label maps should label the background too (a label for "no mask"), so that a Gaussian on an object's
silhouette counts as ambiguous and "seen by no view" means invisible, not unlabelled. The paper does this
inside training, which regrows what pruning removed; on a trained model, `refit` runs a few more training
steps and `SplitPruneConfig.keep_unresolved` keeps parents whose split separated nothing.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from tracklift.core.config import config, option
from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians, quat_to_rotmat
from tracklift.splat.trace3d.tracing import InstanceTrace, trace_instances
from tracklift.trace.table import ambiguous_view_fraction


@config
class SplitPruneConfig:
    """GIT-guided split/prune of Gaussians shared by instances (defaults and the paper's: docs/tuning.md#splat)."""

    min_share: float = option(0.8, "a view finds a Gaussian ambiguous below this top-label share", low=0.0, high=1.0)
    max_ambiguous: float = option(0.4, "split above this fraction of ambiguous views", low=0.0, high=1.0)
    mode: str = option("alpha", "tracing weight", choices=("alpha", "count"))
    prune_unseen: bool = option(True, "remove Gaussians that contribute to no view")
    keep_unresolved: bool = option(False, "keep a parent whose two children both stay ambiguous")
    split_axes: int = option(2, "how many of a parent's largest axes are tried as split directions")

    def __post_init__(self) -> None:
        if self.split_axes not in (1, 2, 3):
            raise ValueError(f"split_axes must be 1, 2 or 3 (a Gaussian has three axes), got {self.split_axes}")


def view_ambiguity(trace: InstanceTrace, min_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Per Gaussian: the fraction [N] float of the views seeing it in which it is ambiguous (0 if unseen),
    and seen [N] bool."""
    prim, frac = ambiguous_view_fraction(trace.table, min_share)
    fraction = np.zeros(trace.n_gaussians)
    seen = np.zeros(trace.n_gaussians, bool)
    fraction[prim] = frac
    seen[prim] = True
    return fraction, seen


def ambiguous_gaussians(trace: InstanceTrace, min_share: float, max_ambiguous: float) -> tuple[np.ndarray, np.ndarray]:
    """Per Gaussian: ambiguous [N] bool (fraction of ambiguous views > max_ambiguous) and seen [N] bool."""
    fraction, seen = view_ambiguity(trace, min_share)
    return fraction > max_ambiguous, seen


def split_in_two(g: Gaussians, axis: torch.Tensor | None = None) -> Gaussians:
    """Two children per Gaussian, at mean ± σ along one of its axes, that axis' scale halved.

    axis: [N] int64 in 0..2, the local axis (column of the rotation) to split along; default: the longest.
    Returns 2N Gaussians: the first children of all parents, then the second ones.
    """
    scales = g.scales
    axis = scales.argmax(dim=1) if axis is None else axis
    rows = torch.arange(g.n)
    direction = quat_to_rotmat(g.quats)[rows, :, axis]  # [N, 3] world direction of the split axis
    offset = direction * scales[rows, axis][:, None]
    log_scales = g.log_scales.clone()
    log_scales[rows, axis] -= math.log(2.0)
    children = []
    for sign in (1.0, -1.0):
        child = g.clone()
        child.means = g.means + sign * offset
        child.log_scales = log_scales.clone()
        children.append(child)
    return children[0].cat(children[1])


def split_and_prune(
    g: Gaussians,
    cameras: Sequence[Camera],
    label_maps: Sequence[np.ndarray],
    config: SplitPruneConfig | None = None,
    *,
    progress: bool = False,
) -> tuple[Gaussians, dict]:
    """One round of GIT-guided density control on `g` (a new Gaussians set; `g` is not modified).

    cameras: V views; label_maps: V × [H, W] int, -1 = ignore (label the background, see module doc).
    Returns the new Gaussians and a report: before, ambiguous, split, restored (see keep_unresolved),
    pruned_children, pruned_unseen, after.
    """
    cfg = config or SplitPruneConfig()
    g = g.detach()
    trace = trace_instances(g, cameras, label_maps, mode=cfg.mode, progress=progress)
    ambiguous, _ = ambiguous_gaussians(trace, cfg.min_share, cfg.max_ambiguous)
    split = torch.as_tensor(ambiguous)
    kept, parents = g.index(~split), g.index(split)
    first = kept.n + np.arange(parents.n)  # split_in_two: all first children, then all second ones
    by_size = torch.argsort(parents.scales, dim=1, descending=True, stable=True)
    axis = by_size[:, 0]
    if cfg.split_axes > 1:
        worst_child = np.full(parents.n, np.inf)
        for rank in range(cfg.split_axes):
            trial = kept.cat(split_in_two(parents, by_size[:, rank]))
            frac, _ = view_ambiguity(trace_instances(trial, cameras, label_maps, mode=cfg.mode), cfg.min_share)
            worst = np.maximum(frac[first], frac[first + parents.n])
            better = torch.as_tensor(worst < worst_child)
            axis = torch.where(better, by_size[:, rank], axis)
            worst_child = np.minimum(worst, worst_child)
    candidate = kept.cat(split_in_two(parents, axis))
    trace2 = trace_instances(candidate, cameras, label_maps, mode=cfg.mode, progress=progress)
    still, seen = ambiguous_gaussians(trace2, cfg.min_share, cfg.max_ambiguous)
    unresolved = still[first] & still[first + parents.n] if cfg.keep_unresolved else np.zeros(parents.n, bool)
    drop_child = (np.arange(candidate.n) >= kept.n) & still
    drop_unseen = ~seen if cfg.prune_unseen else np.zeros(candidate.n, bool)
    keep = ~(drop_child | drop_unseen)
    report = {
        "before": g.n,
        "ambiguous": int(ambiguous.sum()),
        "split": int(ambiguous.sum() - unresolved.sum()),
        "restored": int(unresolved.sum()),
        "pruned_children": int(drop_child.sum() - 2 * unresolved.sum()),
        "pruned_unseen": int((drop_unseen & ~drop_child).sum()),
        "after": int(keep.sum() + unresolved.sum()),
    }
    out = candidate.index(torch.as_tensor(keep)).cat(parents.index(torch.as_tensor(unresolved)))
    return out, report


def refit(
    g: Gaussians,
    cameras: Sequence[Camera],
    images: Sequence[np.ndarray],
    iterations: int,
    seed: int = 0,
    *,
    progress: bool = False,
) -> Gaussians:
    """A few photometric training steps with densification off, after `split_and_prune`.

    Trace3D runs its density control inside training, so the Gaussians that survive grow into the gaps the
    pruned ones leave; on an already trained model this is that remaining training. images: V × [H, W, 3]
    uint8 matching `cameras`. Returns the refitted Gaussians (`g` is not modified).
    """
    from tempfile import TemporaryDirectory

    from tracklift.splat.train.loop import TrainConfig, train_gaussians

    config = TrainConfig(
        iterations=iterations,
        sh_degree=g.sh_degree,
        densify_from=iterations + 1,
        densify_until=0,
        holdout_every=0,
        checkpoint_every=0,
        seed=seed,
    )
    with TemporaryDirectory() as tmp:
        out, _ = train_gaussians(cameras, images, config, tmp, init=g.detach(), progress=progress)
    return out


def refit_with_report(
    g: Gaussians,
    cameras: Sequence[Camera],
    images: Sequence[np.ndarray],
    iterations: int,
    seed: int = 0,
    *,
    progress: bool = False,
) -> tuple[Gaussians, dict]:
    """`refit` and its report: steps, views and the views' mean PSNR (dB) before and after."""
    from tracklift.splat.train.loop import TrainConfig, evaluate_psnr

    targets = [torch.as_tensor(im).float() / 255.0 for im in images]
    before = evaluate_psnr(g, cameras, targets, TrainConfig())  # refit trains with these render settings
    g = refit(g, cameras, images, iterations, seed, progress=progress)
    after = evaluate_psnr(g, cameras, targets, TrainConfig())
    return g, {"iterations": iterations, "views": len(cameras), "psnr_before": before, "psnr_after": after}
