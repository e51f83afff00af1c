"""Weight-free classifier: the 2D segmenter's labels, voted across views and mapped onto the vocabulary.

Each free-form label in `Instance3D.label_votes` maps to a vocabulary class (exact match, alias, or MiniLM
nearest name above a similarity floor); its weight, times the mapping similarity, goes to that class.
The distribution is the normalised tally mixed with a little uniform mass (`smoothing`), so a class no
view voted for keeps a small non-zero probability and an instance without votes is uniform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from tracklift.classify.text import DEFAULT_FLOOR, TextEmbedder, default_text_embedder, map_to_vocabulary
from tracklift.classify.views import View
from tracklift.core.instance import Instance3D


@dataclass
class VoteClassifier:
    floor: float = DEFAULT_FLOOR  # mapping similarity below which a vote is discarded
    smoothing: float = 0.05  # share of uniform mass mixed into the tally
    embedder: TextEmbedder | None = None
    name: str = "vote"
    needs_views: bool = False
    _maps: dict[tuple[str, ...], dict[str, tuple[int, float]]] = field(default_factory=dict, repr=False)

    def classify(self, instance: Instance3D, views: Sequence[View], vocabulary: Sequence[str]) -> np.ndarray:
        """[C] float64 probabilities from the instance's label votes (views are not used)."""
        tally = vote_tally(instance.label_votes, vocabulary, self._mapping(instance.label_votes, vocabulary))
        uniform = np.full(len(vocabulary), 1.0 / len(vocabulary))
        if tally.sum() <= 0:
            return uniform
        return (1 - self.smoothing) * tally / tally.sum() + self.smoothing * uniform

    def score_query(self, instance: Instance3D, views: Sequence[View], query: str) -> float:
        """Vote-weighted cosine similarity between the query and the instance's 2D labels, clipped to [0, 1]."""
        labels = [lab for lab, w in instance.label_votes.items() if w > 0]
        if not labels:
            return 0.0
        embedder = self.embedder or default_text_embedder()
        sims = embedder.embed(labels) @ embedder.embed([query])[0]
        weights = np.array([instance.label_votes[lab] for lab in labels], np.float64)
        return float(np.clip((weights * sims).sum() / weights.sum(), 0.0, 1.0))

    def _mapping(self, votes: dict[str, float], vocabulary: Sequence[str]) -> dict[str, tuple[int, float]]:
        # Labels repeat across instances: map each distinct label once per vocabulary.
        known = self._maps.setdefault(tuple(vocabulary), {})
        new = [lab for lab in votes if lab not in known]
        if new:
            index, sim = map_to_vocabulary(new, vocabulary, self.embedder, self.floor)
            known.update({lab: (int(i), float(s)) for lab, i, s in zip(new, index, sim)})
        return known


def vote_tally(votes: dict[str, float], vocabulary: Sequence[str], mapping: dict[str, tuple[int, float]]) -> np.ndarray:
    """[C] float64: sum over votes of weight x mapping similarity, per mapped class (unmapped votes dropped)."""
    tally = np.zeros(len(vocabulary), np.float64)
    for label, weight in votes.items():
        index, sim = mapping[label]
        if index >= 0 and weight > 0:
            tally[index] += weight * sim
    return tally
