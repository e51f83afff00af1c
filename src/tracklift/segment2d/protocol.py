"""What every 2D segmenter provides: one frame in, its instance masks out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame


@runtime_checkable
class Segmenter(Protocol):
    """frame -> FrameMasks at the frame's (depth) resolution; labels/scores when the model gives them.

    A segmenter with a true `thread_safe` attribute may be called from several threads at once (the pipeline
    then segments frames in parallel); without it, it is called from one thread.
    """

    def __call__(self, frame: Frame) -> FrameMasks: ...
