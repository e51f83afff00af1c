"""Training from a dataset on disk: an RGB-D scene folder, or posed images (COLMAP folder, transforms.json).

Each reads its frames once, seeds the Gaussians (fused depth points, COLMAP sparse points or random), trains
with `train_gaussians` and writes the cameras (with their held-out flags) beside the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from tracklift.splat.io.camera_file import CAMERAS_FILE, write_cameras
from tracklift.splat.render import Camera, Gaussians
from tracklift.splat.train.init import gaussians_from_points, init_from_rgbd
from tracklift.splat.train.loop import TrainConfig, split_views, train_gaussians
from tracklift.splat.train.resolution import downscale_views


def train_from_scene(
    scene_dir: str | Path,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    stride: int = 1,
    max_frames: int | None = None,
    resume: bool = False,
    before_model: Callable[[dict], None] | None = None,
    progress: bool = True,
) -> tuple[Gaussians, dict]:
    """Train on an RGB-D scene folder (any layout `tracklift.data.scene.open_scene` reads), initialised
    from its fused depth points; the depths also feed the depth loss when `config.depth_lambda` > 0.
    Writes what `train_gaussians` writes, and cameras.json (at `config.resolution`). Bad frames are
    skipped and counted in the metrics (`skipped_frames`). All kept frames are held in memory: thin long
    streams with `stride` / `max_frames`. config: default TrainConfig(). before_model: see `train_gaussians`."""
    config = config or TrainConfig()
    from tracklift.data.scene import open_scene

    scene = open_scene(scene_dir, stride=stride, max_frames=max_frames)
    frames = list(scene.stream)
    if len(frames) < 2:
        raise ValueError(f"{scene_dir}: need at least 2 usable frames to train, found {len(frames)}")
    init = init_from_rgbd(frames, config.init, config.sh_degree, config.seed)  # full-size depth: finer seeds
    cameras, images, depths = downscale_views(
        [Camera.from_frame(f) for f in frames], [f.color for f in frames], [f.depth for f in frames], config.resolution
    )
    finish = _finishing(out_dir, cameras, config, before_model, skipped_frames=len(scene.stream.skipped))
    return train_gaussians(
        cameras,
        images,
        config,
        out_dir,
        init=init,
        depths=depths,
        resume=resume,
        before_model=finish,
        progress=progress,
    )


def train_from_dataset(
    source: str | Path,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    resume: bool = False,
    before_model: Callable[[dict], None] | None = None,
    progress: bool = True,
) -> tuple[Gaussians, dict]:
    """Train on a COLMAP folder or a transforms.json (see `splat.io.cameras.read_posed_images`), initialised
    from the COLMAP sparse points when present, else at random. Writes what `train_gaussians` writes, and
    cameras.json (at `config.resolution`). config: default TrainConfig(). before_model: see `train_gaussians`."""
    config = config or TrainConfig()
    from tracklift.splat.io.cameras import load_image, read_posed_images

    posed, points = read_posed_images(source)
    cameras, images, _ = downscale_views(
        [p.camera for p in posed], [load_image(p) for p in posed], None, config.resolution
    )
    init = None
    if points is not None and len(points[0]) >= 2:
        init = gaussians_from_points(points[0], points[1], config.sh_degree, config.init.opacity)
    finish = _finishing(out_dir, cameras, config, before_model)
    return train_gaussians(
        cameras, images, config, out_dir, init=init, resume=resume, before_model=finish, progress=progress
    )


def _finishing(
    out_dir: str | Path,
    cameras: list[Camera],
    config: TrainConfig,
    before_model: Callable[[dict], None] | None,
    **metrics: int,
) -> Callable[[dict], None]:
    """The `before_model` of a dataset's training: add `metrics`, write cameras.json, then the caller's own."""

    def finish(all_metrics: dict) -> None:
        all_metrics.update(metrics)
        _write_cameras(out_dir, cameras, config)
        if before_model is not None:
            before_model(all_metrics)

    return finish


def _write_cameras(out_dir: str | Path, cameras: list[Camera], config: TrainConfig) -> None:
    """cameras.json of the training views, each flagged held out or not (as `train_gaussians` split them)."""
    _, held = split_views(len(cameras), config.holdout_every)
    write_cameras(Path(out_dir) / CAMERAS_FILE, cameras, [i in set(held) for i in range(len(cameras))])
