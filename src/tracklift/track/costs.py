"""Association evidence between the segments of a frame and the tracks: visibility, 3D overlap, features.

All scores are in [0, 1], higher is better; `assign` turns them into one-to-one matches.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix

from tracklift.lift.backproject import project


def visible_counts(centres: np.ndarray, owner: np.ndarray, n_owners: int, depth: np.ndarray, K: np.ndarray,
                   pose: np.ndarray, tolerance: float, min_depth: float = 0.1) -> np.ndarray:
    """How many of each owner's points the camera sees.

    centres: [N, 3] float32 world points (e.g. coarse voxel centres of all tracks); owner: [N] int64 in
    [0, n_owners). A point is visible when it projects inside the image in front of the camera, the depth
    there is valid, and the point is at most `tolerance` metres behind the observed surface.
    depth: [H, W] float32 metres; K: [3, 3]; pose: [4, 4] camera-to-world. Returns [n_owners] int64.
    """
    if len(centres) == 0:
        return np.zeros(n_owners, np.int64)
    h, w = depth.shape
    u, v, z = project(centres, K, pose)
    ok = (z > min_depth) & np.isfinite(u) & np.isfinite(v)
    ui = np.rint(np.where(ok, u, -1)).astype(np.int64)
    vi = np.rint(np.where(ok, v, -1)).astype(np.int64)
    ok &= (ui >= 0) & (ui < w) & (vi >= 0) & (vi < h)
    d = np.zeros(len(z), np.float32)
    d[ok] = depth[vi[ok], ui[ok]]
    ok &= (d > 0) & (z <= d + tolerance)
    return np.bincount(owner[ok], minlength=n_owners)


def overlap_matrix(segment_keys: list[np.ndarray], track_keys: list[np.ndarray]) -> np.ndarray:
    """[S, T] int64: shared keys between each segment and each track (each array sorted unique int64).

    Computed as a product of sparse key-incidence matrices, one pass for all pairs.
    """
    n_s, n_t = len(segment_keys), len(track_keys)
    if n_s == 0 or n_t == 0:
        return np.zeros((n_s, n_t), np.int64)
    sk = np.concatenate(segment_keys)
    tk = np.concatenate(track_keys)
    vocab = np.unique(np.concatenate([sk, tk]))
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


def spatial_scores(overlap: np.ndarray, segment_sizes: np.ndarray, track_visible: np.ndarray, min_visible: int) -> np.ndarray:
    """[S, T] float: max(|S∩T| / |S|, |S∩T| / |T visible|).

    overlap: [S, T] shared voxels; segment_sizes: [S] voxels per segment; track_visible: [T] visible
    voxels per track. The second ratio lets a whole-object view match a track built from partial views; it
    is only used when the track shows at least `min_visible` voxels (a sliver of a track is no evidence).
    """
    overlap = overlap.astype(np.float64)
    by_segment = overlap / np.maximum(segment_sizes, 1)[:, None]
    vis = np.asarray(track_visible, np.float64)
    by_track = np.where(vis[None, :] >= min_visible, overlap / np.maximum(vis, 1)[None, :], 0.0)
    return np.clip(np.maximum(by_segment, by_track), 0.0, 1.0)


def visual_scores(segment_features: np.ndarray, track_banks: list[np.ndarray | None]) -> np.ndarray:
    """[S, T] float in [0, 1]: best cosine (clipped at 0) of each segment feature to a track's feature bank.

    segment_features: [S, D] unit rows; track_banks: per track [k, D] unit rows, or None (score 0).
    """
    out = np.zeros((len(segment_features), len(track_banks)))
    for j, bank in enumerate(track_banks):
        if bank is not None and len(segment_features):
            out[:, j] = (segment_features @ bank.T).max(axis=1)
    return np.clip(out, 0.0, 1.0)


def box_gate(seg_lo: np.ndarray, seg_hi: np.ndarray, trk_lo: np.ndarray, trk_hi: np.ndarray, margin: float) -> np.ndarray:
    """[S, T] bool: segment boxes ([S, 3] lo/hi, metres) intersect track boxes ([T, 3]) grown by `margin`."""
    lo = np.maximum(seg_lo[:, None, :], trk_lo[None, :, :] - margin)
    hi = np.minimum(seg_hi[:, None, :], trk_hi[None, :, :] + margin)
    return (lo <= hi).all(axis=2)


def assign(score: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """One-to-one matches (segment, track) maximising the total score, keeping pairs with score ≥ threshold."""
    if score.size == 0:
        return []
    # Pairs below the threshold get score 0 so they never displace a valid pair, then are dropped.
    s = np.where(score >= threshold, score, 0.0)
    rows, cols = linear_sum_assignment(-s)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if score[r, c] >= threshold]
