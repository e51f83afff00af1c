"""`segment(scene, …)`: one scene from its frames to 3D instances over the points predictions are written on.

The one sequence behind `tracklift segment`, `tracklift batch`, the benchmarks and the Python API: segment each
frame (or the fused map, for `geo3d`) → lift → track → name → transfer onto the mesh's vertices (or the fused map)
→ snap to the mesh's superpoints. `write_segmentation` writes the result as `tracklift segment` does.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tracklift.core.instance import Instance3D
from tracklift.core.timing import StageTimes
from tracklift.features.protocol import FeatureExtractor
from tracklift.io.atomic import atomic_write_text
from tracklift.outputs.scene_files import predicted_instances, write_scene
from tracklift.outputs.transfer import (
    instance_masks,
    reference_mesh,
    reference_points,
    snap_to_superpoints,
)
from tracklift.pipeline.backends import make_features, make_segmenter
from tracklift.pipeline.checkpoint import Checkpointer
from tracklift.pipeline.mapper import PipelineConfig, map_scene
from tracklift.vocab import Vocabulary, load_vocabulary

# Names instances in place, setting Instance3D.label / label_score (e.g. `tracklift.classify.label.labeller`).
NameInstances = Callable[[object, list[Instance3D]], None]
OnFrame = Callable[..., None]  # (mapper, frame, masks, track_ids), after each mapped frame


@dataclass
class Segmentation:
    """A segmented scene.

    masks: [I, P] bool, instance i holds point p; points: [P, 3] float32, metres, world frame — the mesh's
    vertices (reference "mesh", with faces [F, 3] int64) or the fused instance map (reference "fused", faces None).
    stats: the run's counts (frames, masks, skipped frames, instances, …).
    times: wall seconds per stage (read, segment, lift, features, track, merge, name, transfer).
    """

    scene: str
    instances: list[Instance3D]
    masks: np.ndarray
    points: np.ndarray
    faces: np.ndarray | None
    reference: str
    stats: dict
    times: dict[str, float]

    def predictions(self, vocab: Vocabulary):
        """The instances as `PredictedInstance`s over `points` (label ids in `vocab`)."""
        return predicted_instances(self.instances, self.masks, vocab)


def segment(
    scene,
    segmenter: str | Callable = "rgbd",
    *,
    masks_dir: str | os.PathLike | None = None,
    features: str | FeatureExtractor | None = "handcrafted",
    config: PipelineConfig | None = None,
    name_instances: NameInstances | None = None,
    vocab: Vocabulary | None = None,
    mesh: str | os.PathLike | bool | None = None,
    progress: bool = False,
    on_frame: OnFrame | None = None,
    max_lost: float = 0.5,
    checkpoint: Checkpointer | None = None,
    keep: dict | None = None,
    resume: dict | None = None,
    workers: int = 2,
) -> Segmentation:
    """Segment `scene` (a `tracklift.data.scene.Scene`) into 3D instances.

    segmenter: a spec ('precomputed' with `masks_dir`, 'rgbd[:options]', 'hf:…', 'geo3d[:options]' — 3D
    segmentation of the fused map, where features and the tracker do not apply) or a callable frame → FrameMasks.
    features: a spec ('handcrafted', 'dinov2:<model>', 'none') or an extractor; spatial tracking uses none.
    name_instances: names the instances in place (without it an instance's label is its 2D label-vote majority).
    vocab: the label set prompting open-vocabulary segmenters (default ScanNet200).
    mesh: a mesh PLY to write over; None = the scene's own mesh if it has one; False = the fused map.
    on_frame(mapper, frame, masks, track_ids): called after each mapped frame (history, live views, logs).
    max_lost: the run fails (ValueError, nothing returned) when no frame could be used or more than this share
    of the stream's frames was unreadable or could not be segmented — a wrong layout or masks folder, not a few
    bad frames.
    checkpoint, keep, resume: save the mapping state as it goes / continue from a saved one (see `map_scene`).
    workers: threads reading and segmenting frames ahead of the mapping; the results do not depend on it.
    """
    config = config or PipelineConfig()
    vocab = vocab or load_vocabulary("scannet200")
    times = StageTimes()
    voxel = config.lift.voxel
    spec = segmenter if isinstance(segmenter, str) else None
    # The mesh, its edges, vertex tree and superpoints do not depend on the instances: they are prepared while
    # the frames are mapped, on the core time the mapping leaves idle.
    pool = ThreadPoolExecutor(1, thread_name_prefix="tracklift-mesh")
    mesh_ready = pool.submit(reference_mesh, scene, mesh)
    try:
        if spec is not None and spec.partition(":")[0] == "geo3d":
            if checkpoint is not None or resume is not None:
                raise ValueError("checkpoints apply to the 2D-mask path; geo3d segments the fused map in one pass")
            with times("segment3d"):
                instances, background, stats = _segment_fused_map(scene, spec.partition(":")[2], config, progress)
        else:
            if spec is not None:
                segmenter = make_segmenter(spec, masks_dir, [vocab.name_of(i) for i in vocab.evaluated])
            if config.tracker.mode == "spatial" or isinstance(features, str):
                features = make_features("none" if config.tracker.mode == "spatial" else features)
            mapper = map_scene(
                scene,
                segmenter,
                features,
                config,
                progress=progress,
                on_frame=on_frame,
                checkpoint=checkpoint,
                keep=keep,
                resume=resume,
                workers=workers,
            )
            instances, background, stats = mapper.instances(), mapper.background_points(), asdict(mapper.stats)
            times.add(mapper.times.seconds)
        if name_instances is not None:
            with times("name"):
                name_instances(scene, instances)
        with times("transfer"):
            ref = mesh_ready.result()
            points, faces, reference = reference_points(ref, instances, voxel)
            edges = ref.edges if ref is not None else None
            masks = instance_masks(instances, points, voxel, background=background, faces=faces, edges=edges)
            superpoints = ref.superpoints if ref is not None else None
            instances, masks = snap_to_superpoints(instances, masks, points, faces, config.snap, superpoints)
    finally:
        mesh_ready.cancel()
        pool.shutdown(wait=True)
    stats = {**stats, "frames_unreadable": len(getattr(scene.stream, "skipped", [])), "instances": len(instances)}
    check_frames_used(scene, stats, max_lost)
    return Segmentation(scene.name, instances, masks, points, faces, reference, stats, times.seconds)


def check_frames_used(scene, stats: dict, max_lost: float) -> None:
    """Raise ValueError naming the scene, the counts and the first reasons when the run used no frame, lost
    more than `max_lost` of them (unreadable frames, frames whose masks could not be made), or found no 2D mask
    in any frame (a masks folder named after another scene's frames)."""
    total = len(scene.stream)
    lost = stats["frames_unreadable"] + stats.get("frames_skipped", 0)
    if total == 0 or lost == total or lost > max_lost * total:
        reasons = "; ".join(f"{name}: {why}" for name, why in list(getattr(scene.stream, "skipped", []))[:3])
        raise ValueError(
            f"scene {scene.name}: {lost} of {total} frames could not be used "
            f"({stats['frames_unreadable']} unreadable, {stats.get('frames_skipped', 0)} without masks)"
            + (f", e.g. {reasons}" if reasons else "")
            + "; nothing written"
        )
    if stats.get("masks", 1) == 0:
        raise ValueError(
            f"scene {scene.name}: not one 2D mask in {stats['frames']} frames (are the masks named "
            f"after this scene's frames, e.g. {scene.stream.names[0]!r}.png?); nothing written"
        )


def write_segmentation(
    out_dir: str | os.PathLike, result: Segmentation, vocab: Vocabulary, scene_dir=None, extra: dict | None = None
) -> dict[str, Path]:
    """Write `result` as `tracklift segment` does (see `tracklift.outputs.scene_files.write_scene`), the run's
    statistics in the JSON under "run", and its stage timings beside it in `<scene>_timings.json` (kept apart so
    the same inputs give the same scene files, byte for byte). Returns the written paths by kind."""
    paths = write_scene(
        out_dir,
        result.scene,
        result.instances,
        result.masks,
        result.points,
        vocab,
        scene_dir=scene_dir,
        reference=result.reference,
        faces=result.faces,
        extra={"run": result.stats, **(extra or {})},
    )
    paths["timings"] = Path(out_dir) / f"{result.scene}_timings.json"
    timings = {stage: round(seconds, 3) for stage, seconds in result.times.items()}
    atomic_write_text(paths["timings"], json.dumps({"scene": result.scene, "seconds": timings}, indent=1) + "\n")
    return paths


def _segment_fused_map(scene, options: str, config: PipelineConfig, progress: bool):
    """The 3D path: fuse the depth stream, segment the map. Returns (instances, background [B, 3], stats)."""
    from tracklift.segment3d.segment import geo3d_config, segment_scene

    result = segment_scene(
        scene, geo3d_config(options, voxel=config.lift.voxel, stride=config.lift.stride), progress=progress
    )
    return result.instances, result.background, result.stats
