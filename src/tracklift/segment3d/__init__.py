"""The weight-free 3D path: fuse the depth stream into a voxel map, remove room planes, segment what is left
(`--segmenter geo3d`)."""

from tracklift.core.lazy import lazy_exports

__all__ = ["Geo3DConfig", "geo3d_config", "segment_scene"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "segment_scene": "tracklift.segment3d.segment",
        "geo3d_config": "tracklift.segment3d.segment",
        "Geo3DConfig": "tracklift.segment3d.segment",
    },
)
