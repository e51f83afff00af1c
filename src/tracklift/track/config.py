"""Every threshold of the visual-spatial tracker, in one place."""

from __future__ import annotations

from dataclasses import dataclass

MODES = ("spatial", "visual", "fused")


@dataclass
class TrackerConfig:
    """Association, track life and merging. Defaults work for 2–5 cm voxels on synthetic and ScanNet-like scans.

    mode: "fused" (3D overlap + feature cosine), "spatial" (3D overlap only) or "visual" (feature cosine only,
        every track a candidate: the ablation without geometry).
    coarsen: overlaps and visibility are measured on voxels `coarsen` times larger than the map's, so depth
        noise of a voxel or two still overlaps.
    spatial_weight: in fused mode, score = spatial_weight · spatial + (1 − spatial_weight) · visual, where
        spatial = max(|S∩T| / |S|, |S∩T| / |T visible|) (a partial view of a big object still scores 1) and
        visual = max(0, cosine) of the mask feature to the track's feature memory.
    spatial_balance: the share of min(|S∩T| / |S|, |S∩T| / |T visible|) mixed into the spatial score the
        assignment maximises, so among eligible tracks containing a segment the one it explains best wins
        (see costs.spatial_scores); eligibility itself uses the unmixed score.
    match_threshold: a pair is matched only when its score reaches this (fused and spatial modes).
    min_overlap: fused mode also needs this spatial score, so look-alikes elsewhere are never matched. The
        handcrafted features' cosines are high for most pairs, so in fused mode this, not match_threshold, is
        the effective bar: 0.2 keeps merged and spurious masks of hard presets out of neighbouring tracks.
    visual_threshold: the score a pair needs in visual mode.
    gate_margin: metres; a segment's box must intersect the track's box grown by this (not in visual mode).
    depth_tolerance: metres; a track voxel is visible when it projects inside the frame, in front of the
        camera, and at most this far behind the observed depth there.
    image_overlap: a track's overlap with a segment is also measured in the image: its visible coarse voxels
        projected into the segment's 2D mask (costs.image_coverage). On real scans a frame's depth, its
        pose and the map disagree by centimetres, and a new view of a big object is mostly new surface;
        both leave little 3D overlap with the track while the projection still falls inside the mask.
    min_visible: coarse voxels that must be visible for a track to count as in view (spatial candidates).
    min_support: a track voxel stays in the track while hits ≥ min_support · (hits + misses), where a miss is
        a frame that saw the voxel under another mask or as background while the track was in view.
    exemplars: feature exemplars kept per track beside the running mean; a new feature becomes an exemplar
        when its cosine to every kept one is below `exemplar_novelty` (the oldest is dropped when full).
    merge_every: frames between merge passes (0 = only when instances are requested).
    merge_overlap: two tracks merge when their shared coarse voxels are ≥ this share of the smaller one and
        their features agree (cosine ≥ merge_feature, or either has no feature) ...
    merge_containment: ... or unconditionally when the share reaches this.
    min_views: tracks matched in fewer frames are dropped from the output. 1 keeps objects seen in a single
        frame (small or far objects often are); their score is low (instance_score), and ghosts of a bad mask
        are caught by min_detection_ratio and consistency instead.
    min_detection_ratio: tracks matched in fewer than this share of the frames where they were in view are
        dropped from the output (ghosts of a single bad mask).
    suppress_containment: in the output, an instance whose points lie ≥ this share inside a higher-scored
        instance is a duplicate and suppressed.
    trace_every: record the tracing table on every n-th frame only. The table is the one structure that
        grows with the stream (≈ 20 bytes per voxel of each mask and of the background ring, ~0.2 MB per
        640×480 frame with 20 masks at 3 cm voxels); raising this bounds it for very long scans at the cost
        of weaker consistency statistics.
    """

    mode: str = "fused"
    coarsen: int = 2
    spatial_weight: float = 0.6
    spatial_balance: float = 0.25
    match_threshold: float = 0.35
    min_overlap: float = 0.2
    visual_threshold: float = 0.8
    gate_margin: float = 0.15
    depth_tolerance: float = 0.08
    image_overlap: bool = True
    min_visible: int = 3
    min_support: float = 0.4
    exemplars: int = 4
    exemplar_novelty: float = 0.9
    merge_every: int = 10
    merge_overlap: float = 0.5
    merge_feature: float = 0.6
    merge_containment: float = 0.8
    min_views: int = 1
    min_detection_ratio: float = 0.15
    suppress_containment: float = 0.85
    trace_every: int = 1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"TrackerConfig.mode must be one of {MODES}, got {self.mode!r}")
        if self.coarsen < 1 or self.exemplars < 1 or self.min_views < 1 or self.trace_every < 1:
            raise ValueError(f"invalid TrackerConfig: {self}")
        if not 0.0 <= self.spatial_weight <= 1.0:
            raise ValueError(f"spatial_weight must be in [0, 1], got {self.spatial_weight}")
