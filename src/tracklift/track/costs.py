"""Association evidence between the segments of a frame and the tracks: visibility, 3D overlap, features.

All scores are in [0, 1], higher is better; `assign` turns them into one-to-one matches.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix

from tracklift.lift.projection import project
from tracklift.lift.voxels import unique_keys


def visible_pixels(
    centres: np.ndarray, depth: np.ndarray, K: np.ndarray, pose: np.ndarray, tolerance: float, min_depth: float = 0.1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which world points the camera sees, and where.

    centres: [N, 3] float32 world points. A point is visible when it projects inside the image in front of
    the camera, the depth there is valid, and the point is at most `tolerance` metres behind the observed
    surface. depth: [H, W] float32 metres; K: [3, 3]; pose: [4, 4] camera-to-world.
    Returns (visible [N] bool, row [N] int64, col [N] int64); row/col are only meaningful where visible.
    """
    h, w = depth.shape
    u, v, z = project(centres, K, pose)
    ok = (z > min_depth) & np.isfinite(u) & np.isfinite(v)
    ui = np.rint(np.where(ok, u, -1)).astype(np.int64)
    vi = np.rint(np.where(ok, v, -1)).astype(np.int64)
    ok &= (ui >= 0) & (ui < w) & (vi >= 0) & (vi < h)
    d = np.zeros(len(z), np.float32)
    d[ok] = depth[vi[ok], ui[ok]]
    ok &= (d > 0) & (z <= d + tolerance)
    return ok, vi, ui


def visible_counts(
    centres: np.ndarray,
    owner: np.ndarray,
    n_owners: int,
    depth: np.ndarray,
    K: np.ndarray,
    pose: np.ndarray,
    tolerance: float,
    min_depth: float = 0.1,
) -> np.ndarray:
    """How many of each owner's points the camera sees (see `visible_pixels`).

    centres: [N, 3] float32 world points (e.g. coarse voxel centres of all tracks); owner: [N] int64 in
    [0, n_owners). Returns [n_owners] int64.
    """
    if len(centres) == 0:
        return np.zeros(n_owners, np.int64)
    ok, _, _ = visible_pixels(centres, depth, K, pose, tolerance, min_depth)
    return np.bincount(owner[ok], minlength=n_owners)


def image_coverage(
    masks: np.ndarray, rows: np.ndarray, cols: np.ndarray, owner: np.ndarray, n_owners: int
) -> np.ndarray:
    """[S, T] int64: how many of each track's visible points project into each mask.

    masks: [S, H, W] bool, one per segment, at the depth image's resolution; rows/cols: [P] int64 pixels of
    the visible track points; owner: [P] int64 track index in [0, n_owners). Measured in the image, the
    overlap of a track with a mask does not depend on the depth of either, so it survives the centimetres
    by which a frame's depth, its pose and the map disagree, and a view of mostly new surface still finds
    the track whose seen part it covers.
    """
    out = np.zeros((len(masks), n_owners), np.int64)
    if len(masks) == 0 or len(rows) == 0:
        return out
    inside = masks[:, rows, cols]  # [S, P]
    for s in range(len(masks)):
        out[s] = np.bincount(owner[inside[s]], minlength=n_owners)
    return out


def image_coverage_reference(
    masks: np.ndarray, rows: np.ndarray, cols: np.ndarray, owner: np.ndarray, n_owners: int
) -> np.ndarray:
    """Plain per-point version of `image_coverage` (the tests compare the two)."""
    out = np.zeros((len(masks), n_owners), np.int64)
    for s in range(len(masks)):
        for r, c, o in zip(rows.tolist(), cols.tolist(), owner.tolist()):
            out[s, o] += bool(masks[s, r, c])
    return out


def overlap_matrix(segment_keys: list[np.ndarray], track_keys: list[np.ndarray]) -> np.ndarray:
    """[S, T] int64: shared keys between each segment and each track (each array sorted unique int64).

    Computed as a product of sparse key-incidence matrices, one pass for all pairs.
    """
    n_s, n_t = len(segment_keys), len(track_keys)
    if n_s == 0 or n_t == 0:
        return np.zeros((n_s, n_t), np.int64)
    sk = np.concatenate(segment_keys)
    tk = np.concatenate(track_keys)
    vocab = unique_keys(np.concatenate([sk, tk]))
    srow = np.repeat(np.arange(n_s), [len(k) for k in segment_keys])
    trow = np.repeat(np.arange(n_t), [len(k) for k in track_keys])
    a = csr_matrix((np.ones(len(sk), np.int64), (srow, np.searchsorted(vocab, sk))), shape=(n_s, len(vocab)))
    b = csr_matrix((np.ones(len(tk), np.int64), (trow, np.searchsorted(vocab, tk))), shape=(n_t, len(vocab)))
    return (a @ b.T).toarray()


def overlap_matrix_reference(segment_keys: list[np.ndarray], track_keys: list[np.ndarray]) -> np.ndarray:
    """Plain pairwise version of `overlap_matrix` (the tests compare the two)."""
    out = np.zeros((len(segment_keys), len(track_keys)), np.int64)
    for i, sk in enumerate(segment_keys):
        for j, tk in enumerate(track_keys):
            out[i, j] = len(set(sk.tolist()) & set(tk.tolist()))
    return out


