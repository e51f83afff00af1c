"""Snap instance masks to superpoints by majority vote, so object boundaries follow surface creases.

A superpoint is given to an instance when at least `vote_threshold` of its points lie in that
instance; when several instances qualify, the one with the largest share wins, then the higher
score, then the earlier instance. Points of superpoints no instance wins leave every instance.
Instances left with fewer than `min_points` points have collapsed and are dropped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tracklift.core.config import config, option

if TYPE_CHECKING:
    from tracklift.eval.prediction import PredictedInstance


@config
class SnapConfig:
    vote_threshold: float = option(
        0.5, "share of a superpoint's points an instance needs to take it", low=1e-6, high=1.0
    )
    min_points: int = option(10, "instances with fewer points after snapping are dropped", low=0)


@dataclass
class SnapResult:
    """masks: [K, V] bool, the kept instances after snapping. kept: [K] int64 their input indices."""

    masks: np.ndarray
    kept: np.ndarray


def snap_masks(
    masks: np.ndarray, superpoints: np.ndarray, scores: np.ndarray | None = None, config: SnapConfig | None = None
) -> SnapResult:
    """Snap instance masks to superpoints.

    masks: [I, V] bool over reference points (instances may overlap).
    superpoints: [V] int superpoint id per point (any integers, e.g. ScanNet's segIndices).
    scores: [I] float, breaks ties between instances with equal shares (higher wins); default all equal.
    """
    config = config or SnapConfig()
    masks, inverse, scores = _check(masks, superpoints, scores)
    num_inst, num_sp = len(masks), int(inverse.max(initial=-1)) + 1
    if num_inst == 0:
        return SnapResult(np.zeros((0, len(inverse)), bool), np.zeros(0, np.int64))
    inst, vert = np.nonzero(masks)
    counts = np.bincount(inst * num_sp + inverse[vert], minlength=num_inst * num_sp).reshape(num_inst, num_sp)
    share = counts / np.bincount(inverse, minlength=num_sp)
    eligible = share >= config.vote_threshold
    best = np.where(eligible, share, -1.0).max(axis=0)
    # Among the instances with the best share, the first in order of (score descending, index).
    by_rank = np.lexsort((np.arange(num_inst), -scores))
    rank = np.empty(num_inst, np.int64)
    rank[by_rank] = np.arange(num_inst)
    contenders = eligible & (share == best)
    winner_rank = np.where(contenders, rank[:, None], num_inst).min(axis=0)
    winner = np.append(by_rank, -1)[winner_rank]  # rank num_inst: nobody was eligible
    snapped = winner[inverse][None, :] == np.arange(num_inst)[:, None]
    kept = np.flatnonzero(snapped.sum(axis=1) >= max(config.min_points, 1))
    return SnapResult(snapped[kept], kept.astype(np.int64))


def masks_from_indices(indices: list[np.ndarray], num_points: int) -> np.ndarray:
    """[I, num_points] bool masks from per-instance point index arrays (each [M_i] int in [0, num_points))."""
    masks = np.zeros((len(indices), num_points), bool)
    for i, idx in enumerate(indices):
        idx = np.asarray(idx)
        valid = idx.ndim == 1 and (len(idx) == 0 or np.issubdtype(idx.dtype, np.integer))
        if not valid or (len(idx) and (idx.min() < 0 or idx.max() >= num_points)):
            raise ValueError(f"indices[{i}] must be [M] integers in [0, {num_points}), got {idx.dtype} {idx.shape}")
        masks[i, idx] = True
    return masks


def snap_masks_reference(
    masks: np.ndarray, superpoints: np.ndarray, scores: np.ndarray | None = None, config: SnapConfig | None = None
) -> SnapResult:
    """Plain `snap_masks`: one superpoint at a time, candidates compared as (share, score, -index) tuples."""
    config = config or SnapConfig()
    masks, inverse, scores = _check(masks, superpoints, scores)
    snapped = np.zeros_like(masks)
    for s in range(int(inverse.max(initial=-1)) + 1):
        members = np.flatnonzero(inverse == s)
        candidates = []
        for i in range(len(masks)):
            share = masks[i, members].sum() / len(members)
            if share >= config.vote_threshold:
                candidates.append((share, scores[i], -i))
        if candidates:
            snapped[-max(candidates)[2], members] = True
    kept = [i for i in range(len(masks)) if snapped[i].sum() >= max(config.min_points, 1)]
    return SnapResult(snapped[kept], np.asarray(kept, np.int64))


def _check(masks, superpoints, scores):
    masks = np.asarray(masks)
    superpoints = np.asarray(superpoints)
    if superpoints.ndim != 1 or not np.issubdtype(superpoints.dtype, np.integer):
        raise ValueError(f"superpoints must be [V] integers, got {superpoints.dtype} {superpoints.shape}")
    if masks.ndim != 2 or masks.shape[1] != len(superpoints):
        raise ValueError(f"masks must be [I, {len(superpoints)}] (one column per point), got {masks.shape}")
    if masks.dtype != np.bool_:
        raise ValueError(f"masks must be bool, got {masks.dtype}")
    scores = np.zeros(len(masks)) if scores is None else np.asarray(scores, np.float64)
    if scores.shape != (len(masks),):
        raise ValueError(f"scores must be [{len(masks)}] like masks, got {scores.shape}")
    inverse = np.unique(superpoints, return_inverse=True)[1].reshape(-1)
    return masks, inverse, scores


def snap_predictions(
    preds: list[PredictedInstance], superpoints: np.ndarray, config: SnapConfig | None = None
) -> list[PredictedInstance]:
    """Snap each prediction's mask to superpoints; label and score are kept, collapsed predictions dropped.

    preds: predictions with `mask: [V] bool` over the scene's reference vertices.
    superpoints: [V] int superpoint id per vertex (`tracklift.io.segs.read_segs` or `segment_mesh`).
    Returns new predictions (the inputs are not modified), in input order.
    """
    superpoints = np.asarray(superpoints)
    for i, pred in enumerate(preds):
        if np.shape(pred.mask) != superpoints.shape:
            raise ValueError(f"preds[{i}].mask has shape {np.shape(pred.mask)}, superpoints {superpoints.shape}")
    masks = np.stack([np.asarray(p.mask, bool) for p in preds]) if preds else np.zeros((0, len(superpoints)), bool)
    scores = np.asarray([p.score for p in preds], np.float64)
    result = snap_masks(masks, superpoints, scores, config)
    return [dataclasses.replace(preds[k], mask=mask) for k, mask in zip(result.kept, result.masks)]
