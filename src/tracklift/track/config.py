"""Every threshold of the visual-spatial tracker, in one place (the reasoning behind each: docs/tuning.md, track)."""

from __future__ import annotations

from tracklift.core.config import config, option

MODES = ("spatial", "visual", "fused")


@config
class TrackerConfig:
    """Association, track life and merging. Defaults work for 2–5 cm voxels on synthetic and ScanNet-like scans."""

    mode: str = option("fused", "association: 3D overlap + feature cosine, 3D only, or features only", choices=MODES)
    coarsen: int = option(2, "overlaps are measured on voxels this many times larger", low=1, high=64)
    spatial_weight: float = option(0.6, "fused score = w · spatial + (1 − w) · visual", low=0.0, high=1.0)
    spatial_balance: float = option(
        0.25, "share of the min-overlap term in the assignment's spatial score", low=0.0, high=1.0
    )
    match_threshold: float = option(0.35, "score a pair needs to match (fused, spatial)", low=0.0, high=1.0)
    min_overlap: float = option(0.2, "spatial score a pair also needs in fused mode", low=0.0, high=1.0)
    visual_threshold: float = option(0.8, "score a pair needs in visual mode", low=0.0, high=1.0)
    gate_margin: float = option(
        0.15, "a segment's box must meet the track's box grown by this, metres", low=0.0, high=100.0
    )
    depth_tolerance: float = option(
        0.08, "a track voxel this far behind the observed depth is still visible, metres", low=0.0, high=100.0
    )
    image_overlap: bool = option(True, "also measure overlap as visible track voxels projected into the mask")
    min_visible: int = option(3, "coarse voxels a track needs in view to be a spatial candidate", low=0)
    min_support: float = option(0.4, "a track voxel stays while hits ≥ this · (hits + misses)", low=0.0, high=1.0)
    exemplars: int = option(4, "feature exemplars kept per track beside the running mean", low=1, high=1024)
    exemplar_novelty: float = option(
        0.9, "a feature becomes an exemplar when its cosine to each is below this", low=-1.0, high=1.0
    )
    merge_every: int = option(10, "frames between merge passes (0 = only when instances are requested)", low=0)
    merge_overlap: float = option(
        0.5, "shared coarse voxels (share of the smaller track) for a merge; > 1: never", low=0.0, high=2.0
    )
    merge_feature: float = option(0.6, "feature cosine a merge also needs", low=-1.0, high=1.0)
    merge_containment: float = option(0.8, "shared share that merges regardless of features", low=0.0, high=2.0)
    min_views: int = option(1, "tracks matched in fewer frames are dropped from the output", low=1)
    min_detection_ratio: float = option(
        0.15, "tracks matched in fewer than this share of frames in view are dropped", low=0.0, high=1.0
    )
    suppress_containment: float = option(
        0.85, "an instance this much inside a better one is suppressed", low=0.0, high=2.0
    )
    trace_every: int = option(1, "record the tracing table on every n-th frame only", low=1)
    trace_budget: int = option(
        1_000_000, "tracing-table entries past which it is folded to one row per (voxel, track)", low=1
    )