def weighted_overlap(keys: list[np.ndarray], weights: list[np.ndarray]) -> np.ndarray:
    """[T, T] float64: M[a, b] = Σ over keys held by both a and b of min(w_a, w_b); M[a, a] = Σ w_a.

    keys: per set [N_t] int64 unique keys; weights: per set [N_t] non-negative weights (e.g. hit counts).
    M[a, b] / M[b, b] is how much of b lies inside a, counting each voxel as often as both observed it.
    """
    n = len(keys)
    out = np.zeros((n, n))
    if n == 0:
        return out
    k = np.concatenate(keys)
    w = np.concatenate(weights).astype(np.float64)
    owner = np.repeat(np.arange(n), [len(x) for x in keys])
    np.add.at(out, (np.arange(n), np.arange(n)), np.bincount(owner, weights=w, minlength=n))
    order = np.argsort(k, kind="stable")
    k, w, owner = k[order], w[order], owner[order]
    d = 1
    # Entries with one key are adjacent after sorting: pair each with the entries d places further on.
    while d < len(k):
        i = np.flatnonzero(k[d:] == k[:-d])
        if len(i) == 0:
            break
        m = np.minimum(w[i], w[i + d])
        np.add.at(out, (owner[i], owner[i + d]), m)
        np.add.at(out, (owner[i + d], owner[i]), m)
        d += 1
    return out


def weighted_overlap_reference(keys: list[np.ndarray], weights: list[np.ndarray]) -> np.ndarray:
    """Plain dictionary version of `weighted_overlap` (the tests compare the two)."""
    maps = [dict(zip(k.tolist(), np.asarray(w, np.float64).tolist())) for k, w in zip(keys, weights)]
    out = np.zeros((len(maps), len(maps)))
    for a, ma in enumerate(maps):
        for b, mb in enumerate(maps):
            out[a, b] = sum(min(v, mb[key]) for key, v in ma.items() if key in mb)
    return out


def spatial_scores(
    overlap: np.ndarray,
    segment_sizes: np.ndarray,
    track_visible: np.ndarray,
    min_visible: int,
    balance: float = 0.0,
    image_overlap: np.ndarray | None = None,
) -> np.ndarray:
    """[S, T] float: (1 − balance) · max(r_s, r_t) + balance · min(r_s, r_t), with r_s = |S∩T| / |S| and
    r_t = max(|S∩T|, C) / |T visible|, C = the track's visible voxels that project into the segment's mask.

    overlap: [S, T] shared voxels; segment_sizes: [S] voxels per segment; track_visible: [T] visible
    voxels per track; image_overlap: [S, T] C (`image_coverage`), or None to measure in 3D only. The max lets a
    partial view match a big track and a whole-object view match a track
    built from partial views; the `balance` share of the min prefers, among tracks that contain a segment,
    the one that the segment explains best (a cushion's mask goes to the cushion, not to the couch whose map
    swallowed the cushion through a few merged masks). r_t is only used when the track shows at least
    `min_visible` voxels (a sliver of a track is no evidence).
    """
    overlap = overlap.astype(np.float64)
    by_segment = overlap / np.maximum(segment_sizes, 1)[:, None]
    vis = np.asarray(track_visible, np.float64)
    seen = overlap if image_overlap is None else np.maximum(overlap, image_overlap)
    by_track = np.where(vis[None, :] >= min_visible, seen / np.maximum(vis, 1)[None, :], 0.0)
    hi, lo = np.maximum(by_segment, by_track), np.minimum(by_segment, by_track)
    return np.clip((1.0 - balance) * hi + balance * lo, 0.0, 1.0)


def visual_scores(segment_features: np.ndarray, track_banks: list[np.ndarray | None]) -> np.ndarray:
    """[S, T] float in [0, 1]: best cosine (clipped at 0) of each segment feature to a track's feature bank.

    segment_features: [S, D] unit rows; track_banks: per track [k, D] unit rows, or None (score 0).
    """
    out = np.zeros((len(segment_features), len(track_banks)))
    for j, bank in enumerate(track_banks):
        if bank is not None and len(segment_features):
            out[:, j] = (segment_features @ bank.T).max(axis=1)
    return np.clip(out, 0.0, 1.0)


def box_gate(
    seg_lo: np.ndarray, seg_hi: np.ndarray, trk_lo: np.ndarray, trk_hi: np.ndarray, margin: float
) -> np.ndarray:
    """[S, T] bool: segment boxes ([S, 3] lo/hi, metres) intersect track boxes ([T, 3]) grown by `margin`."""
    lo = np.maximum(seg_lo[:, None, :], trk_lo[None, :, :] - margin)
    hi = np.minimum(seg_hi[:, None, :], trk_hi[None, :, :] + margin)
    return (lo <= hi).all(axis=2)


def assign(score: np.ndarray, eligible: np.ndarray) -> list[tuple[int, int]]:
    """One-to-one matches (segment, track) among `eligible` pairs ([S, T] bool): as many as possible, and
    among those the largest total `score` ([S, T] in [0, 1])."""
    if score.size == 0:
        return []
    # Each eligible pair is worth 1 + score, so no score trade can cost a match; ineligible pairs are 0.
    s = np.where(eligible, 1.0 + score, 0.0)
    rows, cols = linear_sum_assignment(-s)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if eligible[r, c]]
