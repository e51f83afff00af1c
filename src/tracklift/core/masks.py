"""The 2D masks of one frame: the common currency between segmenters, readers and the lifter."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FrameMasks:
    """Instance masks of one frame.

    masks:  [N, H, W] bool, may overlap.
    labels: N entries, a free-form class name or None when the segmenter gives none.
    scores: [N] float32 in [0, 1]; 1.0 when the segmenter gives none.
    """

    masks: np.ndarray
    labels: list[str | None] = field(default_factory=list)
    scores: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.masks.ndim != 3 or self.masks.dtype != np.bool_:
            raise ValueError(f"masks must be [N, H, W] bool, got {self.masks.shape} {self.masks.dtype}")
        n = self.masks.shape[0]
        if not self.labels:
            self.labels = [None] * n
        if len(self.labels) != n:
            raise ValueError(f"{len(self.labels)} labels for {n} masks")
        if self.scores is None:
            self.scores = np.ones(n, np.float32)
        self.scores = np.asarray(self.scores, np.float32)
        if self.scores.shape != (n,):
            raise ValueError(f"scores must be [{n}], got {self.scores.shape}")

    def __len__(self) -> int:
        return int(self.masks.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.masks.shape[1]), int(self.masks.shape[2])

    @classmethod
    def empty(cls, height: int, width: int) -> "FrameMasks":
        return cls(np.zeros((0, height, width), bool))
