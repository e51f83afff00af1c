"""What one track remembers: its voxel map, a feature memory, the views and labels it received."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracklift.track.voxelmap import VoxelMap


@dataclass
class FeatureMemory:
    """A running mean of L2-normalised mask features plus a few diverse exemplars.

    mean_sum: [D] float32 sum of the features seen; exemplars: [k, D] float32, k ≤ capacity.
    """

    capacity: int
    novelty: float
    mean_sum: np.ndarray | None = None
    exemplars: np.ndarray | None = None
    count: int = 0

    def add(self, feature: np.ndarray) -> None:
        f = np.asarray(feature, np.float32)
        if self.mean_sum is None:
            self.mean_sum, self.exemplars, self.count = f.copy(), f[None].copy(), 1
            return
        self.mean_sum += f
        self.count += 1
        if float((self.exemplars @ f).max()) < self.novelty:
            self.exemplars = np.concatenate([self.exemplars, f[None]])[-self.capacity :]

    def absorb(self, other: "FeatureMemory") -> None:
        if other.mean_sum is None:
            return
        if self.mean_sum is None:
            self.mean_sum, self.exemplars, self.count = other.mean_sum.copy(), other.exemplars.copy(), other.count
            return
        self.mean_sum = self.mean_sum + other.mean_sum
        self.count += other.count
        self.exemplars = np.concatenate([self.exemplars, other.exemplars])[-self.capacity :]

    @property
    def mean(self) -> np.ndarray | None:
        """[D] float32 unit-norm mean feature, or None before the first feature."""
        if self.mean_sum is None:
            return None
        return self.mean_sum / max(float(np.linalg.norm(self.mean_sum)), 1e-12)

    def bank(self) -> np.ndarray | None:
        """[k + 1, D] float32: the mean and the exemplars (what a new feature is compared with)."""
        if self.mean_sum is None:
            return None
        return np.concatenate([self.mean[None], self.exemplars])


@dataclass
class Track:
    """One object hypothesis.

    voxels: the track's voxel map. features: its feature memory.
    frames: stream indices of the frames whose masks were assigned to it (one per frame).
    segments: global ids of the segments assigned to it (labels of the tracing table).
    label_votes: 2D label -> summed mask score. score_sum: summed mask scores.
    visible_frames: frames in which the track was in view (whether matched or not).
    """

    id: int
    voxels: VoxelMap
    features: FeatureMemory
    frames: list[int] = field(default_factory=list)
    segments: list[int] = field(default_factory=list)
    label_votes: dict[str, float] = field(default_factory=dict)
    score_sum: float = 0.0
    visible_frames: int = 0
    last_seen: int = -1
    lo: np.ndarray = field(default_factory=lambda: np.full(3, np.inf, np.float32))
    hi: np.ndarray = field(default_factory=lambda: np.full(3, -np.inf, np.float32))

    @property
    def views(self) -> int:
        return len(self.frames)

    def observe(
        self,
        frame_index: int,
        segment_id: int,
        keys: np.ndarray,
        weights: np.ndarray,
        coarse: np.ndarray,
        observed_elsewhere: np.ndarray | None,
        lo: np.ndarray,
        hi: np.ndarray,
        label: str | None,
        score: float,
        feature: np.ndarray | None,
    ) -> None:
        """Add one matched segment seen in frame `frame_index`: keys [N] int64 sorted unique, weights [N],
        coarse its coarse keys, observed_elsewhere the frame's voxels seen under any label (VoxelMap.update),
        lo/hi [3] its box (metres), feature [D] or None."""
        self.voxels.update(keys, weights * score, observed_elsewhere, coarse)
        if feature is not None:
            self.features.add(feature)
        if not self.frames or self.frames[-1] != frame_index:
            self.frames.append(frame_index)
        self.segments.append(segment_id)
        if label is not None:
            self.label_votes[label] = self.label_votes.get(label, 0.0) + score
        self.score_sum += score
        self.last_seen = max(self.last_seen, frame_index)
        self.lo, self.hi = np.minimum(self.lo, lo), np.maximum(self.hi, hi)

    def absorb(self, other: "Track") -> None:
        """Merge `other` (the same object) into this track."""
        self.voxels.absorb(other.voxels)
        self.features.absorb(other.features)
        self.frames = sorted(set(self.frames) | set(other.frames))
        self.segments += other.segments
        for label, vote in other.label_votes.items():
            self.label_votes[label] = self.label_votes.get(label, 0.0) + vote
        self.score_sum += other.score_sum
        self.visible_frames = max(self.visible_frames, other.visible_frames)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.lo, self.hi = np.minimum(self.lo, other.lo), np.maximum(self.hi, other.hi)
