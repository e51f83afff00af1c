"""Consistency refinement from the tracing table: split, merge and re-assign by cross-view agreement.

Read with labels = tracks (the table's segment labels mapped to the track each segment joined). A voxel
*carries* a track when at least `min_views` views gave it that track; another track U *claims* a voxel of
T when U labelled it in at least `claim_ratio` × as many views as T did. How much of T is claimed is counted
in T's views, not its voxels: a voxel T's masks covered in 40 views weighs 40 times one they grazed once, so
the fringe a track's masks bleed onto its neighbours does not decide its fate — and since that fringe only
grows as a stream goes on (every graze adds a carried voxel), counting voxels made long streams lose small
objects to the surfaces they stand on. Then:

* split: a track whose views are mostly claimed (≥ split_cover) by two or more better-observed tracks
  (each claiming ≥ part_cover) was built from masks that fused several objects: it is dissolved and its
  voxels go to those tracks;
* merge: a track whose views are mostly claimed (≥ merge_cover) by one other track with at least as many
  views is the same object (or a part of it): it joins that track;
* assign: every voxel goes to the surviving track that labelled it in the most views (ties: more weight),
  so ambiguous voxels end with their best-supported instance and a mask that bled over a neighbour is cut
  back at voxel level; background evidence (the voxel seen in no mask) competes too, which cuts masks
  that bled onto unsegmented surroundings. A background view counts `background_weight` of a mask's view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix

from tracklift.core.config import config, option
from tracklift.trace.table import LabelPairs, TraceTable, top_labels


@config
class ConsistencyConfig:
    min_views: int = option(1, "views a voxel needs from a track to carry it", low=1)
    claim_ratio: float = option(0.5, "U claims T's voxel with ≥ this × T's views there", low=0.0, high=100.0)
    split_cover: float = option(0.7, "a track claimed this much by several others is split", low=0.0, high=2.0)
    part_cover: float = option(0.2, "... each of them claiming at least this share", low=0.0, high=2.0)
    merge_cover: float = option(0.6, "a track claimed this much by one other joins it", low=0.0, high=2.0)
    background_weight: float = option(0.25, "a background view counts this much of a mask's view", low=0.0, high=100.0)


@dataclass
class Refinement:
    """track_map: [T] int64, each track's surviving track (itself, another, or -1 when dissolved).
    primitive, owner, share: [Q] per voxel, its surviving owner track (T = background) and that owner's
    share of the voxel's views.
    consistency: [T] float32, share of each track's carried voxels that it owns in the end (0 if dissolved).
    """

    track_map: np.ndarray
    primitive: np.ndarray
    owner: np.ndarray
    share: np.ndarray
    consistency: np.ndarray


def claim_matrix(
    pairs: LabelPairs, n_tracks: int, min_views: int, claim_ratio: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Claims between tracks.

    Every voxel a track carries counts with that track's views of it. Returns claims [T, T] float64
    (claims[t, u] = t's views of its carried voxels that u claims), carried [T] float64 (each track's views of
    the voxels it carries) and claimed_any [T] float64 (t's views of its voxels claimed by at least one other
    track).
    """
    keep = pairs.views >= min_views
    prim, label, views = pairs.primitive[keep], pairs.label[keep], pairs.views[keep].astype(np.float64)
    carried = np.bincount(label, weights=views, minlength=n_tracks)
    rows, cols, owner_rows = [], [], []
    n = len(prim)
    d = 1
    # Rows are sorted by primitive: pairs of tracks on one primitive are rows d apart within the group.
    while d < n:
        same = prim[d:] == prim[:-d]
        if not same.any():
            break
        i = np.flatnonzero(same)
        j = i + d
        for t, u in ((i, j), (j, i)):
            ok = views[u] >= claim_ratio * views[t]
            rows.append(label[t[ok]])
            cols.append(label[u[ok]])
            owner_rows.append(t[ok])
        d += 1
    if rows:
        r, c, o = np.concatenate(rows), np.concatenate(cols), np.concatenate(owner_rows)
    else:
        r = c = o = np.zeros(0, np.int64)
    claims = coo_matrix((views[o], (r, c)), shape=(n_tracks, n_tracks)).toarray()
    claimed_rows = np.unique(o)
    claimed_any = np.bincount(label[claimed_rows], weights=views[claimed_rows], minlength=n_tracks)
    return claims, carried, claimed_any


