"""The online visual-spatial tracker (OpenTrack3D): associate each frame's 3D segments with object tracks.

Per frame: find which tracks are in view (their coarse voxels projected with a depth test), score every
(segment, track) pair by 3D overlap and feature similarity (TrackerConfig.mode), match one-to-one with the
Hungarian algorithm, grow matched tracks, start new tracks from unmatched segments, count misses for track
voxels the frame saw under other labels (so what a bad mask added fades out), and every few frames merge
tracks that turned out to be one object. Tracks out of view simply wait (dormant) and are matched again by
overlap when they re-enter the view. Every segment is also recorded in a tracing table (voxel × frame →
segment id) that consistency refinement reads later. Every reader of that table maps a segment through its
track, and tracks only merge, so past `TrackerConfig.trace_budget` entries the table is folded to one row per
(voxel, track) (`TraceTable.fold`; what stays exact is documented there): memory stays bounded by the map, not
the stream's length.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from tracklift.lift.lifter import Segment
from tracklift.lift.voxels import key_centres, unique_keys, unpack_keys
from tracklift.trace.table import TraceTable
from tracklift.track.config import TrackerConfig
from tracklift.track.costs import (
    assign,
    box_gate,
    image_coverage,
    overlap_matrix,
    spatial_scores,
    visible_pixels,
    visual_scores,
    weighted_overlap,
)
from tracklift.track.state import FeatureMemory, Track
from tracklift.track.voxelmap import VoxelMap, coarsen_keys

log = logging.getLogger(__name__)

# Segment id 0 of the tracing table is reserved for background evidence (voxels seen next to masks but in
# none); it belongs to no track.
BACKGROUND = 0


@dataclass
class _Visible:
    """The tracks' coarse voxels a frame sees: counts [T] per track, and per visible voxel its track index
    (owner [P]) and pixel (rows, cols [P])."""

    counts: np.ndarray
    owner: np.ndarray
    rows: np.ndarray
    cols: np.ndarray


def segment_box(keys: np.ndarray, voxel: float) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned box ([3] lo, [3] hi, metres) of the voxels `keys`."""
    c = unpack_keys(keys)
    return (c.min(0) * voxel).astype(np.float32), ((c.max(0) + 1) * voxel).astype(np.float32)


