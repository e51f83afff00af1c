"""Show an evaluation result: a terminal table and JSON (NaN written as null)."""

from __future__ import annotations

import json
import math

from tracklift.eval.evaluate import SPLITS

# (result key, column header) of the instance-AP table; box AP passes its own
INSTANCE_METRICS = (("ap", "AP"), ("ap50", "AP50"), ("ap25", "AP25"))


def _cell(value: float) -> str:
    return f"{'-':>8}" if math.isnan(value) else f"{value:8.3f}"


def _row(name: str, scores: dict, metrics: tuple[tuple[str, str], ...]) -> str:
    return f"{name:<28.28}" + "".join(_cell(scores[m]) for m, _ in metrics)


def format_table(result: dict, metrics: tuple[tuple[str, str], ...] = INSTANCE_METRICS) -> str:
    """Per-class rows (classes without GT are counted, not listed), the splits the result has, then the average."""
    width = 28 + 8 * len(metrics)
    lines = [f"{'class':<28}" + "".join(f"{header:>8}" for _, header in metrics), "=" * width]
    without_gt = 0
    for name, scores in result["classes"].items():
        if all(math.isnan(scores[m]) for m, _ in metrics):
            without_gt += 1
        else:
            lines.append(_row(name, scores, metrics))
    if without_gt:
        lines.append(f"({without_gt} classes without GT instances not listed)")
    splits = [s for s in SPLITS if s in result and not all(math.isnan(result[s][m]) for m, _ in metrics)]
    if splits:
        lines.append("-" * width)
        lines.extend(_row(s, result[s], metrics) for s in splits)
    lines.append("-" * width)
    lines.append(_row("average", result["all"], metrics))
    skipped = result.get("skipped_labels")
    if skipped:
        listed = ", ".join(f"{name} {count}" for name, count in skipped.items())
        lines.append(f"{sum(skipped.values())} predictions of classes that are not evaluated were skipped ({listed})")
    return "\n".join(lines)


def _nan_to_none(value: object) -> object:
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_none(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def result_to_json(result: dict) -> str:
    """The result as JSON text; NaN (nothing measurable) becomes null."""
    return json.dumps(_nan_to_none(result), indent=1, allow_nan=False)
