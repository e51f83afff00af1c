"""The OpenTrack3D method variants as benchmark methods: `method(scene, masks_dir) -> list[PredictedInstance]`.

Every variant reads the precomputed 2D masks, predicts over the scene's mesh vertices (`segment_onto_mesh`,
shared with the open-vocabulary suite) and labels instances by their 2D label votes (ScanNet200 names).
Visual and fused association use the weight-free handcrafted features, so no model weights are needed.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

from tracklift.eval.prediction import PredictedInstance
from tracklift.io.instances_out import instance_label_id
from tracklift.pipeline import (PipelineConfig, instance_masks, make_features, make_segmenter, map_scene,
                                reference_points, snap_to_superpoints)
from tracklift.track.config import TrackerConfig
from tracklift.vocab import load_vocabulary


def segment_onto_mesh(scene, masks_dir: str | Path, config: PipelineConfig):
    """Map `scene` (a tracklift.data.scene.Scene with a mesh) from the masks in `masks_dir` and transfer the
    instances onto the mesh vertices (unseen vertices filled along the mesh, background points competing).

    Returns (instances, masks [I, V] bool over the mesh vertices).
    """
    if scene.mesh_path is None:
        raise FileNotFoundError(f"scene {scene.name!r} has no mesh: benchmark methods predict over mesh vertices")
    features = None if config.tracker.mode == "spatial" else make_features("handcrafted")
    mapper = map_scene(scene, make_segmenter("precomputed", masks_dir), features, config, progress=False)
    instances = mapper.instances()
    voxel = config.lift.voxel
    points, faces, _ = reference_points(scene, None, instances, voxel)
    masks = instance_masks(instances, points, voxel, background=mapper.background_points(), faces=faces)
    return snap_to_superpoints(instances, masks, points, faces, config.snap)


def track_method(scene, masks_dir: str | Path, mode: str = "fused", refine: bool = True,
                 config: PipelineConfig | None = None) -> list[PredictedInstance]:
    """The tracker variant `mode` (+ consistency refinement) as a benchmark method over mesh vertices."""
    config = config or PipelineConfig(tracker=TrackerConfig(mode=mode))
    if not refine:
        config = dataclasses.replace(config, refine=None)
    instances, masks = segment_onto_mesh(scene, masks_dir, config)
    vocab = load_vocabulary("scannet200")
    return [PredictedInstance(m, instance_label_id(i, vocab), i.score) for m, i in zip(masks, instances)]


tracker_spatial = partial(track_method, mode="spatial", refine=False)
tracker_visual = partial(track_method, mode="visual", refine=False)
tracker_fused = partial(track_method, mode="fused", refine=False)
tracker_fused_refined = partial(track_method, mode="fused", refine=True)
