"""What every instance classifier provides: a label distribution over a vocabulary, and a query score."""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from tracklift.classify.views import View
from tracklift.core.instance import Instance3D


@runtime_checkable
class Classifier(Protocol):
    """Names 3D instances from their best views.

    classify:    (instance, views, vocabulary names [C]) -> [C] float64 probabilities summing to 1.
    score_query: (instance, views, query text) -> score in [0, 1] that the instance matches the query.
    needs_views: False when the classifier reads only the instance (label votes), so callers may skip
                 the view selection pass over the frames.
    """

    name: str
    needs_views: bool

    def classify(self, instance: Instance3D, views: Sequence[View], vocabulary: Sequence[str]) -> np.ndarray: ...

    def score_query(self, instance: Instance3D, views: Sequence[View], query: str) -> float: ...


def check_distribution(probs: np.ndarray, vocabulary: Sequence[str], who: str) -> np.ndarray:
    """Validate a classifier's output: [C] finite, non-negative, summing to 1 (renormalised)."""
    probs = np.asarray(probs, np.float64)
    if probs.shape != (len(vocabulary),):
        raise ValueError(f"{who} returned shape {probs.shape}, expected [{len(vocabulary)}] (vocabulary size)")
    if not np.isfinite(probs).all() or (probs < 0).any() or probs.sum() <= 0:
        raise ValueError(f"{who} returned probabilities that are negative, non-finite or all zero")
    return probs / probs.sum()


def peaked(index: int, confidence: float, size: int) -> np.ndarray:
    """[size] distribution with `confidence` on `index` and the rest spread evenly (uniform if index < 0)."""
    if size <= 0:
        raise ValueError("vocabulary is empty")
    if index < 0 or size == 1:
        return np.full(size, 1.0 / size)
    confidence = float(np.clip(confidence, 1.0 / size, 1.0))
    out = np.full(size, (1.0 - confidence) / (size - 1))
    out[index] = confidence
    return out
