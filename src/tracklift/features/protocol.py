"""What every mask-feature extractor provides: one descriptor per mask, comparable by cosine."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame


@runtime_checkable
class FeatureExtractor(Protocol):
    """(frame, masks) -> [N, D] float32, each row L2-normalised (cosine similarity = dot product).

    An extractor with a true `thread_safe` attribute may be called from several threads at once (the pipeline
    then describes masks in its reading threads).
    """

    dim: int

    def __call__(self, frame: Frame, masks: FrameMasks) -> np.ndarray: ...
