"""One predicted 3D instance, as the evaluator and the benchmark-format writer take it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(eq=False)
class PredictedInstance:
    """A predicted instance over a scene's reference vertices.

    mask:     [V] bool, True on the vertices of the instance (V = vertices of the scene's mesh / GT file).
    label_id: class id in the vocabulary, or None when unknown (class-agnostic proposals).
    score:    confidence; higher ranks first. Only the order of scores within a class matters.
    """

    mask: np.ndarray
    label_id: int | None
    score: float

    def __post_init__(self) -> None:
        mask = np.asarray(self.mask)
        if mask.ndim != 1:
            raise ValueError(f"mask must be [V] bool, got shape {mask.shape}")
        # the benchmark format marks member vertices by any non-zero integer
        self.mask = mask if mask.dtype == np.bool_ else mask != 0
        self.score = float(self.score)
        if self.label_id is not None:
            self.label_id = int(self.label_id)