class Tracker:
    """Online tracker. `step` once per frame; `tracks` holds the live tracks by id.

    voxel: the voxel size (metres) of the segments' keys. trace: record the tracing table.
    """

    def __init__(self, config: TrackerConfig, voxel: float, trace: bool = True) -> None:
        self.config = config
        self.voxel = voxel
        self.tracks: dict[int, Track] = {}
        self.table = TraceTable() if trace else None
        # global segment id -> track id (followed through merges); -1 for BACKGROUND
        self._segment_track = np.full(1024, -1, np.int64)
        self._n_segments = BACKGROUND + 1
        self._next_id = 0
        self.frames_seen = 0
        # Fold when the table grows past this: the budget, or twice the last fold's size if that is larger, so a
        # map whose (voxel, track) pairs alone approach the budget is not folded again every frame.
        self._fold_at = config.trace_budget

    @property
    def segment_track(self) -> np.ndarray:
        """[G] int64: the track each recorded segment belongs to now."""
        return self._segment_track[: self._n_segments]

    # -- association -------------------------------------------------------------------------------

    def _visible(self, ids: list[int], depth: np.ndarray, K: np.ndarray, pose: np.ndarray) -> _Visible:
        if not ids:
            return _Visible(np.zeros(0, np.int64), *(np.zeros(0, np.int64),) * 3)
        coarse = [self.tracks[i].voxels.coarse for i in ids]
        centres = key_centres(np.concatenate(coarse), self.voxel * self.config.coarsen)
        owner = np.repeat(np.arange(len(ids)), [len(c) for c in coarse])
        ok, rows, cols = visible_pixels(centres, depth, K, pose, self.config.depth_tolerance)
        return _Visible(np.bincount(owner[ok], minlength=len(ids)), owner[ok], rows[ok], cols[ok])

    def _scores(
        self,
        segs: list[Segment],
        coarse: list[np.ndarray],
        boxes,
        features,
        ids: list[int],
        seen: _Visible,
        masks: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """[S, T] association score (what the assignment maximises) and [S, T] bool eligibility (the pair's
        score without the spatial balance tie-breaker reaches the mode's threshold)."""
        cfg = self.config
        n_s, n_t = len(segs), len(ids)
        visible = seen.counts
        if cfg.mode == "visual":
            visual = visual_scores(features, [self.tracks[i].features.bank() for i in ids])
            return visual, visual >= cfg.visual_threshold
        in_view = visible >= cfg.min_visible
        seg_lo = np.stack([b[0] for b in boxes])
        seg_hi = np.stack([b[1] for b in boxes])
        trk_lo = np.stack([self.tracks[i].lo for i in ids])
        trk_hi = np.stack([self.tracks[i].hi for i in ids])
        gate = box_gate(seg_lo, seg_hi, trk_lo, trk_hi, cfg.gate_margin) & in_view[None, :]
        cand = np.flatnonzero(gate.any(axis=0))
        spatial = np.zeros((n_s, n_t))  # max(r_s, r_t): decides eligibility
        ranked = np.zeros((n_s, n_t))  # with the balance tie-breaker: decides among eligible tracks
        if len(cand):
            overlap = overlap_matrix(coarse, [self.tracks[ids[j]].voxels.coarse for j in cand])
            sizes = np.array([len(c) for c in coarse])
            image = None
            if cfg.image_overlap and masks is not None:
                image = image_coverage(masks, seen.rows, seen.cols, seen.owner, n_t)[:, cand]
            spatial[:, cand] = spatial_scores(overlap, sizes, visible[cand], cfg.min_visible, image_overlap=image)
            ranked[:, cand] = spatial_scores(overlap, sizes, visible[cand], cfg.min_visible, cfg.spatial_balance, image)
        spatial, ranked = np.where(gate, spatial, 0.0), np.where(gate, ranked, 0.0)
        if cfg.mode == "spatial" or features is None:
            return ranked, spatial >= cfg.match_threshold
        banks = [self.tracks[ids[j]].features.bank() if gate[:, j].any() else None for j in range(n_t)]
        visual = visual_scores(features, banks)
        has_bank = np.array([b is not None for b in banks])[None, :]
        w = cfg.spatial_weight
        fused = np.where(has_bank, w * spatial + (1 - w) * visual, spatial)
        fused_ranked = np.where(has_bank, w * ranked + (1 - w) * visual, ranked)
        return fused_ranked, (fused >= cfg.match_threshold) & (spatial >= cfg.min_overlap)

    def step(
        self,
        frame_index: int,
        depth: np.ndarray,
        K: np.ndarray,
        pose: np.ndarray,
        segments: list[Segment],
        features: np.ndarray | None = None,
        background: tuple[np.ndarray, np.ndarray] | None = None,
        masks: np.ndarray | None = None,
    ) -> list[int]:
        """Associate one frame's segments; returns the track id given to each segment.

        depth: [H, W] float32 metres; K: [3, 3]; pose: [4, 4] c2w (for visibility).
        features: [S, D] float32 unit rows, one per segment, or None (spatial association only).
        background: (keys [B] int64, weights [B]) voxels seen in no mask next to masks, recorded in the
        tracing table as BACKGROUND for consistency refinement.
        masks: [S, H, W] bool, each segment's 2D mask at the depth resolution, for the image-space overlap
        (TrackerConfig.image_overlap); None measures overlaps in 3D only.
        Every track in view also gets a miss for its voxels that this frame saw under another mask or as
        background (VoxelMap.update), so voxels a bad mask once added fade out.
        """
        cfg = self.config
        if features is not None:
            features = np.asarray(features, np.float32)
            if features.ndim != 2 or len(features) != len(segments):
                raise ValueError(f"features must be [{len(segments)}, D], got {features.shape}")
        if cfg.mode == "visual" and features is None and segments:
            raise ValueError("TrackerConfig.mode='visual' needs a feature extractor")
        use_features = features if cfg.mode != "spatial" else None
        self.frames_seen += 1
        ids = list(self.tracks)
        # Visibility also counts frames a track was in view but unmatched (detection ratio), in every mode.
        seen_tracks = self._visible(ids, depth, K, pose)
        visible = seen_tracks.counts
        if masks is not None and masks.shape != (len(segments), *depth.shape):
            raise ValueError(f"masks must be [{len(segments)}, {depth.shape[0]}, {depth.shape[1]}], got {masks.shape}")
        for j in np.flatnonzero(visible >= cfg.min_visible):
            self.tracks[ids[j]].visible_frames += 1
        coarse = [coarsen_keys(s.keys, cfg.coarsen) for s in segments]
        boxes = [segment_box(s.keys, self.voxel) for s in segments]
        matches: list[tuple[int, int]] = []
        if segments and ids:
            score, eligible = self._scores(segments, coarse, boxes, use_features, ids, seen_tracks, masks)
            matches = assign(score, eligible)
        assigned = [-1] * len(segments)
        for i, j in matches:
            assigned[i] = ids[j]
        seen = [s.keys for s in segments] + ([np.asarray(background[0], np.int64)] if background is not None else [])
        seen_keys = unique_keys(np.concatenate(seen)) if seen else np.zeros(0, np.int64)
        matched = set(assigned)
        for j in np.flatnonzero(visible >= cfg.min_visible):
            if ids[j] not in matched:
                self.tracks[ids[j]].voxels.update(observed_elsewhere=seen_keys)
        for i, seg in enumerate(segments):
            if assigned[i] < 0:
                voxels = VoxelMap(cfg.coarsen, cfg.min_support)
                track = Track(self._next_id, voxels, FeatureMemory(cfg.exemplars, cfg.exemplar_novelty))
                # A new track was in view in the frame that created it.
                track.visible_frames = 1
                self.tracks[track.id] = track
                self._next_id += 1
                assigned[i] = track.id
            sid = self._record(frame_index, seg, assigned[i])
            f = use_features[i] if use_features is not None else None
            self.tracks[assigned[i]].observe(
                frame_index, sid, seg.keys, seg.weights, coarse[i], seen_keys, *boxes[i], seg.label, seg.score, f
            )
        if background is not None and self._tracing(frame_index) and len(background[0]):
            self.table.append(frame_index, background[0], BACKGROUND, background[1])
        if cfg.merge_every and self.frames_seen % cfg.merge_every == 0:
            self.merge()
        if self.table is not None and len(self.table) > self._fold_at:
            self.fold_table()
        return assigned

    def _record(self, frame_index: int, seg: Segment, track_id: int) -> int:
        sid = self._n_segments
        if sid >= len(self._segment_track):
            self._segment_track = np.concatenate([self._segment_track, np.full_like(self._segment_track, -1)])
        self._segment_track[sid] = track_id
        self._n_segments += 1
        if self._tracing(frame_index):
            self.table.append(frame_index, seg.keys, sid, seg.weights)
        return sid

    def fold_table(self) -> None:
        """Fold the tracing table to one row per (voxel, track): each segment maps to its track's first
        segment (BACKGROUND to itself), so every later segment -> track map factors through the fold."""
        st = self.segment_track
        tracked = np.flatnonzero(st >= 0)
        first = np.full(self._next_id, len(st), np.int64)
        np.minimum.at(first, st[tracked], tracked)
        representative = np.arange(len(st))
        representative[tracked] = first[st[tracked]]
        before = len(self.table)
        self.table.fold(representative)
        self._fold_at = max(self.config.trace_budget, 2 * len(self.table))
        log.debug("folded the tracing table from %d to %d entries", before, len(self.table))

    def _tracing(self, frame_index: int) -> bool:
        return self.table is not None and frame_index % self.config.trace_every == 0

    # -- track management --------------------------------------------------------------------------

    def absorb(self, keep: int, gone: int) -> None:
        """Merge track `gone` into track `keep`."""
        other = self.tracks.pop(gone)
        self.tracks[keep].absorb(other)
        self._segment_track[np.asarray(other.segments, np.int64)] = keep

    def merge(self) -> int:
        """Merge tracks of one object. Containment of track b in track a is measured on coarse voxels (of
        active voxels) weighted by hits — Σ min(hits_a, hits_b) / Σ hits_b — so a neighbour whose voxels a
        swallowed only through a few under-segmented masks is not "contained". Tracks merge when the larger
        containment reaches
        merge_overlap and their features agree (cosine ≥ merge_feature, or either has no feature), or
        reaches merge_containment regardless. Tracks that were matched by two distinct masks of one frame are two
        objects (a book lying on a table shares the table's coarse voxels) unless their *fine* active voxels
        overlap as much (`fine_containment` ≥ merge_overlap: a mask split in two, whose pieces other frames saw
        whole). Returns the number of merges."""
        cfg = self.config
        ids = list(self.tracks)
        if len(ids) < 2:
            return 0
        maps = [self.tracks[i].voxels for i in ids]
        shared = weighted_overlap([m.coarse for m in maps], [m.coarse_hits() for m in maps])
        size = np.diag(shared).copy()
        contained = shared / np.maximum(size[None, :], 1e-9)  # [a, b]: share of b inside a
        share = np.maximum(contained, contained.T)
        np.fill_diagonal(share, 0.0)
        a, b = np.nonzero(np.triu(share >= cfg.merge_overlap, k=1))
        if len(a) == 0:
            return 0
        use_features = cfg.mode != "spatial"
        parent = list(range(len(ids)))

        def root(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        merges = 0
        for k in np.argsort(-share[a, b], kind="stable"):
            i, j = int(a[k]), int(b[k])
            ri, rj = root(i), root(j)
            if ri == rj:
                continue
            ti, tj = self.tracks[ids[ri]], self.tracks[ids[rj]]
            if _co_observed(ti, tj) and fine_containment(ti.voxels, tj.voxels) < cfg.merge_overlap:
                continue
            ok = share[i, j] >= cfg.merge_containment
            if not ok:
                fi, fj = self.tracks[ids[ri]].features.mean, self.tracks[ids[rj]].features.mean
                ok = not use_features or fi is None or fj is None or float(fi @ fj) >= cfg.merge_feature
            if ok:
                # The track with more views survives, so ids stay stable for well-observed objects.
                keep, gone = (ri, rj) if self.tracks[ids[ri]].views >= self.tracks[ids[rj]].views else (rj, ri)
                parent[gone] = keep
                self.absorb(ids[keep], ids[gone])
                merges += 1
        if merges:
            log.debug("merged %d track pairs, %d tracks left", merges, len(self.tracks))
        return merges


def _co_observed(a: Track, b: Track) -> bool:
    """Whether some frame assigned distinct masks to `a` and `b` (frames lists are sorted)."""
    return bool(np.intersect1d(a.frames, b.frames, assume_unique=True).size)


def fine_containment(a: VoxelMap, b: VoxelMap) -> float:
    """The larger of the shares of a inside b and of b inside a, on active voxels of the maps' own size,
    weighted by hits: Σ over shared voxels of min(hits_a, hits_b) / Σ hits of the contained one."""
    ka, kb = a.keys[a.active], b.keys[b.active]
    ha, hb = a.hits[a.active], b.hits[b.active]
    _, ia, ib = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    shared = float(np.minimum(ha[ia], hb[ib]).sum())
    return shared / max(min(float(ha.sum()), float(hb.sum())), 1e-9)
