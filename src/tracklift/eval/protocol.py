"""Matching at one IoU threshold and the precision/recall integration of the ScanNet protocol.

Follows ScanNet's `evaluate_semantic_instance.py` in its Python-3 form (Mask3D / OpenMask3D /
Open-YOLO 3D) to the letter, including its quirks, so that numbers agree exactly:
* GT instances are visited in ascending id order; each takes, in prediction order, the not-yet-taken
  predictions with IoU > threshold. The first becomes its match; every further one is a false positive
  with the lower of the two scores, and the GT keeps the higher. Such a duplicate is not marked as
  taken, so it may still become the match of a later GT.
* A prediction without IoU > threshold to any GT of its class (too-small GT included) is a false
  positive unless more than `threshold` of its vertices lie on void, group (id < 1000) or too-small GT.
* Precision/recall are taken at each unique score, an artificial point (P = 1, R = 0) is added, and the
  curve is integrated with step widths `convolve(recall, [-0.5, 0, 0.5])`.
"""

from __future__ import annotations

import numpy as np

from tracklift.eval.association import MIN_REGION_SIZE, SceneAssociation

# IoU thresholds 0.50, 0.55, ..., 0.90 (AP is their mean) and 0.25 (AP25). Built exactly as the
# reference builds them: the comparisons `> threshold` must see the same floating-point values.
OVERLAPS = np.append(np.arange(0.5, 0.95, 0.05), 0.25)


def class_detections(
    scenes: list[SceneAssociation], key: int, overlap: float, min_region_size: int = MIN_REGION_SIZE
) -> tuple[np.ndarray, np.ndarray, int, bool, bool]:
    """Pool one class's detections over scenes at one IoU threshold.

    Returns y_true: [D] float64 (1 true positive, 0 false positive), y_score: [D] float64,
    the number of GT instances left unmatched, and whether the class has any GT / any prediction.
    """
    y_true: list[float] = []
    y_score: list[float] = []
    hard_false_negatives = 0
    has_gt = has_pred = False
    for scene in scenes:
        all_gt = scene.gt.get(key, [])
        preds = scene.pred.get(key, [])
        gts = [g for g in all_gt if g.instance_id >= 1000 and g.vert_count >= min_region_size]
        has_gt = has_gt or bool(gts)
        has_pred = has_pred or bool(preds)
        taken: set[int] = set()
        for g in gts:
            match_score: float | None = None
            for index, shared in g.matched_pred:
                if index in taken:
                    continue
                p = preds[index]
                if float(shared) / (g.vert_count + p.vert_count - shared) > overlap:
                    if match_score is None:
                        match_score = p.score
                        taken.add(index)
                    else:
                        y_true.append(0.0)
                        y_score.append(min(match_score, p.score))
                        match_score = max(match_score, p.score)
            if match_score is None:
                hard_false_negatives += 1
            else:
                y_true.append(1.0)
                y_score.append(match_score)
        for p in preds:
            if any(
                float(shared) / (all_gt[gi].vert_count + p.vert_count - shared) > overlap for gi, shared in p.matched_gt
            ):
                continue
            ignored = p.void_intersection
            for gi, shared in p.matched_gt:
                if all_gt[gi].instance_id < 1000:
                    ignored += shared
                if all_gt[gi].vert_count < min_region_size:
                    ignored += shared
            if float(ignored) / p.vert_count <= overlap:
                y_true.append(0.0)
                y_score.append(p.score)
    return np.array(y_true, np.float64), np.array(y_score, np.float64), hard_false_negatives, has_gt, has_pred


def average_precision(y_true: np.ndarray, y_score: np.ndarray, hard_false_negatives: int) -> float:
    """Area under the step precision/recall curve of pooled detections.

    y_true: [D] float64, 1 for a true positive and 0 for a false positive; y_score: [D] float64.
    hard_false_negatives: GT instances without a match. D = 0 gives 0 (all predictions ignored).
    """
    order = np.argsort(y_score)
    scores = y_score[order]
    cumsum = np.cumsum(y_true[order])
    _, first = np.unique(scores, return_index=True)
    num_true = cumsum[-1] if len(cumsum) else 0.0
    # true positives strictly below each unique score (0 before the first)
    below = np.append(cumsum, 0.0)[first - 1]
    tp = num_true - below
    fp = len(scores) - first - tp
    fn = below + hard_false_negatives
    precision = np.append(tp / (tp + fp), 1.0)
    recall = np.append(tp / (tp + fn), 0.0)
    widths = np.convolve(np.concatenate([recall[:1], recall, [0.0]]), [-0.5, 0, 0.5], "valid")
    return float(np.dot(precision, widths))


def ap_table(scenes: list[SceneAssociation], keys: list[int]) -> np.ndarray:
    """[C, T] float64: AP of each class key at each threshold of OVERLAPS; NaN for classes without GT."""
    ap = np.zeros((len(keys), len(OVERLAPS)), np.float64)
    for ti, overlap in enumerate(OVERLAPS):
        for ci, key in enumerate(keys):
            y_true, y_score, hard_fn, has_gt, has_pred = class_detections(scenes, key, overlap)
            if has_gt and has_pred:
                ap[ci, ti] = average_precision(y_true, y_score, hard_fn)
            else:
                ap[ci, ti] = 0.0 if has_gt else np.nan
    return ap
