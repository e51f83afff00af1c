"""A 3D object instance as the pipeline hands it on: to refinement, classification, queries and writers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Instance3D:
    """One object found in a scene.

    points:      [M, 3] float32, metres, world frame (voxel centres of the object's map).
    label_votes: free-form 2D label -> accumulated weight (mask score) over the views that saw it.
    frames:      indices (in the stream) of the frames where a 2D mask was assigned to it.
    score:       proposal quality in [0, 1], comparable across scenes.
    label:       final class name once classified (None before); label_score its confidence in [0, 1].
    """

    id: int
    points: np.ndarray
    label_votes: dict[str, float] = field(default_factory=dict)
    frames: list[int] = field(default_factory=list)
    score: float = 1.0
    label: str | None = None
    label_score: float = 0.0

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, np.float32).reshape(-1, 3)

    @property
    def views(self) -> int:
        return len(set(self.frames))

    @property
    def box(self) -> np.ndarray:
        """[6] float32: centre (cx, cy, cz) and size (dx, dy, dz) of the axis-aligned box, metres."""
        if len(self.points) == 0:
            return np.zeros(6, np.float32)
        lo, hi = self.points.min(0), self.points.max(0)
        return np.concatenate([(lo + hi) / 2, hi - lo]).astype(np.float32)
