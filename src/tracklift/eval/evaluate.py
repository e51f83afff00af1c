"""`evaluate`: ScanNet-protocol instance AP of predictions against per-vertex ground truth."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
from tqdm import tqdm

from tracklift.eval.association import AGNOSTIC, associate_scene
from tracklift.eval.prediction import PredictedInstance
from tracklift.eval.protocol import OVERLAPS, ap_table
from tracklift.vocab import Vocabulary

log = logging.getLogger(__name__)

SPLITS = ("head", "common", "tail")
AGNOSTIC_NAME = "object"


def evaluate(
    preds: dict[str, list[PredictedInstance]],
    gts: dict[str, np.ndarray],
    vocab: Vocabulary,
    agnostic: bool = False,
    *,
    progress: bool = False,
) -> dict:
    """AP / AP50 / AP25 pooled over the scenes of `preds`.

    preds: scene -> predicted instances (masks over the scene's GT vertices); a scene with an empty
           list counts (all its GT missed). Scenes of `gts` without an entry in `preds` are left out,
           as the reference does, with a warning.
    gts:   scene -> [V] int, 1000·label + instance per vertex (ids < 1000 and labels outside
           `vocab.evaluated` are void).
    agnostic: all evaluated classes as one class "object"; prediction labels are ignored.

    Returns {"all": {"ap", "ap50", "ap25"}, "head": {…}, "common": {…}, "tail": {…},
    "classes": {name: {…}}}; NaN where nothing can be measured (a class without GT, a split the
    vocabulary does not define). Predictions labelled with a vocabulary class that is not evaluated
    (wall, floor) are skipped as the reference skips them; `skipped_labels` counts them.
    """
    missing = sorted(set(preds) - set(gts))
    if missing:
        raise ValueError(f"no GT for scene(s) {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
    unpredicted = sorted(set(gts) - set(preds))
    if unpredicted:
        log.warning("%d GT scene(s) have no predictions and are not evaluated: %s", len(unpredicted), unpredicted[:5])
    keys = [AGNOSTIC] if agnostic else [int(i) for i in vocab.evaluated]
    scenes = [
        associate_scene(preds[s], gts[s], vocab.evaluated, agnostic, scene=s)
        for s in tqdm(preds, desc="associating", unit="scene", disable=not progress)
    ]
    ap = ap_table(scenes, keys)
    names = [AGNOSTIC_NAME] if agnostic else [vocab.name_of(k) for k in keys]
    splits = {} if agnostic else vocab.splits
    return summarize(ap, keys, names, splits)


def skipped_labels(preds: dict[str, list[PredictedInstance]], vocab: Vocabulary) -> dict[str, int]:
    """{class name: predictions} of the predictions `evaluate` skips for a label that is not evaluated
    (ids outside `vocab` are named by their number)."""
    evaluated = set(vocab.evaluated)
    counts = Counter(
        p.label_id for scene in preds.values() for p in scene if p.label_id is not None and p.label_id not in evaluated
    )
    return {vocab.name_of(i) if i in vocab else str(i): n for i, n in sorted(counts.items())}


def _nanmean(values: np.ndarray) -> float:
    """Mean ignoring NaN, as numpy's nanmean, but NaN without a warning when nothing is left."""
    values = np.asarray(values, np.float64)
    return float(np.nanmean(values)) if np.any(~np.isnan(values)) else float("nan")


def summarize(ap: np.ndarray, keys: list[int], names: list[str], splits: dict[str, frozenset[int]]) -> dict:
    """Averages of an [C, T] AP table (thresholds OVERLAPS) in the reference's order of operations.

    Overall: NaN-mean over all (class, threshold) entries; a class: mean over its thresholds;
    a split: NaN-mean of its classes' values.
    """
    ap3 = ap[None]  # the reference's [distance, class, overlap] table, indexed as it indexes it
    o50 = np.where(np.isclose(OVERLAPS, 0.5))
    o25 = np.where(np.isclose(OVERLAPS, 0.25))
    o_ap = np.where(~np.isclose(OVERLAPS, 0.25))
    result: dict = {
        "all": {"ap": _nanmean(ap3[0, :, o_ap]), "ap50": _nanmean(ap3[0, :, o50]), "ap25": _nanmean(ap3[0, :, o25])}
    }
    classes = {
        name: {
            "ap": float(np.average(ap3[0, ci, o_ap])),
            "ap50": float(np.average(ap3[0, ci, o50])),
            "ap25": float(np.average(ap3[0, ci, o25])),
        }
        for ci, name in enumerate(names)
    }
    for split in SPLITS:
        members = [classes[n] for k, n in zip(keys, names) if k in splits.get(split, ())]
        result[split] = {m: _nanmean(np.array([c[m] for c in members])) for m in ("ap", "ap50", "ap25")}
    result["classes"] = classes
    return result
