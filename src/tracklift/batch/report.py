"""Pooled evaluation of a batch: ScanNet-protocol AP over all finished scenes (the evaluator pools matches
across scenes before integrating precision/recall, so this is not a mean of per-scene APs), plus each
scene's own AP; head/common/tail come with the ScanNet200 vocabulary."""

from __future__ import annotations

import logging
import math
from pathlib import Path

log = logging.getLogger(__name__)


def pooled_evaluation(
    out: str | Path, scenes: list[str], gt_root: str | Path, dataset: str, agnostic: bool = False
) -> dict:
    """{"dataset", "agnostic", "pooled": evaluate(...) over `scenes`, "scenes": {name: {"ap", "ap50", "ap25"}},
    "without_gt": [names]} from the predictions in `out` and `gt_root/<scene>.txt`."""
    from tracklift.eval import evaluate
    from tracklift.eval.benchmark_format import read_predictions
    from tracklift.eval.gt import read_gt_file
    from tracklift.vocab import load_vocabulary

    gt_root = Path(gt_root)
    if not gt_root.is_dir():
        raise FileNotFoundError(f"{gt_root}: no such GT folder (expected <scene>.txt files)")
    vocab = load_vocabulary(dataset)
    gts = {s: read_gt_file(gt_root / f"{s}.txt") for s in scenes if (gt_root / f"{s}.txt").is_file()}
    without = sorted(set(scenes) - set(gts))
    if without:
        log.warning("%d scene(s) have no GT file in %s and are not evaluated: %s", len(without), gt_root, without[:5])
    if not gts:
        raise FileNotFoundError(f"{gt_root}: no GT file for any finished scene (expected e.g. {scenes[0]}.txt)")
    preds = read_predictions(out, None if agnostic else vocab, {s: len(g) for s, g in gts.items()})
    preds = {s: preds.get(s, []) for s in sorted(gts)}
    per_scene = {s: evaluate({s: preds[s]}, {s: gts[s]}, vocab, agnostic)["all"] for s in preds}
    return {
        "dataset": dataset,
        "agnostic": agnostic,
        "pooled": evaluate(preds, gts, vocab, agnostic),
        "scenes": per_scene,
        "without_gt": without,
    }


def scene_table(per_scene: dict[str, dict]) -> str:
    """One row per scene: AP, AP50, AP25 ('-' where the scene has no evaluated GT)."""

    def cell(v: float) -> str:
        return f"{'-':>8}" if v is None or math.isnan(v) else f"{v:8.3f}"

    width = max([len("scene"), *map(len, per_scene)])
    lines = [f"{'scene':<{width}}{'AP':>8}{'AP50':>8}{'AP25':>8}", "=" * (width + 24)]
    lines += [f"{s:<{width}}" + "".join(cell(r[m]) for m in ("ap", "ap50", "ap25")) for s, r in per_scene.items()]
    return "\n".join(lines)
