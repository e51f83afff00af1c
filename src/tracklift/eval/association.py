"""Per-scene association of predictions with ground-truth instances (ScanNet protocol, first step).

For every evaluated class: the GT instances in ascending id order, the kept predictions in input order,
and, in both directions, which of them share vertices and how many. Everything later (matching at each
IoU threshold, precision/recall) reads only these counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracklift.eval.prediction import PredictedInstance

# The single class key of class-agnostic evaluation (vocabulary ids are never negative here).
AGNOSTIC = -1
# The ScanNet protocol's minimum region: smaller predictions are dropped, smaller GT is ignored.
MIN_REGION_SIZE = 100


@dataclass
class GtInstance:
    """instance_id = 1000·label + instance; matched_pred: (prediction index in its class, shared vertices)."""

    instance_id: int
    vert_count: int
    matched_pred: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class PredRecord:
    """A kept prediction; matched_gt: (GT index in its class, shared vertices), in GT order."""

    score: float
    vert_count: int
    void_intersection: int
    matched_gt: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class SceneAssociation:
    """class key -> GT instances (ascending id) and class key -> kept predictions (input order)."""

    gt: dict[int, list[GtInstance]]
    pred: dict[int, list[PredRecord]]


def check_gt_ids(gt_ids: np.ndarray, scene: str) -> np.ndarray:
    """gt_ids: [V] integers, 1000·label + instance, >= 0. Returns them as int64."""
    gt_ids = np.asarray(gt_ids)
    if gt_ids.ndim != 1 or not np.issubdtype(gt_ids.dtype, np.integer):
        raise ValueError(f"GT of scene {scene!r} must be [V] integers, got {gt_ids.shape} {gt_ids.dtype}")
    if gt_ids.size and gt_ids.min() < 0:
        raise ValueError(f"GT of scene {scene!r} has negative ids (min {gt_ids.min()}); expected 1000·label + instance")
    return gt_ids.astype(np.int64, copy=False)


def associate_scene(
    preds: list[PredictedInstance],
    gt_ids: np.ndarray,
    evaluated: tuple[int, ...],
    agnostic: bool = False,
    scene: str = "?",
    min_region_size: int = MIN_REGION_SIZE,
) -> SceneAssociation:
    """Associate one scene's predictions with its GT.

    gt_ids:    [V] int, 1000·label + instance per vertex; labels outside `evaluated` are void.
    evaluated: the class ids that count. In agnostic mode they all count as one class, AGNOSTIC,
               and prediction labels are ignored; otherwise predictions of other (or no) labels are dropped.
    """
    gt_ids = check_gt_ids(gt_ids, scene)
    evaluated_set = {int(i) for i in evaluated}
    keys = [AGNOSTIC] if agnostic else sorted(evaluated_set)
    gt: dict[int, list[GtInstance]] = {k: [] for k in keys}
    pred: dict[int, list[PredRecord]] = {k: [] for k in keys}

    where: dict[int, tuple[int, int]] = {}  # instance id -> (class key, index in gt[key])
    uids, counts = np.unique(gt_ids, return_counts=True)
    for uid, count in zip(uids.tolist(), counts.tolist()):
        label = uid // 1000
        if uid == 0 or label not in evaluated_set:
            continue
        key = AGNOSTIC if agnostic else label
        where[uid] = (key, len(gt[key]))
        gt[key].append(GtInstance(uid, count))
    void = ~np.isin(gt_ids // 1000, np.fromiter(evaluated_set, np.int64, len(evaluated_set)))

    for k, p in enumerate(preds):
        if len(p.mask) != len(gt_ids):
            raise ValueError(
                f"scene {scene!r}: prediction {k} has a mask over {len(p.mask)} vertices, the GT has {len(gt_ids)}"
            )
        if agnostic:
            key = AGNOSTIC
        elif p.label_id is not None and p.label_id in evaluated_set:
            key = p.label_id
        else:
            continue
        vert_count = int(np.count_nonzero(p.mask))
        if vert_count < min_region_size:
            continue
        record = PredRecord(p.score, vert_count, int(np.count_nonzero(void & p.mask)))
        index = len(pred[key])
        inside, shared = np.unique(gt_ids[p.mask], return_counts=True)
        for uid, n in zip(inside.tolist(), shared.tolist()):
            hit = where.get(uid)
            if hit is None or hit[0] != key:
                continue
            record.matched_gt.append((hit[1], n))
            gt[key][hit[1]].matched_pred.append((index, n))
        pred[key].append(record)
    return SceneAssociation(gt, pred)
