"""The OpenTrack3D pipeline: `segment(scene, …)` for a whole scene, `Mapper` for a stream fed frame by frame."""

from tracklift.pipeline.mapper import Mapper, PipelineConfig, map_scene
from tracklift.pipeline.segment import Segmentation, segment, write_segmentation

__all__ = ["Mapper", "PipelineConfig", "Segmentation", "map_scene", "segment", "write_segmentation"]
