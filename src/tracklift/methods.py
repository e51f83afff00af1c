"""The OpenTrack3D method variants as benchmark methods: `method(scene, masks_dir) -> list[PredictedInstance]`.

Every variant reads the precomputed 2D masks, predicts over the scene's mesh vertices (unseen vertices filled
along the mesh, `pipeline.predictions`) and labels instances by their 2D label votes (scannet200 names). Visual and fused association use the weight-free handcrafted
features, so no model weights are needed.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from tracklift.eval.prediction import PredictedInstance
from tracklift.pipeline import PipelineConfig, make_features, make_segmenter, map_scene, predictions, reference_points
from tracklift.track.config import TrackerConfig
from tracklift.vocab import load_vocabulary


def track_method(scene, masks_dir: str | Path, mode: str = "fused", refine: bool = True,
                 config: PipelineConfig | None = None) -> list[PredictedInstance]:
    """Segment `scene` (a tracklift.data.scene.Scene with a mesh) from the masks in `masks_dir`."""
    if scene.mesh_path is None:
        raise FileNotFoundError(f"scene {scene.name!r} has no mesh: benchmark methods predict over mesh vertices")
    config = config or PipelineConfig(tracker=TrackerConfig(mode=mode))
    if not refine:
        config.refine = None
    features = None if config.tracker.mode == "spatial" else make_features("handcrafted")
    mapper = map_scene(scene, make_segmenter("precomputed", masks_dir), features, config, progress=False)
    instances = mapper.instances()
    voxel = config.lift.voxel
    points, faces, _ = reference_points(scene, None, instances, voxel)
    return predictions(instances, points, voxel, load_vocabulary("scannet200"),
                       background=mapper.background_points(), faces=faces)


tracker_spatial = partial(track_method, mode="spatial", refine=False)
tracker_visual = partial(track_method, mode="visual", refine=False)
tracker_fused = partial(track_method, mode="fused", refine=False)
tracker_fused_refined = partial(track_method, mode="fused", refine=True)
