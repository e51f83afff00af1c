"""Superpoint refinement of any method's predictions, for benchmarks comparing AP with and without it."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from tracklift.refine.snap import SnapConfig, snap_masks

if TYPE_CHECKING:
    from tracklift.eval.prediction import PredictedInstance


def refine_predictions(
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
