"""3D box detection AP as VoteNet and mmdetection3d report it for ScanNet (AP@0.25, AP@0.5).

Boxes are axis-aligned, `[cx, cy, cz, dx, dy, dz]` (centre and full size, metres, in one frame shared by
predictions and GT). Follows mmdetection3d's `mmdet3d/evaluation/functional/indoor_eval.py` (`eval_det_cls`,
`average_precision(mode='area')`, the VOC2010+ metric, i.e. `use_07_metric=False`) to the letter:

* per class, the detections of all scenes are pooled and sorted by descending score;
* each detection is compared with *every* GT box of its class in its scene and takes the one of highest
  IoU (matched or not). It is a true positive when that IoU is `> threshold` (strictly) and that GT box
  is not yet matched; otherwise — IoU too low, or its best GT already taken (a duplicate) — a false
  positive. (A duplicate is not re-matched to a second-best unmatched GT: VOC does not.)
* recall = cumulative TP / number of GT boxes; precision = cumulative TP / max(TP + FP, eps);
* AP = area under the monotone precision envelope: pad recall with 0 and 1, precision with 0 and 0,
  make precision non-increasing from the right, sum (Δrecall × precision) where recall changes.

Where this module differs, deliberately: ties in score keep input order (a stable sort; mmdetection3d's
`np.argsort(-confidence)` leaves them unspecified); AP is float64 (mmdetection3d stores float32); and the
mean over classes skips classes without GT boxes (NaN here; mmdetection3d would average in a NaN or
never meets the case on the full val set). A class with GT and no detection has AP 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IOU_THRESHOLDS = (0.25, 0.5)
AGNOSTIC_NAME = "object"


def _check_boxes(boxes: np.ndarray, name: str) -> np.ndarray:
    boxes = np.asarray(boxes, np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 6:
        raise ValueError(f"{name} must be [N, 6] (cx, cy, cz, dx, dy, dz), got shape {boxes.shape}")
    if not np.isfinite(boxes).all() or (boxes[:, 3:] < 0).any():
        raise ValueError(f"{name} must be finite with non-negative sizes")
    return boxes


def box_iou_3d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Axis-aligned 3D IoU. a: [N, 6], b: [M, 6] (cx, cy, cz, dx, dy, dz) -> [N, M] float64 in [0, 1].

    Two empty boxes (zero volume) have IoU 0.
    """
    a, b = _check_boxes(a, "a"), _check_boxes(b, "b")
    lo_a, hi_a = a[:, :3] - a[:, 3:] / 2, a[:, :3] + a[:, 3:] / 2
    lo_b, hi_b = b[:, :3] - b[:, 3:] / 2, b[:, :3] + b[:, 3:] / 2
    extent = np.minimum(hi_a[:, None], hi_b[None]) - np.maximum(lo_a[:, None], lo_b[None])  # [N, M, 3]
    inter = np.prod(np.clip(extent, 0.0, None), axis=2)
    union = np.prod(a[:, 3:], axis=1)[:, None] + np.prod(b[:, 3:], axis=1)[None] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return np.clip(iou, 0.0, 1.0)


def box_iou_3d_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plain per-pair version of `box_iou_3d` (the tests compare the two)."""
    a, b = _check_boxes(a, "a"), _check_boxes(b, "b")
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a.tolist()):
        for j, q in enumerate(b.tolist()):
            inter = 1.0
            for k in range(3):
                low = max(p[k] - p[k + 3] / 2, q[k] - q[k + 3] / 2)
                high = min(p[k] + p[k + 3] / 2, q[k] + q[k + 3] / 2)
                inter *= max(high - low, 0.0)
            union = p[3] * p[4] * p[5] + q[3] * q[4] * q[5] - inter
            out[i, j] = min(max(inter / union, 0.0), 1.0) if union > 0 else 0.0
    return out


@dataclass(frozen=True)
class Detection:
    """One predicted box: box [6] float64 (cx, cy, cz, dx, dy, dz) in the GT's frame; label: a class name
    (None: unknown, counted only class-agnostically); score: higher ranks first."""

    box: np.ndarray
    label: str | None
    score: float


def voc_average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC area under the monotone precision envelope (mmdetection3d `average_precision`, mode 'area').

    recall, precision: [D] float64 at each detection in score order.
    """
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    changes = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[changes + 1] - mrec[changes]) * mpre[changes + 1]))


