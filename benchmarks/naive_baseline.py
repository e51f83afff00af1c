"""The naive baseline every method is judged against: lift, voxelise, merge by voxel overlap.

Each 2D mask is back-projected with its depth and voxelised. Masks are taken in stream order; a mask
joins the existing object that owns most of its voxels when that object owns at least `min_overlap` of
them, and otherwise starts a new object. A voxel belongs to the first object that claims it. Mesh
vertices take the object of their voxel; the label is the score-weighted majority of the 2D labels
that name a vocabulary class exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.eval.prediction import PredictedInstance
from tracklift.lift.projection import pixels_to_world
from tracklift.lift.voxels import voxel_keys
from tracklift.vocab import load_vocabulary


@dataclass(frozen=True)
class NaiveConfig:
    """voxel: edge in metres; min_overlap: share of a mask's voxels an object must own to absorb it;
    depth range in metres; vocabulary: where 2D label names are looked up (exact name)."""

    voxel: float = 0.05
    min_overlap: float = 0.25
    min_depth: float = 0.1
    max_depth: float = 6.0
    vocabulary: str = "scannet200"


@dataclass
class LiftedMask:
    """keys: [K] int64 unique voxel keys of the mask's 3D points; label/score from the 2D segmenter."""

    keys: np.ndarray
    label: str | None
    score: float


def lift_frame(frame: Frame, masks: FrameMasks, config: NaiveConfig) -> list[LiftedMask]:
    """The voxels seen under each mask of a frame (valid depth in range only); empty masks are skipped."""
    if masks.shape != (frame.height, frame.width):
        raise ValueError(f"frame {frame.name!r}: masks are {masks.shape}, depth is {(frame.height, frame.width)}")
    valid = (frame.depth >= config.min_depth) & (frame.depth <= config.max_depth)
    lifted = []
    for mask, label, score in zip(masks.masks, masks.labels, masks.scores):
        v, u = np.nonzero(mask & valid)
        if len(u) == 0:
            continue
        points = pixels_to_world(u, v, frame.depth[v, u], frame.K, frame.pose)
        lifted.append(LiftedMask(np.unique(voxel_keys(points, config.voxel)), label, float(score)))
    return lifted


def greedy_merge(mask_keys: list[np.ndarray], min_overlap: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Assign masks (in order) to objects by voxel overlap.

    mask_keys: per mask, [K_i] int64 voxel keys, sorted and unique (as np.unique returns them).
    Returns owner: [M] int64 object of each mask (objects numbered in order of creation), and the
    final voxel map as keys: [N] int64 sorted and their objects: [N] int64.
    """
    keys = np.zeros(0, np.int64)
    owners = np.zeros(0, np.int64)
    assigned = np.empty(len(mask_keys), np.int64)
    n_objects = 0
    for m, k in enumerate(mask_keys):
        pos = np.searchsorted(keys, k)
        found = pos < len(keys)
        found[found] = keys[pos[found]] == k[found]
        claimed = owners[pos[found]]
        best, best_count = -1, 0
        if len(claimed):
            counts = np.bincount(claimed)
            best = int(np.argmax(counts))  # ties: the older object
            best_count = int(counts[best])
        if best >= 0 and best_count >= min_overlap * len(k):
            target = best
        else:
            target = n_objects
            n_objects += 1
        assigned[m] = target
        # k is sorted, so the insertion points of its new keys are too: one O(N) insert keeps keys sorted
        keys = np.insert(keys, pos[~found], k[~found])
        owners = np.insert(owners, pos[~found], target)
    return assigned, keys, owners


def greedy_merge_reference(
    mask_keys: list[np.ndarray], min_overlap: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain dictionary version of `greedy_merge` (the tests compare the two)."""
    owner_of: dict[int, int] = {}
    assigned = []
    n_objects = 0
    for k in mask_keys:
        counts: dict[int, int] = defaultdict(int)
        for key in k.tolist():
            if key in owner_of:
                counts[owner_of[key]] += 1
        best = min(counts, key=lambda o: (-counts[o], o)) if counts else -1
        if counts and counts[best] >= min_overlap * len(k):
            target = best
        else:
            target = n_objects
            n_objects += 1
        assigned.append(target)
        for key in k.tolist():
            owner_of.setdefault(key, target)
    keys = np.array(sorted(owner_of), np.int64)
    return np.array(assigned, np.int64), keys, np.array([owner_of[k] for k in keys.tolist()], np.int64)


def vertex_objects(vertices: np.ndarray, keys: np.ndarray, owners: np.ndarray, voxel: float) -> np.ndarray:
    """vertices: [V, 3] float32, metres, world -> [V] int64 object of each vertex's voxel, -1 if unseen."""
    vk = voxel_keys(vertices, voxel)
    pos = np.minimum(np.searchsorted(keys, vk), max(len(keys) - 1, 0))
    out = np.full(len(vk), -1, np.int64)
    if len(keys):
        hit = keys[pos] == vk
        out[hit] = owners[pos[hit]]
    return out


def objects_to_instances(
    lifted: list[LiftedMask], assigned: np.ndarray, vertex_object: np.ndarray, label_ids: dict[str, int]
) -> list[PredictedInstance]:
    """One instance per object that covers at least one vertex.

    score: mean 2D score × n / (n + 1) for n supporting masks (more views, more confidence);
    label: the vocabulary id with the largest summed 2D score among labels in `label_ids`, or None.
    """
    instances = []
    for obj in range(int(assigned.max()) + 1 if len(assigned) else 0):
        mask = vertex_object == obj
        if not mask.any():
            continue
        members = [lifted[i] for i in np.flatnonzero(assigned == obj)]
        votes: dict[int, float] = defaultdict(float)
        for m in members:
            if m.label is not None and m.label in label_ids:
                votes[label_ids[m.label]] += m.score
        label = max(votes, key=lambda i: (votes[i], -i)) if votes else None
        n = len(members)
        score = float(np.mean([m.score for m in members])) * n / (n + 1)
        instances.append(PredictedInstance(mask, label, score))
    return instances


def naive_map(
    scene, masks_dir: str | Path, config: NaiveConfig
) -> tuple[list[LiftedMask], np.ndarray, np.ndarray, np.ndarray]:
    """Lift every frame's precomputed masks and merge them greedily: (lifted masks, object of each mask,
    voxel keys [N] sorted, their objects [N]) as `greedy_merge` returns them."""
    from tracklift.segment2d.precomputed import read_masks

    lifted: list[LiftedMask] = []
    for frame in scene.stream:
        lifted.extend(lift_frame(frame, read_masks(masks_dir, frame.name, (frame.height, frame.width)), config))
    return (lifted, *greedy_merge([m.keys for m in lifted], config.min_overlap))


def naive_baseline(scene, masks_dir: str | Path, config: NaiveConfig | None = None) -> list[PredictedInstance]:
    """Instances over the scene's mesh vertices from the precomputed 2D masks in `masks_dir`.

    scene: a `tracklift.data.scene.Scene` with a mesh (its vertices are the reference points).
    """
    if scene.mesh_path is None:
        raise FileNotFoundError(f"scene {scene.name!r} has no mesh: the baseline predicts over mesh vertices")
    from tracklift.io.ply import read_ply

    config = config or NaiveConfig()
    vocab = load_vocabulary(config.vocabulary)
    lifted, assigned, keys, owners = naive_map(scene, masks_dir, config)
    vertices = read_ply(scene.mesh_path).vertices
    label_ids = dict(zip(vocab.names, vocab.ids))
    return objects_to_instances(lifted, assigned, vertex_objects(vertices, keys, owners, config.voxel), label_ids)