def refine_tracks(
    table: TraceTable,
    segment_track: np.ndarray,
    views: np.ndarray,
    config: ConsistencyConfig | None = None,
    allowed: list[np.ndarray] | None = None,
) -> Refinement:
    """Split, merge and re-assign tracks from the tracing table.

    table: primitive × view → segment id; segment_track: [G] int64, the track index in [0, T) of each
    segment, T for background evidence (voxels seen in no mask), -1 = ignore; views: [T] int, frames per
    track. Background never splits or merges but competes for voxels: a voxel it wins has owner T.
    allowed: optional per track [N_t] int64 sorted voxel keys it may own (e.g. its map's active voxels); a
    surviving track may own the voxels allowed to any track merged into it.
    """
    cfg = config or ConsistencyConfig()
    views = np.asarray(views, np.int64)
    n = len(views)
    segment_track = np.asarray(segment_track, np.int64)
    if len(segment_track) and segment_track.max() > n:
        raise ValueError(f"segment_track names track {segment_track.max()} but only {n} tracks (+ background {n})")
    pairs = table.aggregate(segment_track)
    tracks_only = pairs.label < n
    pairs = LabelPairs(
        pairs.primitive[tracks_only], pairs.label[tracks_only], pairs.weight[tracks_only], pairs.views[tracks_only]
    )
    claims, carried, claimed_any = claim_matrix(pairs, n, cfg.min_views, cfg.claim_ratio)
    with np.errstate(invalid="ignore", divide="ignore"):
        cover = np.where(carried[:, None] > 0, claims / np.maximum(carried[:, None], 1), 0.0)
        any_cover = np.where(carried > 0, claimed_any / np.maximum(carried, 1), 0.0)
    track_map = np.arange(n)
    for t in range(n):
        parts = np.flatnonzero((cover[t] >= cfg.part_cover) & (views >= views[t]))
        parts = parts[parts != t]
        if len(parts) >= 2 and any_cover[t] >= cfg.split_cover:
            track_map[t] = -1
    # Merge small into large. Targets must still be their own root when chosen, so the map stays acyclic
    # and chains (t -> u -> w) can simply be followed afterwards.
    for t in np.argsort(views, kind="stable"):
        if track_map[t] != t:
            continue
        ok = (cover[t] >= cfg.merge_cover) & (views >= views[t]) & (track_map == np.arange(n))
        ok[t] = False
        if ok.any():
            track_map[t] = int(np.flatnonzero(ok)[np.argmax(cover[t][ok])])
    for t in range(n):
        u = track_map[t]
        while u >= 0 and track_map[u] != u:
            u = track_map[u]
        track_map[t] = u
    full_map = np.append(track_map, n)
    final_of_segment = np.where(segment_track >= 0, full_map[np.maximum(segment_track, 0)], -1)
    merged = table.aggregate(final_of_segment)
    if allowed is not None:
        merged = _restrict(merged, track_map, allowed)
    # Background views count `background_weight` each: masks under-cover objects (eroded borders, missed
    # detections), so a voxel seen in no mask is weaker evidence than one seen inside a mask. Measured on the
    # synthetic suite (3 scenes × oracle/mild/hard): 1.0 cost hard agnostic AP 0.44 → 0.35 against 0.25.
    views_weighted = np.where(merged.label >= n, cfg.background_weight, 1.0) * merged.views
    prim, owner, share = top_labels(
        LabelPairs(merged.primitive, merged.label, merged.weight, views_weighted), by="views"
    )
    carried_final = np.bincount(merged.label, minlength=n + 1)[:n]
    owned = np.bincount(owner, minlength=n + 1)[:n]
    consistency = np.where(carried_final > 0, owned / np.maximum(carried_final, 1), 0.0).astype(np.float32)
    return Refinement(track_map, prim, owner, share, consistency)


def _restrict(pairs: LabelPairs, track_map: np.ndarray, allowed: list[np.ndarray]) -> LabelPairs:
    """Keep the (voxel, track) rows whose voxel the track — or a track merged into it — may own; rows of
    labels ≥ len(track_map) (background) are kept."""
    from tracklift.lift.voxels import contains

    n = len(track_map)
    keep = pairs.label >= n
    for u in np.unique(pairs.label[pairs.label < n]):
        rows = np.flatnonzero(pairs.label == u)
        members = [allowed[t] for t in np.flatnonzero(track_map == u)]
        ok = np.zeros(len(rows), bool)
        for keys in members:
            ok |= contains(keys, pairs.primitive[rows])
        keep[rows] = ok
    return LabelPairs(pairs.primitive[keep], pairs.label[keep], pairs.weight[keep], pairs.views[keep])
