"""Fit Gaussians to posed images (3DGS training on the CPU rasterizer), with exact resume from checkpoints.

Per step: one training view in a seeded per-epoch random order, loss (1 - λ)·L1 + λ·(1 - SSIM)
(+ optional depth L1 for RGB-D), Adam with per-tensor learning rates (means decay exponentially),
densification on a schedule, optional opacity reset, SH degree raised every `sh_every` steps.
Every `holdout_every`-th view is held out and scored by PSNR at the end.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from tqdm import tqdm

from tracklift.core.config import config, option
from tracklift.io.atomic import atomic_open, atomic_write_text
from tracklift.splat.io.ply import write_gaussians_ply
from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians
from tracklift.splat.render.gsplat_backend import BACKENDS
from tracklift.splat.render.rasterizer import rasterize
from tracklift.splat.train.densify import DensifyConfig, GradientStats, densify_and_prune, reset_opacity
from tracklift.splat.train.init import InitConfig, init_random
from tracklift.splat.train.losses import photometric_loss, psnr
from tracklift.splat.train.optim import GaussianOptimizer

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
MODEL = "point_cloud.ply"  # written last: a model folder with it is complete
# Config fields a resumed run may change freely (the backend changes speed, and results by float rounding only).
_RUN_ONLY = {"iterations", "checkpoint_every", "threads", "backend"}


@config
class TrainConfig:
    """3DGS training, its schedule compressed to CPU runs (learning rates are 3DGS'; lr_means is × the scene
    extent). Why these defaults: docs/tuning.md#splat."""

    iterations: int = option(1000, "optimisation steps", low=0)
    sh_degree: int = option(3, "spherical-harmonics degree of the colours", low=0)
    sh_every: int = option(250, "steps per SH band added", low=1)
    lr_means: float = option(1.6e-4, "initial learning rate of the means (× scene extent)", low=0.0)
    lr_means_final: float = option(1.6e-6, "final learning rate of the means (exponential decay)", low=1e-12)
    lr_log_scales: float = option(5e-3, "learning rate of the log scales", low=0.0)
    lr_quats: float = option(1e-3, "learning rate of the rotations", low=0.0)
    lr_opacity: float = option(5e-2, "learning rate of the opacity logits", low=0.0)
    lr_sh_dc: float = option(2.5e-3, "learning rate of the SH DC terms", low=0.0)
    lr_sh_rest: float = option(2.5e-3 / 20, "learning rate of the higher SH bands", low=0.0)
    ssim_lambda: float = option(0.2, "weight λ of the (1 - SSIM) term", low=0.0, high=1.0)
    depth_lambda: float = option(0.0, "weight of the L1 depth loss (RGB-D input only)", low=0.0)
    densify_from: int = option(100, "first step of adaptive density control", low=0)
    densify_until: int = option(750, "last step of adaptive density control", low=0)
    densify_every: int = option(100, "steps between densifications", low=1)
    opacity_reset_every: int = option(0, "steps between opacity resets (0 = never)", low=0)
    densify: DensifyConfig = field(default_factory=DensifyConfig)
    init: InitConfig = field(default_factory=InitConfig)
    random_init_points: int = option(20_000, "Gaussians when no initial points are given", low=1)
    holdout_every: int = option(8, "every n-th view is held out for PSNR (0 = none; 1 would hold out all)", low=0)
    background: tuple[float, ...] = option((0.0, 0.0, 0.0), "RGB behind the Gaussians", low=0.0, high=1.0)
    resolution: int = option(1, "training resolution as 3DGS' -r: 1/2/4/8 divide the size, else target width px", low=1)
    tile: int = option(8, "rasterizer tile size (speed only)", low=1)
    backend: str = option("auto", "rasterizer: auto (gsplat with CUDA, else cpu), cpu, torch, gsplat", choices=BACKENDS)
    checkpoint_every: int = option(500, "steps between checkpoints (0 = only at the end)", low=0)
    threads: int = option(1, "torch CPU threads while training (0 = leave torch's setting)", low=0)
    seed: int = option(0, "random seed of initialisation and view order", low=0)

    def __post_init__(self) -> None:
        if self.sh_degree > 3 or len(self.background) != 3:
            raise ValueError(f"invalid TrainConfig: sh_degree must be <= 3 and background 3 values: {self}")
        if self.holdout_every == 1:
            raise ValueError("invalid TrainConfig: holdout_every=1 would hold out every view; use 0 (none) or >= 2")


def _learning_rates(config: TrainConfig, extent: float) -> dict[str, float]:
    return {
        "means": config.lr_means * extent,
        "log_scales": config.lr_log_scales,
        "quats": config.lr_quats,
        "opacity_logits": config.lr_opacity,
        "sh_dc": config.lr_sh_dc,
        "sh_rest": config.lr_sh_rest,
    }


def scene_extent(cameras: Sequence[Camera]) -> float:
    """3DGS' scene scale in metres: 1.1 × the largest distance of a camera centre from their mean, at least
    1 so that a nearly static camera still gets sensible learning rates and size thresholds."""
    centers = np.stack([c.center for c in cameras])
    return max(1.1 * float(np.linalg.norm(centers - centers.mean(0), axis=1).max()), 1.0)


