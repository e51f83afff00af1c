"""The OpenTrack3D pipeline: RGB-D stream → 2D masks → lifted segments → features → tracker → instances.

`Mapper` is the streaming API: `add_frame(frame, masks)` per frame and `instances()` at any time. It keeps
only voxel maps, per-track summaries and the voxel-level tracing table — never a frame's point cloud. The
maps grow with the mapped surface; the table with the (voxel, frame) observations, ~0.2 MB per 640×480
frame with 20 masks at 3 cm voxels — `TrackerConfig.trace_every` thins it for very long streams.
`segment_scene` runs a whole scene; `make_segmenter` / `make_features` resolve CLI names to backends,
importing them only when chosen.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from tracklift.core.config import config
from tracklift.data.frame import BadFrameError, Frame
from tracklift.features.protocol import FeatureExtractor
from tracklift.lift.lifter import LiftConfig, lift_masks
from tracklift.superpoints.snap import SnapConfig
from tracklift.core.masks import FrameMasks
from tracklift.trace.consistency import ConsistencyConfig
from tracklift.track.config import TrackerConfig
from tracklift.core.instance import Instance3D
from tracklift.track.output import background_points, build_instances
from tracklift.track.tracker import Tracker

log = logging.getLogger(__name__)

# Names instances in place: (scene, instances) -> None, setting Instance3D.label / label_score.
Classifier = Callable[[object, list[Instance3D]], None]


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

    def add_frame(self, frame: Frame, masks: FrameMasks) -> list[int]:
        """Lift and track one frame's masks; returns the track id of each kept mask's segment."""
        self.stats.frames += 1
        self.stats.masks += len(masks)
        if len(masks) == 0:
            self.stats.frames_without_masks += 1
        lifted = lift_masks(frame, masks, self.config.lift)
        self.stats.masks_dropped += lifted.dropped
        segments = lifted.segments
        self.stats.segments += len(segments)
        feats = None
        if self.features is not None and segments and self.config.tracker.mode != "spatial":
            idx = [s.mask_index for s in segments]
            kept = FrameMasks(masks.masks[idx], [masks.labels[i] for i in idx], masks.scores[idx])
            feats = np.asarray(self.features(frame, kept), np.float32)
            if feats.shape != (len(idx), self.features.dim):
                raise ValueError(f"feature extractor returned {feats.shape}, expected ({len(idx)}, {self.features.dim})")
        seg_masks = masks.masks[[s.mask_index for s in segments]] if segments else None
        return self.tracker.step(frame.index, frame.depth, frame.K, frame.pose, segments, feats, lifted.background,
                                 seg_masks)

    def instances(self) -> list[Instance3D]:
        """The objects mapped so far (merges pending tracks first; safe to call at any time)."""
        self.tracker.merge()
        return build_instances(self.tracker, self.config.refine)

    def background_points(self) -> np.ndarray:
        """[B, 3] float32 voxel centres seen more often as no object than as any track (metres, world)."""
        return background_points(self.tracker)


def map_scene(scene, segmenter: Callable[[Frame], FrameMasks], features: FeatureExtractor | None = None,
              config: PipelineConfig | None = None, progress: bool = True,
              on_frame: Callable[[Mapper, Frame, FrameMasks, list[int]], None] | None = None) -> Mapper:
    """Run every frame of `scene.stream` through a Mapper; frames whose masks cannot be made are skipped
    and counted in `mapper.stats` (the stream itself skips unreadable frames and counts `stream.skipped`).
    on_frame(mapper, frame, masks, track_ids): called after each mapped frame (history, live views, logs)."""
    mapper = Mapper(config, features)
    for frame in tqdm(scene.stream, desc=f"segment {scene.name}", unit="frame", disable=not progress):
        try:
            masks = segmenter(frame)
            if masks.shape != (frame.height, frame.width):
                raise BadFrameError(f"masks are {masks.shape[1]}×{masks.shape[0]}, depth is {frame.width}×{frame.height}")
        except (ValueError, FileNotFoundError) as err:  # BadFrameError is a ValueError
            log.warning("skipping frame %s: %s", frame.name, err)
            mapper.stats.frames_skipped += 1
            continue
        track_ids = mapper.add_frame(frame, masks)
        if on_frame is not None:
            on_frame(mapper, frame, masks, track_ids)
    return mapper


def segment_scene(scene, segmenter: Callable[[Frame], FrameMasks], features: FeatureExtractor | None = None,
                  config: PipelineConfig | None = None, classifier: Classifier | None = None,
                  progress: bool = False) -> list[Instance3D]:
    """All 3D instances of a scene (see `map_scene`).

    classifier: optional hook `classifier(scene, instances)` that names the instances in place (sets
    `label` / `label_score`); without it an instance's label is the majority of its 2D label votes.
    """
    instances = map_scene(scene, segmenter, features, config, progress).instances()
    if classifier is not None:
        classifier(scene, instances)
    return instances


def make_segmenter(name: str, masks_dir: str | Path | None = None, vocabulary: list[str] | None = None):
    """A Segmenter from a spec of `tracklift.segment2d.factory.make_segmenter` ('precomputed:<dir>',
    'rgbd[:options]', 'hf:...'); a bare 'precomputed' takes its folder from `masks_dir`. `vocabulary` (class
    names) prompts the open-vocabulary 'hf:' segmenters."""
    if name == "precomputed":
        if masks_dir is None:
            raise ValueError("segmenter 'precomputed' needs a masks folder (--masks DIR)")
        name = f"precomputed:{masks_dir}"
    return importlib.import_module("tracklift.segment2d.factory").make_segmenter(name, vocabulary)


def make_features(name: str | None) -> FeatureExtractor | None:
    """'none' (no features: spatial association), or a spec of `tracklift.features.factory.make_features`:
    'handcrafted' (weight-free) or 'dinov2:<model>' (transformers)."""
    if name in (None, "", "none"):
        return None
    return importlib.import_module("tracklift.features.factory").make_features(name)


def reference_points(scene, mesh_path: str | Path | None, instances: list[Instance3D], voxel: float):
    """The points predictions are written over: the mesh's vertices when a mesh is given or found beside the
    scene (checked to be in the poses' frame), else the fused instance points.

    Returns (points [P, 3] float32, faces [F, 3] int64 or None, "mesh" | "fused").
    """
    from tracklift.io.ply import read_ply
    from tracklift.track.transfer import check_alignment, fused_points

    path = mesh_path if mesh_path is not None else getattr(scene, "mesh_path", None)
    if path is None:
        return fused_points(instances), None, "fused"
    mesh = read_ply(path)
    mapped = fused_points(instances)
    check_alignment(mapped, mesh.vertices, voxel, where=str(path))
    return mesh.vertices, mesh.faces, "mesh"


def predictions(instances: list[Instance3D], points: np.ndarray, voxel: float, vocab=None, radius_voxels: float = 1.0,
                background: np.ndarray | None = None, faces: np.ndarray | None = None, fill_distance: float = 0.5):
    """Instances as `PredictedInstance`s over `points` ([P, 3] metres): a point joins an instance when its
    nearest instance or `background` point ([B, 3], e.g. `Mapper.background_points()`), within
    radius_voxels · voxel, belongs to it. With mesh `faces` ([F, 3]), points no lifted voxel explains take the
    memberships of the nearest explained point along the mesh, up to `fill_distance` metres: surfaces the
    stride-sampled, edge-filtered lifting missed (slanted or thin parts, backs a few centimetres behind a seen
    face). Surfaces seen in no mask are background evidence (`LiftConfig.background_step`), so filling never
    spreads an instance over them. Labels via `instance_label_id` when `vocab` is given (else None).
    """
    from tracklift.eval import PredictedInstance
    from tracklift.io.instances_out import instance_label_id

    masks = instance_masks(instances, points, voxel, radius_voxels, background, faces, fill_distance)
    return [
        PredictedInstance(m, None if vocab is None else instance_label_id(i, vocab), i.score)
        for m, i in zip(masks, instances)
    ]


def snap_to_superpoints(instances: list[Instance3D], masks: np.ndarray, vertices: np.ndarray, faces: np.ndarray | None,
                        config: SnapConfig | None) -> tuple[list[Instance3D], np.ndarray]:
    """Snap vertex masks ([I, V] bool) to the mesh's superpoints (ScanNet's segmentator on `vertices` [V, 3] and
    `faces` [F, 3]); instances that collapse are dropped. A reconstruction differs from every depth map by
    centimetres, so vertex-by-vertex transfer leaves holes and slivers along object borders; a scan's
    annotation is made of the same superpoints (ScanNet labels segments), so a majority vote per superpoint
    restores the borders. Without faces or with `config` None, returns the inputs unchanged."""
    from tracklift.superpoints.segmentator import segment_mesh
    from tracklift.superpoints.snap import snap_masks

    if config is None or faces is None or len(faces) == 0 or len(instances) == 0:
        return instances, masks
    result = snap_masks(masks, segment_mesh(vertices, faces), np.array([i.score for i in instances]), config)
    return [instances[k] for k in result.kept], result.masks


def instance_masks(instances: list[Instance3D], points: np.ndarray, voxel: float, radius_voxels: float = 1.0,
                   background: np.ndarray | None = None, faces: np.ndarray | None = None,
                   fill_distance: float = 0.5) -> np.ndarray:
    """[I, P] bool memberships of `points` (see `predictions`)."""
    from tracklift.track.transfer import complete_on_mesh, observed_points, transfer_to_points

    radius = radius_voxels * voxel
    masks = transfer_to_points(instances, points, radius, background)
    if faces is not None and len(faces) and fill_distance > 0:
        masks = complete_on_mesh(masks, observed_points(instances, points, radius, background), points, faces,
                                 fill_distance)
    return masks
