"""Show an evaluation result: a terminal table and JSON (NaN written as null)."""

from __future__ import annotations

import json
import math

from tracklift.eval.evaluate import SPLITS

_METRICS = ("ap", "ap50", "ap25")


def _cell(value: float) -> str:
    return f"{'-':>8}" if math.isnan(value) else f"{value:8.3f}"


def _row(name: str, scores: dict) -> str:
    return f"{name:<28.28}" + "".join(_cell(scores[m]) for m in _METRICS)


def format_table(result: dict) -> str:
    """Per-class rows (classes without GT are counted, not listed), the splits, then the average."""
    width = 28 + 8 * len(_METRICS)
    lines = [f"{'class':<28}{'AP':>8}{'AP50':>8}{'AP25':>8}", "=" * width]
    without_gt = 0
    for name, scores in result["classes"].items():
        if all(math.isnan(scores[m]) for m in _METRICS):
            without_gt += 1
        else:
            lines.append(_row(name, scores))
    if without_gt:
        lines.append(f"({without_gt} classes without GT instances not listed)")
    splits = [s for s in SPLITS if not all(math.isnan(result[s][m]) for m in _METRICS)]
    if splits:
        lines.append("-" * width)
        lines.extend(_row(s, result[s]) for s in splits)
    lines.append("-" * width)
    lines.append(_row("average", result["all"]))
    return "\n".join(lines)


def _nan_to_none(value: object) -> object:
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def result_to_json(result: dict) -> str:
    """The result as JSON text; NaN (nothing measurable) becomes null."""
    return json.dumps(_nan_to_none(result), indent=1, allow_nan=False)
