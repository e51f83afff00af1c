"""Fuse an RGB-D stream into one coloured voxel map (no masks: every reliable depth pixel counts).

Per frame, pixels on a `stride` grid with reliable depth (range, depth edges: `lift.projection`) are
back-projected and hashed to voxels (`lift.voxels`); each voxel sums the pixels that fell into it, their
colour, the unit directions towards the cameras that saw it (to orient normals) and the frames that saw it.
Voxels seen in fewer than `min_frames` frames are dropped: flying pixels and passing noise are rarely
seen twice. Partial sums are reduced every `reduce_every` frames, so memory follows the mapped surface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from tracklift.core.config import config, option
from tracklift.lift.projection import pixels_to_world, reliable_pixels
from tracklift.lift.voxels import key_centres, voxel_keys

# Columns of the per-voxel sums: pixels, colour (3), view direction (3), frames.
_PIXELS, _RGB, _VIEW, _FRAMES = 0, slice(1, 4), slice(4, 7), 7


@config
class FuseConfig:
    voxel: float = option(0.03, "voxel edge, metres", low=1e-3, high=1.0)
    stride: int = option(2, "pixel sampling step", low=1, high=64)
    min_depth: float = option(0.1, "nearest usable depth, metres", low=0.0, high=100.0)
    max_depth: float = option(4.0, "farthest usable depth, metres", low=0.0, high=100.0)
    edge_slope: float = option(5.7, "depth-edge test as LiftConfig.edge_slope", low=0.0, high=1000.0)
    min_frames: int = option(2, "frames that must see a voxel", low=1)
    reduce_every: int = option(16, "frames between reductions", low=1)

    def __post_init__(self) -> None:
        if not self.min_depth < self.max_depth:
            raise ValueError(f"FuseConfig needs min_depth < max_depth, got {self.min_depth}, {self.max_depth}")


@dataclass(frozen=True)
class FusedCamera:
    """A fused frame's camera: stream index, K [3, 3] pixels, pose [4, 4] camera-to-world, depth image size."""

    index: int
    K: np.ndarray
    pose: np.ndarray
    height: int
    width: int


@dataclass
class FusedMap:
    """The fused map.

    keys:    [N] int64 sorted unique voxel keys (`lift.voxels`); points: [N, 3] float32 voxel centres, metres, world.
    colors:  [N, 3] uint8 mean RGB.  view: [N, 3] float32 unit mean direction from the voxel to its cameras.
    frames:  [N] int32 frames that saw each voxel.  up: [3] float64 unit "up" in the world frame (see `estimate_up`).
    views: the fused frames' cameras.  voxel: edge, metres.
    """

    keys: np.ndarray
    points: np.ndarray
    colors: np.ndarray
    view: np.ndarray
    frames: np.ndarray
    up: np.ndarray
    views: list[FusedCamera]
    voxel: float

    def __len__(self) -> int:
        return len(self.keys)


def sum_by_key(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """keys: [N] int64, values: [N, C] float64 -> sorted unique keys [U] and per-key column sums [U, C]."""
    if len(keys) == 0:
        return np.zeros(0, np.int64), np.zeros((0, values.shape[1]), np.float64)
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    return k[starts], np.add.reduceat(values[order], starts, axis=0)


def sum_by_key_reference(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain dictionary version of `sum_by_key` (the tests compare the two)."""
    sums: dict[int, np.ndarray] = {}
    for key, row in zip(keys.tolist(), np.asarray(values, np.float64)):
        sums[key] = sums.get(key, 0.0) + row
    uniq = sorted(sums)
    return np.array(uniq, np.int64), np.array([sums[k] for k in uniq], np.float64).reshape(len(uniq), values.shape[1])


def frame_voxels(frame, cfg: FuseConfig) -> tuple[np.ndarray, np.ndarray]:
    """One frame's voxel sums: keys [U] int64 and [U, 8] float64 (pixels, RGB sum, view-direction sum, 1)."""
    s = cfg.stride
    depth = frame.depth[::s, ::s]
    edge_ratio = cfg.edge_slope * 2 * s / min(frame.K[0, 0], frame.K[1, 1])
    rows, cols = np.nonzero(reliable_pixels(depth, cfg.min_depth, cfg.max_depth, edge_ratio))
    points = pixels_to_world(cols * s, rows * s, depth[rows, cols], frame.K, frame.pose)
    to_camera = frame.pose[:3, 3][None, :] - points
    to_camera /= np.maximum(np.linalg.norm(to_camera, axis=1, keepdims=True), 1e-9)
    values = np.empty((len(points), 8), np.float64)
    values[:, _PIXELS] = 1.0
    values[:, _RGB] = frame.color[::s, ::s][rows, cols]
    values[:, _VIEW] = to_camera
    keys, sums = sum_by_key(voxel_keys(points, cfg.voxel), values[:, :7])
    return keys, np.concatenate([sums, np.ones((len(keys), 1))], axis=1)


def estimate_up(poses: list[np.ndarray]) -> np.ndarray:
    """[3] unit world "up": the mean of the cameras' up axes (−y in OpenCV axes). Hand-held and robot
    cameras are held roughly upright, so their roll averages out; the mean is refined later on the floor."""
    if not poses:
        return np.array([0.0, 0.0, 1.0])
    up = -np.mean([p[:3, 1] for p in poses], axis=0)
    norm = np.linalg.norm(up)
    return up / norm if norm > 1e-9 else np.array([0.0, 0.0, 1.0])


def fuse_stream(stream, cfg: FuseConfig | None = None, progress: bool = True, desc: str = "fuse") -> FusedMap:
    """Fuse every frame of `stream` (an iterable of `Frame`s; unreadable frames are the stream's to skip)."""
    cfg = cfg or FuseConfig()
    chunks: list[tuple[np.ndarray, np.ndarray]] = []
    views: list[FusedCamera] = []
    for frame in tqdm(stream, desc=desc, unit="frame", disable=not progress):
        chunks.append(frame_voxels(frame, cfg))
        views.append(FusedCamera(frame.index, frame.K, frame.pose, frame.height, frame.width))
        if len(chunks) >= cfg.reduce_every:
            chunks = [_reduce(chunks)]
    keys, sums = _reduce(chunks) if chunks else (np.zeros(0, np.int64), np.zeros((0, 8)))
    keep = sums[:, _FRAMES] >= cfg.min_frames
    keys, sums = keys[keep], sums[keep]
    pixels = sums[:, _PIXELS : _PIXELS + 1]
    view = sums[:, _VIEW]
    view = view / np.maximum(np.linalg.norm(view, axis=1, keepdims=True), 1e-9)
    return FusedMap(
        keys=keys,
        points=key_centres(keys, cfg.voxel),
        colors=np.clip(np.round(sums[:, _RGB] / pixels), 0, 255).astype(np.uint8),
        view=view.astype(np.float32),
        frames=sums[:, _FRAMES].astype(np.int32),
        up=estimate_up([v.pose for v in views]),
        views=views,
        voxel=cfg.voxel,
    )


def _reduce(chunks: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return sum_by_key(np.concatenate([k for k, _ in chunks]), np.concatenate([v for _, v in chunks]))
