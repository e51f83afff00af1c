"""The growth history of a run: how the instance map grew frame by frame, for the viewer's slider.

`GrowthRecorder.record(mapper, frame, masks, track_ids)` is called after each `Mapper.add_frame` (a
`map_scene` on_frame hook); it keeps, per
voxel ever held by a track, the history step at which it first joined one (a sorted key array and an
int32 array: the size of the map, never a copy per frame), plus per step the frame's name, pose and
intrinsics and the map's size. `write_history` stores it beside the outputs as `<scene>_history.npz`:

    version        [] int32, HISTORY_VERSION
    frame_name     [T] str, the frame's name in its layout; frame_index [T] int32, its stream index
    pose           [T, 4, 4] float32, camera-to-world (OpenCV axes); K [T, 3, 3] float32; image_size [2] (W, H)
    tracks         [T] int32 live tracks after the step; voxels [T] int64 voxels held by them
    point_step     [P] int32, for each point of `<scene>_instances.npz`: the step at which the voxel holding it
                   (or the nearest tracked voxel within `radius`) first joined a track; -1 = never tracked

The map at step t is then the instance points with 0 <= point_step <= t.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from tracklift.data.frame import Frame
from tracklift.io.atomic import atomic_write_bytes
from tracklift.io.npz import read_npz
from tracklift.lift.voxels import OFFSET, key_centres, pack_keys, unique_keys

HISTORY_VERSION = 1


@dataclass(frozen=True)
class History:
    """A read `<scene>_history.npz` (shapes as in the module docstring)."""

    frame_name: list[str]
    frame_index: np.ndarray
    pose: np.ndarray
    K: np.ndarray
    image_size: tuple[int, int]
    tracks: np.ndarray
    voxels: np.ndarray
    point_step: np.ndarray

    @property
    def steps(self) -> int:
        return len(self.frame_name)


def first_steps(keys: np.ndarray, steps: np.ndarray, new_keys: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Add the keys of `new_keys` not yet in `keys` with first step `step`.

    keys: [M] int64 sorted unique; steps: [M] int32; new_keys: [N] int64 (any order, repeats allowed).
    Returns the merged (keys, steps), keys sorted unique; a key already present keeps its earlier step.
    """
    new_keys = unique_keys(new_keys)
    if len(keys):
        idx = np.minimum(np.searchsorted(keys, new_keys), len(keys) - 1)
        new_keys = new_keys[keys[idx] != new_keys]
    merged = np.concatenate([keys, new_keys])
    order = np.argsort(merged, kind="stable")
    return merged[order], np.concatenate([steps, np.full(len(new_keys), step, np.int32)])[order]