def split_views(n: int, holdout_every: int) -> tuple[list[int], list[int]]:
    """(train, held-out) view indices: every holdout_every-th view (0, n, 2n, ...) is held out."""
    if holdout_every <= 0 or n < 2:
        return list(range(n)), []
    held = [i for i in range(n) if i % holdout_every == 0]
    return [i for i in range(n) if i % holdout_every != 0], held


def _view_at(step: int, n_train: int, seed: int) -> int:
    """Position in the training views used at `step`: a fresh seeded permutation each epoch, so a
    resumed run visits the same views without saving any RNG state."""
    epoch, pos = divmod(step, n_train)
    perm = torch.randperm(n_train, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    return int(perm[pos])


def _to_image_tensor(image: np.ndarray | torch.Tensor, cam: Camera, i: int) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(image))
    if tuple(t.shape) != (cam.height, cam.width, 3):
        expected = f"[{cam.height}, {cam.width}, 3]"
        raise ValueError(f"images[{i}] must be {expected} to match camera {cam.name!r}, got {list(t.shape)}")
    return t.float() / 255.0 if t.dtype == torch.uint8 else t.float()


def _save_checkpoint(
    path: Path,
    opt: GaussianOptimizer,
    stats: GradientStats,
    step: int,
    extent: float,
    config: TrainConfig,
    seconds: float,
) -> None:
    state = {
        "optimizer": opt.state_dict(),
        "stats": stats.state_dict(),
        "step": step,
        "extent": extent,
        "config": asdict(config),
        "seconds": seconds,
    }
    with atomic_open(path, "wb") as f:
        torch.save(state, f)


def load_checkpoint(path: Path) -> dict:
    """The state `_save_checkpoint` wrote; a truncated or foreign file -> one-line ValueError naming it.
    Read as weights only (tensors and plain containers): a checkpoint cannot run code."""
    try:
        state = torch.load(path, weights_only=True)
    except Exception as err:  # torch raises unpickling, zip and runtime errors of many kinds here
        raise ValueError(
            f"{path}: not a readable training checkpoint ({type(err).__name__}); delete it to start over"
        ) from err
    if not isinstance(state, dict) or not {"optimizer", "stats", "step", "extent", "config", "seconds"} <= set(state):
        raise ValueError(
            f"{path}: not a training checkpoint of `splat train` (missing fields); delete it to start over"
        )
    return state


def evaluate_psnr(
    g: Gaussians, cameras: Sequence[Camera], images: Sequence[torch.Tensor], config: TrainConfig
) -> float | None:
    """Mean PSNR (dB) of renders of `g` against `images` ([H, W, 3] float in [0, 1]); None without views
    (JSON null: NaN is not valid JSON)."""
    with torch.no_grad():
        renders = [
            rasterize(g, c, background=config.background, tile=config.tile, backend=config.backend).color
            for c in cameras
        ]
    scores = [psnr(r, im) for r, im in zip(renders, images)]
    return float(np.mean(scores)) if scores else None


def train_gaussians(
    cameras: Sequence[Camera],
    images: Sequence[np.ndarray | torch.Tensor],
    config: TrainConfig,
    out_dir: str | Path,
    init: Gaussians | None = None,
    depths: Sequence[np.ndarray | None] | None = None,
    *,
    resume: bool = False,
    stop_at: int | None = None,
    before_model: Callable[[dict], None] | None = None,
    progress: bool = True,
) -> tuple[Gaussians, dict]:
    """Optimise Gaussians so that they render `images` from `cameras`.

    cameras: V views; images: V × [H, W, 3] uint8 (or float in [0, 1]) matching each camera (already at
    the training resolution: `train_from_scene` / `train_from_dataset` apply `config.resolution`).
    init: starting Gaussians (default: random points in the view frusta). depths: optional V × [H, W]
    float32 metres (0 = invalid) for the depth loss. resume: continue from `out_dir/checkpoint.pt` when it
    exists. stop_at: stop after this step (checkpointed; resume later). Writes `out_dir/point_cloud.ply`,
    `metrics.json` and `checkpoint.pt`; before_model(metrics) writes the caller's other outputs (and may add
    to the metrics). The model is removed when training starts and written last, so a run killed at any
    moment leaves a complete model folder or none (a checkpoint aside).
    Returns (Gaussians, metrics): iterations, seconds (training wall
    time, summed over resumed runs), seconds_per_iteration, gaussians, train_views, holdout_views,
    psnr_holdout (dB, None without held-out views), psnr_train.
    """
    if len(cameras) != len(images) or not cameras:
        raise ValueError(f"need one image per camera (and >= 1), got {len(cameras)} cameras, {len(images)} images")
    if depths is not None and len(depths) != len(cameras):
        raise ValueError(f"depths must have one entry per camera ({len(cameras)}), got {len(depths)}")
    threads_before = torch.get_num_threads()
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    try:
        return _train(cameras, images, config, Path(out_dir), init, depths, resume, stop_at, before_model, progress)
    finally:
        torch.set_num_threads(threads_before)