def class_tp_fp(
    detections: dict[str, list[tuple[np.ndarray, float]]],
    gt: dict[str, np.ndarray],
    thresholds: tuple[float, ...] = IOU_THRESHOLDS,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Match one class's detections, pooled over scenes, to its GT boxes (mmdetection3d `eval_det_cls`).

    detections: scene -> [(box [6], score)]; gt: scene -> [G, 6] GT boxes of the class (scenes without
    an entry have none). Returns tp, fp: [T, D] float64 (1 / 0 per detection in descending score order,
    one row per threshold) and the number of GT boxes.
    """
    scene_of, scores, best_iou, best_gt = [], [], [], []
    for scene, dets in detections.items():
        if not dets:
            continue
        boxes = gt.get(scene, np.zeros((0, 6)))
        iou = box_iou_3d(np.stack([d[0] for d in dets]), boxes)  # [d, G]
        for k, (_, score) in enumerate(dets):
            scene_of.append(scene)
            scores.append(float(score))
            # argmax keeps the first of equal IoUs, as the reference's strict `iou > iou_max` scan does
            best_gt.append(int(np.argmax(iou[k])) if len(boxes) else -1)
            best_iou.append(float(iou[k].max()) if len(boxes) else -np.inf)
    order = np.argsort(-np.array(scores, np.float64), kind="stable")
    npos = sum(len(b) for b in gt.values())
    tp = np.zeros((len(thresholds), len(order)))
    fp = np.zeros_like(tp)
    for t, threshold in enumerate(thresholds):
        taken: set[tuple[str, int]] = set()
        for rank, d in enumerate(order.tolist()):
            key = (scene_of[d], best_gt[d])
            if best_iou[d] > threshold and key not in taken:
                tp[t, rank] = 1.0
                taken.add(key)
            else:
                fp[t, rank] = 1.0
    return tp, fp, npos


def class_ap(
    detections: dict[str, list[tuple[np.ndarray, float]]],
    gt: dict[str, np.ndarray],
    thresholds: tuple[float, ...] = IOU_THRESHOLDS,
) -> list[float]:
    """AP of one class at each threshold; NaN when the class has no GT box, 0 with GT but no detection."""
    tp, fp, npos = class_tp_fp(detections, gt, thresholds)
    if npos == 0:
        return [float("nan")] * len(thresholds)
    out = []
    for t in range(len(thresholds)):
        ctp, cfp = np.cumsum(tp[t]), np.cumsum(fp[t])
        precision = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
        out.append(voc_average_precision(ctp / npos, precision))
    return out


def _key(threshold: float) -> str:
    return f"ap{int(round(threshold * 100))}"


def evaluate_boxes(
    preds: dict[str, list[Detection]],
    gts: dict[str, list[tuple[str, np.ndarray]]],
    classes: tuple[str, ...],
    agnostic: bool = False,
    thresholds: tuple[float, ...] = IOU_THRESHOLDS,
) -> dict:
    """Box AP per class and its mean over classes with GT, pooled over the scenes of `gts`.

    preds: scene -> detections; gts: scene -> [(class name, box [6])]. A scene of `gts` missing from
    `preds` counts with no detections; a scene of `preds` missing from `gts` is an error.
    classes: the evaluated classes (GT boxes and detections of other labels are ignored).
    agnostic: every GT box and every detection, whatever its label, as one class "object".

    Returns {"all": {"ap25", "ap50"}, "classes": {name: {"ap25", "ap50", "gt", "detections"}}} (keys from
    the thresholds); per-class AP is NaN without GT boxes, and "all" averages the other classes.
    """
    extra = sorted(set(preds) - set(gts))
    if extra:
        raise ValueError(f"no GT boxes for scene(s) {', '.join(extra[:5])}")
    names = (AGNOSTIC_NAME,) if agnostic else tuple(classes)
    wanted = set(names)

    def class_of(label: str | None) -> str | None:
        if agnostic:
            return AGNOSTIC_NAME
        return label if label in wanted else None

    gt_boxes: dict[str, dict[str, list]] = {n: {} for n in names}
    for scene, boxes in gts.items():
        for label, box in boxes:
            cls = class_of(label)
            if cls is not None:
                gt_boxes[cls].setdefault(scene, []).append(np.asarray(box, np.float64))
    dets: dict[str, dict[str, list]] = {n: {} for n in names}
    for scene, detections in preds.items():
        for d in detections:
            cls = class_of(d.label)
            if cls is not None:
                dets[cls].setdefault(scene, []).append((np.asarray(d.box, np.float64), d.score))
    per_class = {}
    for name in names:
        gt = {s: np.stack(b) for s, b in gt_boxes[name].items()}
        aps = class_ap(dets[name], gt, thresholds)
        per_class[name] = {
            **{_key(t): ap for t, ap in zip(thresholds, aps)},
            "gt": sum(len(b) for b in gt.values()),
            "detections": sum(len(d) for d in dets[name].values()),
        }
    overall = {}
    for t in thresholds:
        values = [c[_key(t)] for c in per_class.values() if not np.isnan(c[_key(t)])]
        overall[_key(t)] = float(np.mean(values)) if values else float("nan")
    return {"all": overall, "classes": per_class}
