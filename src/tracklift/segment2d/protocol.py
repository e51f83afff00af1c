"""What every 2D segmenter provides: one frame in, its instance masks out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame


@runtime_checkable
class Segmenter(Protocol):
    """frame -> FrameMasks at the frame's (depth) resolution; labels/scores when the model gives them."""

    def __call__(self, frame: Frame) -> FrameMasks: ...