def _train(
    cameras: Sequence[Camera],
    images: Sequence[np.ndarray | torch.Tensor],
    config: TrainConfig,
    out_dir: Path,
    init: Gaussians | None,
    depths: Sequence[np.ndarray | None] | None,
    resume: bool,
    stop_at: int | None,
    before_model: Callable[[dict], None] | None,
    progress: bool,
) -> tuple[Gaussians, dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    # The other outputs are about to be replaced: an old model beside them would pass for a complete one.
    (out_dir / MODEL).unlink(missing_ok=True)
    targets = [_to_image_tensor(im, c, i) for i, (im, c) in enumerate(zip(images, cameras))]
    depth_targets = [None if d is None else torch.as_tensor(np.asarray(d, np.float32)) for d in depths or []]
    depth_targets += [None] * (len(cameras) - len(depth_targets))
    train_idx, held_idx = split_views(len(cameras), config.holdout_every)
    ckpt = out_dir / CHECKPOINT
    started = time.perf_counter()
    earlier = 0.0  # training seconds spent before a resume
    if resume and ckpt.is_file():
        state = load_checkpoint(ckpt)
        extent, step, earlier = state["extent"], state["step"], state["seconds"]
        changed = sorted(k for k, v in asdict(config).items() if state["config"].get(k) != v and k not in _RUN_ONLY)
        if changed:
            log.warning("%s: resuming with a different config (%s) than the checkpoint's", ckpt, ", ".join(changed))
        opt = GaussianOptimizer.from_state_dict(state["optimizer"], _learning_rates(config, extent))
        stats = GradientStats.from_state_dict(state["stats"])
        log.info("resuming from %s at step %d", ckpt, step)
    else:
        extent, step = scene_extent(cameras), 0
        if init is None:
            init = init_random(list(cameras), config.random_init_points, config.sh_degree, config.seed)
        opt = GaussianOptimizer(init.with_sh_degree(config.sh_degree), _learning_rates(config, extent))
        stats = GradientStats(opt.n)

    end = config.iterations if stop_at is None else min(stop_at, config.iterations)
    bar = tqdm(total=end, initial=step, desc="splat train", disable=not progress, unit="it")
    while step < end:
        t = step / max(1, config.iterations - 1)
        log_lr = (1 - t) * math.log(config.lr_means) + t * math.log(config.lr_means_final)
        opt.set_lr("means", extent * math.exp(log_lr))
        view = train_idx[_view_at(step, len(train_idx), config.seed)]
        cam, target = cameras[view], targets[view]
        g = opt.gaussians()
        degree = min(step // config.sh_every, config.sh_degree)
        out = rasterize(
            g, cam, sh_degree=degree, background=config.background, tile=config.tile, backend=config.backend
        )
        loss = photometric_loss(out.color, target, config.ssim_lambda)
        depth = depth_targets[view]
        if config.depth_lambda > 0 and depth is not None:
            valid = (depth > 0) & (out.alpha.detach() > 0.5)
            if bool(valid.any()):
                loss = loss + config.depth_lambda * (out.depth[valid] - depth[valid]).abs().mean()
        loss.backward()
        step += 1
        if step <= config.densify_until and out.means2d.grad is not None:
            stats.update(out.means2d.grad, out.radii, cam.width, cam.height)
        opt.step()
        if config.densify_from <= step <= config.densify_until and step % config.densify_every == 0:
            densify_and_prune(opt, stats, extent, config.densify, seed=config.seed * 1_000_003 + step)
            stats = GradientStats(opt.n)
        if config.opacity_reset_every > 0 and step % config.opacity_reset_every == 0 and step <= config.densify_until:
            reset_opacity(opt)
        if config.checkpoint_every > 0 and step % config.checkpoint_every == 0:
            _save_checkpoint(ckpt, opt, stats, step, extent, config, earlier + time.perf_counter() - started)
        bar.update(1)
        bar.set_postfix(loss=f"{float(loss.detach()):.4f}", gaussians=opt.n)
    bar.close()
    seconds = earlier + time.perf_counter() - started
    _save_checkpoint(ckpt, opt, stats, step, extent, config, seconds)

    g = opt.gaussians().detach()
    metrics = {
        "iterations": step,
        "seconds": seconds,
        "seconds_per_iteration": seconds / max(step, 1),
        "gaussians": g.n,
        "train_views": len(train_idx),
        "holdout_views": len(held_idx),
        "psnr_holdout": evaluate_psnr(g, [cameras[i] for i in held_idx], [targets[i] for i in held_idx], config),
        "psnr_train": evaluate_psnr(g, [cameras[i] for i in train_idx], [targets[i] for i in train_idx], config),
    }
    if before_model is not None:
        before_model(metrics)
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2, allow_nan=False) + "\n")
    write_gaussians_ply(out_dir / MODEL, g)
    return g, metrics
