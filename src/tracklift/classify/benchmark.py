"""Query-retrieval accuracy on queries generated from a scene's ground truth.

For every class present in the GT objects: the class name itself ("class"), its synonyms from `SYNONYMS`
("synonym"), and every affordance phrasing whose classes include it ("functional", e.g. "something to
sit on" -> all chairs, couches, stools...). Each query ranks all predicted instances; an instance hits the
GT object its box overlaps best (3D IoU >= `iou`). Per query:
    top1        the first instance hits a relevant GT object
    recall_at_r share of the R relevant GT objects hit within the first R instances
    ap          average precision over the ranked list (each GT object counted once)
and their means, overall and per kind.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tracklift.classify.affordances import AFFORDANCES
from tracklift.classify.protocol import Classifier
from tracklift.classify.query import rank_instances
from tracklift.classify.text import TextEmbedder, normalise_label
from tracklift.core.instance import Instance3D
from tracklift.eval.boxes import box_iou_3d

# Everyday names of ScanNet200 classes, for synonym queries (some are aliases, most need the embedding).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "couch": ("sofa",),
    "tv": ("television", "tv screen"),
    "trash can": ("garbage bin", "waste bin"),
    "refrigerator": ("fridge",),
    "nightstand": ("bedside table",),
    "picture": ("painting", "framed photo"),
    "lamp": ("reading lamp", "table lamp"),
    "bookshelf": ("bookcase",),
    "cabinet": ("cupboard",),
    "monitor": ("computer screen",),
    "office chair": ("desk chair",),
    "sink": ("washbasin",),
    "toilet": ("lavatory",),
    "bed": ("double bed",),
    "desk": ("writing desk",),
    "table": ("dining table",),
    "chair": ("wooden chair",),
    "plant": ("house plant",),
    "potted plant": ("houseplant",),
    "dresser": ("chest of drawers",),
    "door": ("doorway",),
    "window": ("windowpane",),
    "armchair": ("easy chair",),
    "stool": ("bar stool",),
    "mirror": ("looking glass",),
    "whiteboard": ("dry erase board",),
}


def generate_queries(labels: Sequence[str]) -> list[tuple[str, str, frozenset[str]]]:
    """(kind, query, relevant labels) for the distinct GT labels given."""
    present = sorted({normalise_label(lab) for lab in labels if lab})
    out = []
    for lab in present:
        out.append(("class", lab, frozenset([lab])))
        out += [("synonym", syn, frozenset([lab])) for syn in SYNONYMS.get(lab, ())]
    for aff in AFFORDANCES:
        relevant = frozenset(aff.classes) & frozenset(present)
        if relevant:
            out.append(("functional", aff.phrases[0], relevant))
    return out


def query_benchmark(
    instances: Sequence[Instance3D],
    gt_objects: Sequence[dict[str, Any]],
    classifier: Classifier | None = None,
    iou: float = 0.25,
    embedder: TextEmbedder | None = None,
) -> dict[str, Any]:
    """Retrieval metrics of `rank_instances` on GT-generated queries.

    gt_objects: dicts with "label", "box" ([6] centre + size, metres, or {"min": [3], "max": [3]}) and
    optionally "instance" (id used in the per-query report).
    """
    gt_boxes = np.array([_gt_box(o, k) for k, o in enumerate(gt_objects)], np.float64).reshape(-1, 6)
    gt_labels = [normalise_label(o.get("label") or "") for o in gt_objects]
    hit_of = {inst.id: _best_match(inst.box, gt_boxes, iou) for inst in instances}
    per_query = []
    for kind, query, relevant in generate_queries(gt_labels):
        wanted = {k for k, lab in enumerate(gt_labels) if lab in relevant}
        ranked = rank_instances(instances, query, classifier, top=max(len(instances), 1), embedder=embedder)
        hits = [hit_of[inst.id] if hit_of[inst.id] in wanted else -1 for inst, _ in ranked]
        per_query.append({"kind": kind, "query": query, "relevant": len(wanted), **_metrics(hits, len(wanted))})
    summary = {"queries": len(per_query), **_means(per_query)}
    summary["by_kind"] = {}
    for kind in ("class", "synonym", "functional"):
        rows = [q for q in per_query if q["kind"] == kind]
        summary["by_kind"][kind] = {"queries": len(rows), **_means(rows)}
    summary["per_query"] = per_query
    return summary


def _best_match(box: np.ndarray, gt_boxes: np.ndarray, iou: float) -> int:
    if len(gt_boxes) == 0:
        return -1
    ious = box_iou_3d(np.asarray(box, np.float64)[None], gt_boxes)[0]
    best = int(ious.argmax())
    return best if ious[best] >= iou else -1


def _metrics(hits: list[int], n_relevant: int) -> dict[str, float]:
    """hits: per ranked instance, the relevant GT index it hits or -1."""
    seen: set[int] = set()
    precisions = []
    for rank, h in enumerate(hits, 1):
        if h >= 0 and h not in seen:
            seen.add(h)
            precisions.append(len(seen) / rank)
    first_r = {h for h in hits[:n_relevant] if h >= 0}
    return {
        "top1": float(bool(hits) and hits[0] >= 0),
        "recall_at_r": len(first_r) / n_relevant if n_relevant else float("nan"),
        "ap": float(np.sum(precisions) / n_relevant) if n_relevant else float("nan"),
    }


def _means(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {k: float(np.nanmean([r[k] for r in rows])) if rows else float("nan") for k in ("top1", "recall_at_r", "ap")}


def _gt_box(obj: dict[str, Any], k: int) -> np.ndarray:
    box = obj.get("box")
    if isinstance(box, dict) and "min" in box and "max" in box:
        lo, hi = np.asarray(box["min"], np.float64), np.asarray(box["max"], np.float64)
        box = np.concatenate([(lo + hi) / 2, hi - lo])
    box = np.asarray(box, np.float64) if box is not None else None
    if box is None or box.shape != (6,):
        raise ValueError(
            f"gt object {k} ({obj.get('label')!r}): box must be [6] centre + size or {{min, max}}, got "
            f"{obj.get('box')!r}"
        )
    return box
