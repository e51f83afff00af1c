"""Classifier backed by a multimodal LLM: shows an instance's best views, asks for a label or a query verdict.

The views are shown as highlighted crops (background dimmed, outline drawn), best view first. A failed
request (`LLMError` after the backend's retries) is logged and counted, and gives no information: a
uniform distribution, or a neutral 0.5 query score, so one bad call never stops a long run.

With a `prior` classifier (e.g. the label vote), the model chooses among the prior's `shortlist` most
likely classes instead of the whole vocabulary (200 names are a long prompt and an easy mistake), and
its answer is mixed with the prior: p = c * onehot(answer) + (1 - c) * prior, c = the answer's
confidence; an unusable answer leaves the prior as it is.
"""

from __future__ import annotations

import logging
from dataclasses import field
from typing import Sequence

import numpy as np

from tracklift.classify.answers import parse_label_answer, parse_query_answer
from tracklift.classify.chat import ChatBackend, LLMError
from tracklift.classify.crops import CropConfig, crop_view
from tracklift.classify.protocol import Classifier, check_distribution, peaked
from tracklift.classify.text import TextEmbedder
from tracklift.classify.views import View
from tracklift.core.config import config, option
from tracklift.core.instance import Instance3D

log = logging.getLogger(__name__)

LABEL_PROMPT = (
    "The {n} image(s) show one object in an indoor scene from different viewpoints; the object is outlined "
    "in red and the background is dimmed. Which category is the object? Choose exactly one from this list: "
    '{names}.\nAnswer with JSON only: {{"label": "<category>", "confidence": <number between 0 and 1>}}'
)
QUERY_PROMPT = (
    "The {n} image(s) show one object in an indoor scene from different viewpoints; the object is outlined "
    'in red and the background is dimmed. Does this object match the request: "{query}"?\n'
    'Answer with JSON only: {{"answer": "yes" or "no", "confidence": <number between 0 and 1>}}'
)
NEUTRAL_SCORE = 0.5  # query score when the model's answer carries no information


@config
class LLMConfig:
    n_views: int = option(3, "views shown per question", low=1, high=64)
    scale: float = option(1.5, "crop context scale (× the bbox side)", low=1.0, high=10.0)
    crop: CropConfig = field(default_factory=lambda: CropConfig(size=336))
    shortlist: int = option(10, "classes offered to the model when a prior classifier is given", low=1)


class LLMClassifier:
    needs_views = True

    def __init__(
        self,
        backend: ChatBackend,
        config: LLMConfig | None = None,
        embedder: TextEmbedder | None = None,
        prior: Classifier | None = None,
    ) -> None:
        self.backend = backend
        self.config = config or LLMConfig()
        self.embedder = embedder
        self.prior = prior
        self.name = f"llm:{backend.model_id}"
        self.failures = 0  # requests that failed after all retries
        self.unparsed = 0  # answers that named nothing usable

    def images(self, views: Sequence[View]) -> list[np.ndarray]:
        """The crops shown to the model: [size, size, 3] uint8 for the best `n_views` views."""
        return [crop_view(v, self.config.scale, self.config.crop) for v in list(views)[: self.config.n_views]]

    def classify(self, instance: Instance3D, views: Sequence[View], vocabulary: Sequence[str]) -> np.ndarray:
        prior = (
            None
            if self.prior is None
            else check_distribution(self.prior.classify(instance, views, vocabulary), vocabulary, self.prior.name)
        )
        fallback = np.full(len(vocabulary), 1.0 / len(vocabulary)) if prior is None else prior
        images = self.images(views)
        if not images:
            return fallback
        offered = list(vocabulary)
        if prior is not None and np.ptp(prior) > 1e-12:  # a flat prior has no shortlist to offer
            offered = [vocabulary[i] for i in np.argsort(-prior, kind="stable")[: self.config.shortlist]]
        answer = self._ask(LABEL_PROMPT.format(n=len(images), names=", ".join(offered)), images, instance)
        index, confidence = parse_label_answer(answer or "", vocabulary, self.embedder)
        if index < 0:
            self.unparsed += answer is not None
            log.debug("instance %d: no vocabulary label in answer %r", instance.id, answer)
            return fallback
        if prior is None:
            return peaked(index, confidence, len(vocabulary))
        mixed = (1.0 - confidence) * prior
        mixed[index] += confidence
        return mixed

    def score_query(self, instance: Instance3D, views: Sequence[View], query: str) -> float:
        images = self.images(views)
        if not images:
            return NEUTRAL_SCORE
        answer = self._ask(QUERY_PROMPT.format(n=len(images), query=query), images, instance)
        score = parse_query_answer(answer or "")
        if score is None:
            self.unparsed += answer is not None
            return NEUTRAL_SCORE
        return score

    def _ask(self, prompt: str, images: list[np.ndarray], instance: Instance3D) -> str | None:
        try:
            return self.backend.chat(prompt, images)
        except LLMError as err:
            self.failures += 1
            log.warning("instance %d: LLM request failed, no information used: %s", instance.id, err)
            return None
