"""Robust parsing of a multimodal LLM's free-form answers. Never raises on model output.

Label answers: a JSON object ({"label": ..., "confidence": ...}) if one is embedded anywhere, else a
vocabulary name found in the text, else the nearest vocabulary name by text embedding (above the
similarity floor), else nothing (index -1: the caller falls back to a uniform distribution).
Query answers: a JSON score or yes/no, else a leading number or percentage, else the first yes/no word,
else None (no information).
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

from tracklift.classify.text import (
    DEFAULT_FLOOR,
    TextEmbedder,
    exact_match,
    map_to_vocabulary,
    name_index,
    normalise_label,
)

# Confidence given to an answer that names a class but states no confidence of its own.
DEFAULT_CONFIDENCE = 0.7
# Scores for a bare "yes" / "no".
YES, NO = 0.9, 0.1

_LABEL_KEYS = ("label", "class", "category", "object", "name", "answer")
_SCORE_KEYS = ("score", "confidence", "probability", "prob", "certainty")


def parse_label_answer(
    text: str, vocabulary: Sequence[str], embedder: TextEmbedder | None = None, floor: float = DEFAULT_FLOOR
) -> tuple[int, float]:
    """(index into `vocabulary` or -1, confidence in [0, 1]) from an LLM's answer."""
    text = str(text or "")
    obj = _json_object(text)
    confidence = DEFAULT_CONFIDENCE
    if obj is not None:
        label = next((obj[k] for k in _LABEL_KEYS if isinstance(obj.get(k), str)), None)
        stated = next((_as_probability(obj[k]) for k in _SCORE_KEYS if k in obj), None)
        confidence = stated if stated is not None else DEFAULT_CONFIDENCE
        if label is not None:
            text = label
    found = _name_in_text(text, vocabulary)
    if found >= 0:
        return found, confidence
    phrase = normalise_label(text.strip().splitlines()[0] if text.strip() else "")[:80]
    if not phrase:
        return -1, 0.0
    index, sim = map_to_vocabulary([phrase], vocabulary, embedder, floor)
    if index[0] < 0:
        return -1, 0.0
    return int(index[0]), float(confidence * sim[0])


def parse_query_answer(text: str) -> float | None:
    """Score in [0, 1] that the answer affirms the query, or None when it says nothing usable."""
    text = str(text or "")
    obj = _json_object(text)
    if obj is not None:
        score = next((_as_probability(obj[k]) for k in _SCORE_KEYS if k in obj), None)
        verdict = _yes_no(str(obj.get("answer", obj.get("match", ""))))
        if verdict is None and isinstance(obj.get("match"), bool):
            verdict = obj["match"]
        if score is not None and verdict is False:
            # {"answer": "no", "confidence": 0.8} means 80 % sure it does NOT match.
            return 1.0 - score if score > 0.5 else score
        if score is not None:
            return score
        if verdict is not None:
            return YES if verdict else NO
    lead = re.match(r"\s*(\d+(?:\.\d+)?)\s*(%?)", text)
    if lead:
        value = float(lead.group(1)) / (100.0 if lead.group(2) else 1.0)
        if 0.0 <= value <= 1.0:
            return value
    verdict = _yes_no(text)
    if verdict is not None:
        return YES if verdict else NO
    return None


def _yes_no(text: str) -> bool | None:
    m = re.search(r"\b(yes|no|true|false)\b", text.lower())
    if m is None:
        return None
    return m.group(1) in ("yes", "true")


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in the text that parses (tolerating code fences and chatter), lower-cased keys."""
    for start in [m.start() for m in re.finditer(r"\{", text)]:
        depth = 0
        for end in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                try:
                    obj = json.loads(text[start : end + 1])
                except ValueError:
                    break
                if isinstance(obj, dict):
                    return {str(k).lower(): v for k, v in obj.items()}
                break
    return None


def _as_probability(value: Any) -> float | None:
    try:
        v = float(str(value).strip().rstrip("%"))
    except ValueError:
        return None
    if str(value).strip().endswith("%") or 1.0 < v <= 100.0:
        v /= 100.0
    return v if 0.0 <= v <= 1.0 else None


def _name_in_text(text: str, vocabulary: Sequence[str]) -> int:
    """Index of the vocabulary name in the longest run of words that names one (plurals, aliases), or -1."""
    index = name_index(vocabulary)
    words = normalise_label(text).split()
    best, best_len = -1, 0
    for n in range(min(len(words), 6), 0, -1):
        for i in range(len(words) - n + 1):
            phrase = " ".join(words[i : i + n])
            found = exact_match(phrase, index)
            if found >= 0 and len(phrase) > best_len:
                best, best_len = found, len(phrase)
        if best >= 0:
            return best
    return best
