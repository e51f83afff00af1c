"""The streaming core of the OpenTrack3D pipeline: 2D masks → lifted segments → features → tracker → instances.

`Mapper` is the streaming API: `add_frame(frame, masks)` per frame and `instances()` at any time. It keeps
only voxel maps, per-track summaries and the voxel-level tracing table — never a frame's point cloud. The
maps grow with the mapped surface; the table with the (voxel, frame) observations, ~0.2 MB per 640×480
frame with 20 masks at 3 cm voxels, until it passes `TrackerConfig.trace_budget` entries and is folded to one
row per (voxel, track) — so memory is bounded by the map, not the stream's length (a 5,000-frame stream:
BENCHMARKS.md, speed).
`map_scene` runs every frame of a scene through one.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from tqdm import tqdm

from tracklift.core.config import config
from tracklift.core.instance import Instance3D
from tracklift.core.masks import FrameMasks
from tracklift.core.timing import StageTimes
from tracklift.data.frame import BadFrameError, Frame
from tracklift.data.stream import SHOWN_PER_REASON, skip_reason
from tracklift.features.protocol import FeatureExtractor
from tracklift.lift.lifter import LiftConfig, lift_masks
from tracklift.pipeline.checkpoint import Checkpointer
from tracklift.superpoints.snap import SnapConfig
from tracklift.trace.consistency import ConsistencyConfig
from tracklift.track.config import TrackerConfig
from tracklift.track.output import background_points, build_instances
from tracklift.track.tracker import Tracker

log = logging.getLogger(__name__)


@config
class PipelineConfig:
    """lift: masks -> voxel segments; tracker: association and track life; refine: consistency refinement
    from the tracing table (None = off); snap: snapping of the outputs to the mesh's superpoints when the
    predictions are written over a mesh (None = off)."""

    lift: LiftConfig = field(default_factory=LiftConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    refine: ConsistencyConfig | None = field(default_factory=ConsistencyConfig)
    snap: SnapConfig | None = field(default_factory=SnapConfig)


@dataclass
class MapperStats:
    frames: int = 0
    frames_without_masks: int = 0
    masks: int = 0
    masks_dropped: int = 0  # no reliable depth, too small after denoising
    segments: int = 0
    frames_skipped: int = 0  # the segmenter could not make masks for them
    skipped_by_reason: dict[str, int] = field(default_factory=dict)  # those frames, counted per kind of problem


class Mapper:
    """Online mapping of one scan. features: a FeatureExtractor, or None for spatial association only."""

    def __init__(self, config: PipelineConfig | None = None, features: FeatureExtractor | None = None) -> None:
        self.config = config or PipelineConfig()
        if self.config.tracker.mode != "spatial" and features is None:
            if self.config.tracker.mode == "visual":
                raise ValueError("tracker mode 'visual' needs a feature extractor")
            log.info("no feature extractor: fused tracking falls back to spatial association")
        self.features = features
        self.tracker = Tracker(self.config.tracker, self.config.lift.voxel, trace=True)
        self.stats = MapperStats()
        self.times = StageTimes()  # seconds per stage: segment, read (by map_scene), lift, features, track, merge

    def __getstate__(self) -> dict:
        # A checkpoint holds the mapping state, not the feature extractor (a model, reattached on resume).
        return {**self.__dict__, "features": None}

    def add_frame(self, frame: Frame, masks: FrameMasks, mask_features: np.ndarray | None = None) -> list[int]:
        """Lift and track one frame's masks; returns the track id of each kept mask's segment.

        mask_features: [N, dim] float32, this mapper's features of all N masks when they were computed ahead
        (`ReadAhead`); otherwise the masks kept after lifting are described here."""
        self.stats.frames += 1
        self.stats.masks += len(masks)
        if len(masks) == 0:
            self.stats.frames_without_masks += 1
        with self.times("lift"):
            lifted = lift_masks(frame, masks, self.config.lift)
        self.stats.masks_dropped += lifted.dropped
        segments = lifted.segments
        self.stats.segments += len(segments)
        feats = None
        if self.describes and segments:
            idx = [s.mask_index for s in segments]
            if mask_features is not None:
                if mask_features.shape != (len(masks), self.features.dim):
                    raise ValueError(f"mask_features are {mask_features.shape}, expected ({len(masks)}, dim)")
                feats = mask_features[idx]
            else:
                kept = FrameMasks(masks.masks[idx], [masks.labels[i] for i in idx], masks.scores[idx])
                with self.times("features"):
                    feats = np.asarray(self.features(frame, kept), np.float32)
            if feats.shape != (len(idx), self.features.dim):
                raise ValueError(
                    f"feature extractor returned {feats.shape}, expected ({len(idx)}, {self.features.dim})"
                )
        seg_masks = masks.masks[[s.mask_index for s in segments]] if segments else None
        with self.times("track"):
            return self.tracker.step(
                frame.index, frame.depth, frame.K, frame.pose, segments, feats, lifted.background, seg_masks
            )

    @property
    def describes(self) -> bool:
        """Whether masks get visual features (an extractor, and a tracker mode that uses them)."""
        return self.features is not None and self.config.tracker.mode != "spatial"

    def describe_ahead(self) -> Callable[[Frame, FrameMasks], np.ndarray] | None:
        """The feature extractor when it may describe masks in reading threads (`thread_safe`), else None.
        Masks are described independently of each other, so describing all of them ahead and keeping those
        lifting keeps gives the same features as describing the kept ones."""
        if self.describes and getattr(self.features, "thread_safe", False):
            return self.features
        return None

    def instances(self) -> list[Instance3D]:
        """The objects mapped so far (merges pending tracks first; safe to call at any time)."""
        with self.times("merge"):
            self.tracker.merge()
            return build_instances(self.tracker, self.config.refine)

    def background_points(self) -> np.ndarray:
        """[B, 3] float32 voxel centres seen more often as no object than as any track (metres, world)."""
        return background_points(self.tracker)


def map_scene(
    scene,
    segmenter: Callable[[Frame], FrameMasks],
    features: FeatureExtractor | None = None,
    config: PipelineConfig | None = None,
    progress: bool = True,
    on_frame: Callable[[Mapper, Frame, FrameMasks, list[int]], None] | None = None,
    checkpoint: Checkpointer | None = None,
    keep: dict | None = None,
    resume: dict | None = None,
    workers: int = 2,
) -> Mapper:
    """Run every frame of `scene.stream` through a Mapper; frames whose masks cannot be made are skipped
    and counted in `mapper.stats` (the stream itself skips unreadable frames and counts `stream.skipped`).
    on_frame(mapper, frame, masks, track_ids): called after each mapped frame (history, live views, logs).
    checkpoint: saves the mapping state (and the objects in `keep`, e.g. a history recorder) as it goes;
    resume: a loaded checkpoint (`load_checkpoint`) to continue from instead of starting at the first frame.
    workers: threads reading frames and making their masks ahead of the mapping (`ReadAhead`); the results do
    not depend on it."""
    if resume is not None:
        mapper, start = resume["mapper"], resume["next_frame"]
        mapper.features = features
        scene.stream.restore_skipped(resume["skipped"])
    else:
        mapper, start = Mapper(config, features), 0
    read_ahead = ReadAhead(scene.stream, segmenter, start, workers, describe=mapper.describe_ahead())
    waiting = StageTimes()
    try:
        with (
            tqdm(
                total=len(scene.stream), initial=start, desc=f"segment {scene.name}", unit="frame", disable=not progress
            ) as bar,
            checkpoint or nullcontext(),
        ):
            while True:
                with waiting("wait"):
                    item = read_ahead.next()
                if item is None:
                    break
                frame, masks, features = item
                bar.update(frame.index + 1 - bar.n)
                _map_frame(mapper, frame, masks, on_frame, features)
                if checkpoint is not None:
                    checkpoint.after_frame(_state(mapper, scene, frame.index + 1, keep))
            if checkpoint is not None:
                checkpoint.save(_state(mapper, scene, len(scene.stream), keep))
    finally:
        read_ahead.close()
        for reason, count in mapper.stats.skipped_by_reason.items():
            if count > SHOWN_PER_REASON:
                log.warning("%d frames skipped in all: %s", count, reason)
        # reading, making masks (and describing them) ran beside the mapping; "wait" is how long it stood still
        total = StageTimes()
        for part in (mapper.times.seconds, read_ahead.times.seconds, waiting.seconds):
            total.add(part)
        order = {stage: k for k, stage in enumerate(STAGES)}
        mapper.times.seconds = dict(sorted(total.seconds.items(), key=lambda item: order.get(item[0], len(order))))
    return mapper


# the mapping's stages in pipeline order (the timings table lists them so)
STAGES = ("read", "segment", "wait", "lift", "features", "track", "merge")


def _state(mapper: Mapper, scene, next_frame: int, keep: dict | None) -> dict:
    # the reader runs ahead: only the skips before `next_frame` belong to the state a resumed run starts from
    index = {name: i for i, name in enumerate(scene.stream.names)}
    skipped = [s for s in list(scene.stream.skipped) if index.get(s[0], 0) < next_frame]
    return {"next_frame": next_frame, "mapper": mapper, "skipped": skipped, **(keep or {})}


class ReadAhead:
    """Frames of `stream` from `start` on and their masks, made by `workers` background threads up to `depth`
    frames ahead and handed over in stream order.

    Decoding images, reading mask files and the numba kernels of the `rgbd` segmenter release the GIL, so the
    workers run beside lifting and tracking and beside each other. Only a segmenter marked `thread_safe` is
    called from several threads at once; others get one worker. Unreadable frames are recorded in the stream's
    skips in stream order as they are handed over (`stream.skip`), so the skips do not depend on `workers`;
    the first frame is made alone, since it fixes the stream's image sizes. A frame whose masks cannot be
    made arrives with the error instead of masks."""

    def __init__(
        self,
        stream,
        segmenter: Callable[[Frame], FrameMasks],
        start: int = 0,
        workers: int = 2,
        depth: int = 4,
        describe: Callable[[Frame, FrameMasks], np.ndarray] | None = None,
    ) -> None:
        if workers < 1 or depth < 1:
            raise ValueError(f"workers and depth must be >= 1, got {workers} and {depth}")
        self.times = StageTimes()
        self._stream, self._segmenter, self._describe = stream, segmenter, describe
        self._workers = workers if getattr(segmenter, "thread_safe", False) else 1
        self._depth = max(depth, self._workers)
        self._next, self._handed = start, 0
        self._pending: deque[Future] = deque()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="tracklift-read-ahead")
        stream.begin_pass(start)

    def next(self) -> tuple[Frame, FrameMasks | Exception, np.ndarray | None] | None:
        """The next readable frame, its masks (or the error making them) and, with `describe`, the features of
        all its masks ([N, dim] float32); None at the end of the stream."""
        while True:
            self._submit()
            if not self._pending:
                self._stream.end_pass()
                return None
            frame, masks, features = self._pending.popleft().result()  # a reader bug raises here, in this thread
            self._handed += 1
            if isinstance(frame, _Unreadable):
                self._stream.skip(frame.name, frame.message)
                continue
            return frame, masks, features

    def close(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True)

    def _submit(self) -> None:
        limit = 1 if self._handed == 0 else self._depth
        while len(self._pending) < limit and self._next < len(self._stream):
            self._pending.append(self._pool.submit(self._make, self._next))
            self._next += 1

    def _make(self, index: int) -> tuple[Frame | _Unreadable, FrameMasks | Exception | None, np.ndarray | None]:
        times = StageTimes()  # one per call: the workers' stage times are summed under the lock
        frame: Frame | _Unreadable
        masks = features = None
        with times("read"):
            try:
                frame = self._stream[index]
            except BadFrameError as err:
                frame = _Unreadable(self._stream.names[index], str(err))
        if isinstance(frame, Frame):
            with times("segment"):
                masks = _make_masks(self._segmenter, frame)
            if self._describe is not None and isinstance(masks, FrameMasks) and len(masks):
                with times("features"):
                    features = np.asarray(self._describe(frame, masks), np.float32)
        with self._lock:
            self.times.add(times.seconds)
        return frame, masks, features


@dataclass(frozen=True)
class _Unreadable:
    name: str
    message: str


def _make_masks(segmenter, frame: Frame) -> FrameMasks | Exception:
    try:
        masks = segmenter(frame)
        if masks.shape != (frame.height, frame.width):
            raise BadFrameError(f"masks are {masks.shape[1]}×{masks.shape[0]}, depth is {frame.width}×{frame.height}")
        return masks
    except (ValueError, FileNotFoundError) as err:  # BadFrameError is a ValueError
        return err


def _map_frame(
    mapper: Mapper, frame: Frame, masks: FrameMasks | Exception, on_frame, features: np.ndarray | None = None
) -> None:
    """Add one frame and its masks to `mapper`; a frame whose masks could not be made is skipped and counted."""
    if isinstance(masks, Exception):
        reason = skip_reason(str(masks))
        counts = mapper.stats.skipped_by_reason
        counts[reason] = counts.get(reason, 0) + 1
        mapper.stats.frames_skipped += 1
        if counts[reason] <= SHOWN_PER_REASON:  # the rest of each reason is one line at the end of the run
            log.warning("skipping frame %s: %s", frame.name, masks)
        return
    track_ids = mapper.add_frame(frame, masks, features)
    if on_frame is not None:
        on_frame(mapper, frame, masks, track_ids)