def first_steps_reference(keys, steps, new_keys, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Plain dictionary version of `first_steps` (the tests compare the two)."""
    first = dict(zip(np.asarray(keys).tolist(), np.asarray(steps).tolist()))
    for k in np.asarray(new_keys).tolist():
        first.setdefault(k, step)
    ordered = sorted(first)
    return np.array(ordered, np.int64), np.array([first[k] for k in ordered], np.int32)


class GrowthRecorder:
    """Records a run's growth history step by step (see the module docstring)."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.int64)
        self.first = np.zeros(0, np.int32)
        self.names: list[str] = []
        self.indices: list[int] = []
        self.poses: list[np.ndarray] = []
        self.intrinsics: list[np.ndarray] = []
        self.tracks: list[int] = []
        self.voxels: list[int] = []
        self.image_size = (0, 0)

    def record(self, mapper, frame: Frame, masks, track_ids: list[int]) -> None:
        """After `mapper.add_frame(frame, ...)` returned `track_ids`: the voxels of the tracks it touched
        that no track held before join at this step."""
        step = len(self.names)
        tracks = mapper.tracker.tracks
        touched = [tracks[t].voxels.keys for t in sorted(set(track_ids)) if t in tracks]
        if touched:
            self.keys, self.first = first_steps(self.keys, self.first, np.concatenate(touched), step)
        self.names.append(frame.name)
        self.indices.append(frame.index)
        self.poses.append(np.asarray(frame.pose, np.float32))
        self.intrinsics.append(np.asarray(frame.K, np.float32))
        self.tracks.append(len(tracks))
        self.voxels.append(sum(len(t.voxels.keys) for t in tracks.values()))
        self.image_size = (frame.width, frame.height)

    def point_steps(self, points: np.ndarray, voxel: float, radius: float) -> np.ndarray:
        """[P] int32 first step of each point ([P, 3] metres, world): that of the nearest recorded voxel
        centre within `radius` metres, -1 where none is.

        A point's own voxel centre is the nearest of all voxel centres, so points in a recorded voxel are
        answered by a key lookup; only the others query a tree (a mesh's vertices mostly lie in seen voxels)."""
        points = np.asarray(points, np.float32).reshape(-1, 3)
        out = np.full(len(points), -1, np.int32)
        if len(self.keys) == 0 or len(points) == 0:
            return out
        coords = np.floor(points / np.float32(voxel))
        own = np.flatnonzero(((coords >= -OFFSET) & (coords < OFFSET)).all(axis=1))
        keys = pack_keys(coords[own].astype(np.int64))
        slot = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        found = self.keys[slot] == keys
        centre_distance = np.linalg.norm(points[own] - key_centres(keys, voxel), axis=1)
        near = found & (centre_distance <= radius)
        out[own[near]] = self.first[slot[near]]
        rest = np.ones(len(points), bool)
        rest[own[found]] = False  # a recorded own centre beyond `radius` means no centre is within it
        rest = np.flatnonzero(rest)
        if len(rest):
            dist, nearest = cKDTree(key_centres(self.keys, voxel)).query(points[rest], distance_upper_bound=radius)
            hit = np.isfinite(dist)
            out[rest[hit]] = self.first[nearest[hit]]
        return out

    def point_steps_reference(self, points: np.ndarray, voxel: float, radius: float) -> np.ndarray:
        """`point_steps` by one nearest-centre query for every point (the tests compare the two)."""
        points = np.asarray(points, np.float32).reshape(-1, 3)
        out = np.full(len(points), -1, np.int32)
        if len(self.keys) == 0 or len(points) == 0:
            return out
        dist, nearest = cKDTree(key_centres(self.keys, voxel)).query(points, distance_upper_bound=radius)
        hit = np.isfinite(dist)
        out[hit] = self.first[nearest[hit]]
        return out


def write_history(path: str | os.PathLike, recorder: GrowthRecorder, point_step: np.ndarray) -> Path:
    """Write the recorder's steps and `point_step` ([P] int32) to `path` (.npz), atomically."""
    path = Path(path)
    T = len(recorder.names)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        version=np.int32(HISTORY_VERSION),
        frame_name=np.array(recorder.names, dtype=str),
        frame_index=np.array(recorder.indices, np.int32),
        pose=np.array(recorder.poses, np.float32).reshape(T, 4, 4),
        K=np.array(recorder.intrinsics, np.float32).reshape(T, 3, 3),
        image_size=np.array(recorder.image_size, np.int32),
        tracks=np.array(recorder.tracks, np.int32),
        voxels=np.array(recorder.voxels, np.int64),
        point_step=np.asarray(point_step, np.int32),
    )
    atomic_write_bytes(path, buf.getvalue())
    return path


def read_history(path: str | os.PathLike, points: int | None = None) -> History:
    """Read a `<scene>_history.npz`; `points`, when given, is the number of points it must cover."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such history file")
    try:
        arrays = read_npz(path)
    except ValueError as err:  # read_npz names the file already: keep its reason
        raise ValueError(f"{path}: not a history .npz ({str(err).split(': ', 1)[-1]})") from err
    missing = sorted(
        {"version", "frame_name", "frame_index", "pose", "K", "image_size", "tracks", "voxels", "point_step"}
        - set(arrays)
    )
    if missing:
        raise ValueError(f"{path}: missing arrays {', '.join(missing)} (an older or foreign file?)")
    version = int(arrays["version"])
    if version != HISTORY_VERSION:
        raise ValueError(
            f"{path}: history version {version}, this tracklift reads version {HISTORY_VERSION}; "
            "run `tracklift segment` again"
        )
    T = len(arrays["frame_name"])
    shapes = {"frame_index": (T,), "pose": (T, 4, 4), "K": (T, 3, 3), "tracks": (T,), "voxels": (T,)}
    for name, shape in shapes.items():
        if arrays[name].shape != shape:
            raise ValueError(f"{path}: {name} must be {list(shape)}, got {list(arrays[name].shape)}")
    point_step = arrays["point_step"].astype(np.int32)
    if points is not None and point_step.shape != (points,):
        raise ValueError(f"{path}: point_step covers {len(point_step)} points, the instances file has {points}")
    if point_step.size and point_step.max() >= T:
        raise ValueError(f"{path}: point_step refers to step {point_step.max()} of {T}")
    w, h = (int(v) for v in arrays["image_size"])
    return History(
        [str(n) for n in arrays["frame_name"]],
        arrays["frame_index"].astype(np.int64),
        arrays["pose"].astype(np.float64),
        arrays["K"].astype(np.float64),
        (w, h),
        arrays["tracks"],
        arrays["voxels"],
        point_step,
    )
