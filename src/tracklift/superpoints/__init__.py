"""Superpoints: ScanNet's mesh segmentator (exactly), point-cloud superpoints, snapping masks to superpoints."""

from tracklift.core.lazy import lazy_exports

__all__ = ["SnapConfig", "segment_mesh", "segment_points", "snap_masks"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "segment_mesh": "tracklift.superpoints.segmentator",
        "segment_points": "tracklift.superpoints.pointcloud",
        "snap_masks": "tracklift.superpoints.snap",
        "SnapConfig": "tracklift.superpoints.snap",
    },
)
