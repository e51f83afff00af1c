"""From the tracker's state to `Instance3D`s: drop weak tracks, refine by consistency, score, de-duplicate.

Reading never changes the tracker, so instances can be asked for at any time during a scan.

Score (in [0, 1], comparable across scenes because every factor is a scene-independent rate):
    score = (1 − exp(−views / 3)) · mean mask score · (0.5 + 0.5 · consistency) · (0.5 + 0.5 · detection)
views: frames that assigned a mask to the instance; consistency: share of its voxels for which it is the
best-supported instance in the tracing table; detection: views / frames in which it was in view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracklift.core.instance import Instance3D
from tracklift.lift.voxels import contains, key_centres
from tracklift.trace.consistency import ConsistencyConfig, refine_tracks
from tracklift.trace.table import top_labels
from tracklift.track.costs import overlap_matrix
from tracklift.track.tracker import BACKGROUND, Tracker


@dataclass
class _Draft:
    keys: np.ndarray
    members: list[int]  # indices into the kept tracks
    consistency: float


def instance_score(views: int, mean_mask_score: float, consistency: float, detection: float) -> float:
    """The documented proposal score (module docstring)."""
    return float(
        (1.0 - np.exp(-views / 3.0)) * mean_mask_score * (0.5 + 0.5 * consistency) * (0.5 + 0.5 * min(detection, 1.0))
    )


def build_instances(tracker: Tracker, refine: ConsistencyConfig | None = None) -> list[Instance3D]:
    """Instances of the tracker's current tracks; `refine` runs consistency refinement (needs the table)."""
    cfg = tracker.config
    tracks = [
        t
        for t in tracker.tracks.values()
        if t.views >= cfg.min_views and t.views >= cfg.min_detection_ratio * max(t.visible_frames, 1)
    ]
    if not tracks:
        return []
    index_of = {t.id: k for k, t in enumerate(tracks)}
    drafts = _drafts(tracker, tracks, index_of, refine)
    instances = []
    for d in drafts:
        members = [tracks[m] for m in d.members]
        frames = sorted({f for t in members for f in t.frames})
        votes: dict[str, float] = {}
        for t in members:
            for label, v in t.label_votes.items():
                votes[label] = votes.get(label, 0.0) + v
        n_segments = sum(len(t.segments) for t in members)
        mean_mask = sum(t.score_sum for t in members) / max(n_segments, 1)
        detection = len(frames) / max(max(t.visible_frames for t in members), 1)
        score = instance_score(len(frames), mean_mask, d.consistency, detection)
        instances.append((score, d.keys, votes, frames, members[0].id))
    instances.sort(key=lambda x: -x[0])
    keep = _suppress([x[1] for x in instances], cfg.suppress_containment)
    return [
        Instance3D(id=tid, points=key_centres(keys, tracker.voxel), label_votes=votes, frames=frames, score=score)
        for (score, keys, votes, frames, tid), k in zip(instances, keep)
        if k
    ]


def _drafts(tracker: Tracker, tracks, index_of: dict[int, int], refine: ConsistencyConfig | None) -> list[_Draft]:
    n = len(tracks)
    if tracker.table is None or len(tracker.table) == 0:
        return [_Draft(t.voxels.keys[t.voxels.active], [k], 1.0) for k, t in enumerate(tracks)]
    lookup = np.full(max(tracker.tracks) + 1, -1, np.int64)
    for tid, k in index_of.items():
        lookup[tid] = k
    st = tracker.segment_track
    segment_index = np.where(st >= 0, lookup[np.maximum(st, 0)], -1)
    segment_index[BACKGROUND] = n
    views = np.array([t.views for t in tracks])
    if refine is None:
        pairs = tracker.table.aggregate(segment_index)
        _, owner, _ = top_labels(pairs, by="views")
        owned = np.bincount(owner, minlength=n + 1)
        carried = np.bincount(pairs.label, minlength=n + 1)
        return [
            _Draft(t.voxels.keys[t.voxels.active], [k], float(owned[k] / max(carried[k], 1)))
            for k, t in enumerate(tracks)
        ]
    active = [t.voxels.keys[t.voxels.active] for t in tracks]
    r = refine_tracks(tracker.table, segment_index, views, refine, active)
    own = {
        k: np.unique(np.concatenate([active[m] for m in np.flatnonzero(r.track_map == k)]))
        for k in range(n)
        if r.track_map[k] == k
    }
    # Voxels active in two or more surviving tracks are contested: they go to the owner the tracing table
    # picks. A voxel only one track holds stays with it (its map already weighed hits and misses) unless the
    # table saw it as background more often than as anything else.
    everything, count = np.unique(np.concatenate(list(own.values()) or [np.zeros(0, np.int64)]), return_counts=True)
    contested = np.union1d(everything[count >= 2], r.primitive[r.owner == n])
    drafts = []
    for k, keys in own.items():
        won = r.primitive[r.owner == k]
        keys = np.union1d(keys[~contains(contested, keys)], won[contains(contested, won)])
        if len(keys):
            drafts.append(_Draft(keys, list(np.flatnonzero(r.track_map == k)), float(r.consistency[k])))
    return drafts


def _suppress(keys: list[np.ndarray], containment: float) -> list[bool]:
    """Greedy in the given (score) order: drop an instance lying ≥ `containment` inside a kept one."""
    if not keys:
        return []
    shared = overlap_matrix(keys, keys)
    size = np.diag(shared).astype(np.float64)
    keep = [True] * len(keys)
    for i in range(len(keys)):
        for j in range(i):
            if keep[j] and shared[i, j] >= containment * size[i]:
                keep[i] = False
                break
    return keep


def background_points(tracker: Tracker) -> np.ndarray:
    """[B, 3] float32 voxel centres that the tracing table shows as background more often than as any track
    (metres, world frame): they let transfer keep a vertex beside an object out of it."""
    if tracker.table is None or len(tracker.table) == 0:
        return np.zeros((0, 3), np.float32)
    st = tracker.segment_track
    label = np.where(st >= 0, 0, 1)  # every track is 0, background 1
    label[BACKGROUND] = 1
    prim, owner, _ = top_labels(tracker.table.aggregate(label), by="views")
    return key_centres(prim[owner == 1], tracker.voxel)
