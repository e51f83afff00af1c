"""Open-vocabulary instance masks: a text-prompted box detector (OWLv2 or Grounding DINO) whose boxes,
after score threshold and NMS, prompt SAM for masks. Labels come from the vocabulary, scores from the detector."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from tracklift.core.config import config, option
from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.segment2d.boxes import Detections, nms


class BoxDetector(Protocol):
    def __call__(self, color: np.ndarray, vocabulary: list[str], threshold: float) -> Detections: ...


class BoxPrompter(Protocol):
    def __call__(self, color: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@config
class OpenVocabConfig:
    threshold: float = option(0.1, "minimum detector score", low=0.0, high=1.0)
    nms_iou: float = option(0.5, "boxes overlapping a better one by more are dropped", low=0.0, high=1.0)
    class_agnostic_nms: bool = option(True, "suppress across labels too (one mask per object, not per guess)")
    max_detections: int = option(100, "boxes kept per frame, best first", low=1, high=10_000)


def check_vocabulary(vocabulary: list[str] | None) -> list[str]:
    if not vocabulary or not all(isinstance(v, str) and v.strip() for v in vocabulary):
        raise ValueError(f"an open-vocabulary segmenter needs a non-empty list of class names, got {vocabulary!r}")
    return [v.strip() for v in vocabulary]


class OpenVocabSegmenter:
    """`Segmenter`: frame -> FrameMasks with vocabulary labels and detector scores, masks at frame resolution."""

    def __init__(
        self, detector: BoxDetector, prompter: BoxPrompter, vocabulary: list[str], config: OpenVocabConfig | None = None
    ):
        self.detector, self.prompter = detector, prompter
        self.vocabulary = check_vocabulary(vocabulary)
        self.config = config or OpenVocabConfig()

    def detect(self, frame: Frame) -> Detections:
        """Detections with a non-empty box after threshold, NMS and the per-frame cap, best score first."""
        cfg = self.config
        found = self.detector(frame.color, self.vocabulary, cfg.threshold)
        # A box clipped to nothing (OWLv2 also predicts boxes in its square padding) prompts nothing.
        boxes = found.boxes
        found = found.take(np.flatnonzero((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])))
        keep = nms(found.boxes, found.scores, cfg.nms_iou, None if cfg.class_agnostic_nms else found.labels)
        return found.take(keep[: cfg.max_detections])

    def __call__(self, frame: Frame) -> FrameMasks:
        found = self.detect(frame)
        masks, _ = self.prompter(frame.color, found.boxes)
        if masks.shape != (len(found), frame.height, frame.width):
            raise ValueError(
                f"box prompter returned masks {masks.shape} for {len(found)} boxes on frame {frame.name!r}"
            )
        nonempty = masks.any(axis=(1, 2))
        labels = [self.vocabulary[i] for i in found.labels[nonempty]]
        return FrameMasks(masks[nonempty], labels or [], np.clip(found.scores[nonempty], 0, 1))
