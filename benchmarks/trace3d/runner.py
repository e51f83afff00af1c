"""Runs the ablation: prepare (synthesise and train) each room, run every variant on it, write the results."""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

import benchmarks.trace3d as package
from benchmarks.trace3d.corruption import inconsistent_masks
from benchmarks.trace3d.metrics import extraction_miou, mask_miou
from benchmarks.trace3d.report import results_doc
from benchmarks.trace3d.suite import FULL, QUICK, ROOM_LABELS, VARIANTS, Trace3DSuite

HERE = Path(__file__).resolve().parent.parent  # benchmarks/
ROOT = HERE.parent


@dataclass
class PreparedScene:
    """A trained room: Gaussians, training views (cameras, GT instance maps [H, W] int64 with -1 = none,
    images [H, W, 3] uint8), held-out views (cameras, GT maps) and the training metrics."""

    g: object
    train_cams: list
    train_gt: list
    train_images: list
    held_cams: list
    held_gt: list
    metrics: dict


def run_variants(
    scene: PreparedScene, suite: Trace3DSuite, seed: int, progress: bool = True, done: dict | None = None
) -> dict:
    """The ablation settings (`VARIANTS`, then (o)) on one trained scene; returns {variant key: metrics}.

    done: the variants of this room an earlier run finished (kept, not recomputed)."""
    from tracklift.splat.trace3d.closed_form import lift_closed_form, with_background
    from tracklift.splat.trace3d.contrastive import ContrastiveConfig, lift_contrastive
    from tracklift.splat.trace3d.correct import CorrectionConfig, correct_masks
    from tracklift.splat.trace3d.hierarchy import granularity_maps
    from tracklift.splat.trace3d.instance_split import SplitPruneConfig, refit, split_and_prune

    g, train_cams, train_gt = scene.g, scene.train_cams, scene.train_gt
    rng = np.random.default_rng([suite.mask_seed, seed])
    masks = [inconsistent_masks(gt, rng, suite) for gt in train_gt]
    started = time.perf_counter()
    correction = CorrectionConfig(split_below=suite.split_below)
    corrected, report = correct_masks(g, train_cams, masks, correction, progress=progress)
    correction_seconds = time.perf_counter() - started
    raw_maps = [granularity_maps(fm)[1] for fm in masks]
    fixed_maps = [granularity_maps(fm)[1] for fm in corrected]
    results = dict(done or {})
    split_models: dict[bool, tuple] = {}  # split/prune depends only on the masks; (d) and (h) share it
    for key, (name, correct, split, method) in VARIANTS.items():
        if key in results:
            continue
        started = time.perf_counter()
        maps = fixed_maps if correct else raw_maps
        model, split_report = g, None
        if split:
            if correct not in split_models:
                config = SplitPruneConfig(keep_unresolved=suite.keep_unresolved, split_axes=suite.split_axes)
                labelled = with_background(maps, label_empty_views=True)[0]
                model, split_report = split_and_prune(g, train_cams, labelled, config, progress=progress)
                if suite.refit_iterations:
                    model = refit(
                        model, train_cams, scene.train_images, suite.refit_iterations, seed, progress=progress
                    )
                split_models[correct] = (model, split_report, time.perf_counter() - started)
            model, split_report, split_seconds = split_models[correct]
            started -= split_seconds
        if method == "closed":
            inst = lift_closed_form(model, train_cams, maps, progress=progress)
        else:
            inst, _ = lift_contrastive(model, train_cams, maps, ContrastiveConfig(seed=seed), progress=progress)
        miou3d, n_objects = extraction_miou(
            model, inst, train_cams, train_gt, scene.held_cams, scene.held_gt, suite.min_pixels
        )
        miou2d = [s for m, gt in zip(maps, train_gt) for s in mask_miou(m, gt, suite.min_pixels)]
        results[key] = {
            "variant": name,
            "lifting": method,
            "mask_miou_2d": float(np.mean(miou2d)),
            "extraction_miou_3d": miou3d,
            "objects_scored": n_objects,
            "instances": inst.count,
            "gaussians": model.n,
            "seconds": time.perf_counter() - started + (correction_seconds if correct else 0.0),
            "split_prune": split_report,
            "correction": report if correct else None,
        }
    if "o" in results:
        return {key: results[key] for key in [*VARIANTS, "o"]}
    started = time.perf_counter()
    exact = [np.unique(gt, return_inverse=True)[1].reshape(gt.shape) - int((gt < 0).any()) for gt in train_gt]
    inst = lift_closed_form(g, train_cams, exact, progress=progress)
    miou3d, n_objects = extraction_miou(g, inst, train_cams, train_gt, scene.held_cams, scene.held_gt, suite.min_pixels)
    results["o"] = {
        "variant": "exact masks (reference)",
        "lifting": "closed",
        "mask_miou_2d": 1.0,
        "extraction_miou_3d": miou3d,
        "objects_scored": n_objects,
        "instances": inst.count,
        "gaussians": g.n,
        "seconds": time.perf_counter() - started,
        "split_prune": None,
        "correction": None,
    }
    return results


def prepare_scene(cache: Path, seed: int, suite: Trace3DSuite) -> PreparedScene:
    """Generate (cached) the room and train (cached) its Gaussians."""
    import cv2

    from tracklift.data.scene import open_scene
    from tracklift.splat.io.ply import read_gaussians_ply
    from tracklift.splat.render.camera import Camera
    from tracklift.splat.train import TrainConfig, train_from_scene
    from tracklift.splat.train.densify import DensifyConfig
    from tracklift.splat.train.init import InitConfig
    from tracklift.splat.train.loop import split_views
    from tracklift.synth import SynthConfig, generate_scene

    scene_dir = cache / f"room{seed}_{suite.frames}f_{suite.width}x{suite.height}_{suite.objects}o"
    if not (scene_dir / ".complete").exists():
        synth = SynthConfig(
            seed=seed,
            frames=suite.frames,
            width=suite.width,
            height=suite.height,
            objects=suite.objects,
            depth_noise=False,
            color_noise=0.0,
        )
        generate_scene(scene_dir, synth, progress=False)
        (scene_dir / ".complete").touch()
    model_dir = cache / f"{scene_dir.name}_gs{suite.iterations}"
    # A coarser seeding grid and a cap keep the model at a few ten thousand Gaussians (CPU budget).
    config = TrainConfig(
        iterations=suite.iterations,
        sh_degree=1,
        sh_every=max(1, suite.iterations // 3),
        densify_until=int(0.7 * suite.iterations),
        depth_lambda=0.1,
        seed=seed,
        init=InitConfig(voxel=0.05),
        densify=DensifyConfig(max_gaussians=30_000),
    )
    if not (model_dir / "metrics.json").exists():
        train_from_scene(scene_dir, model_dir, config)
    metrics = json.loads((model_dir / "metrics.json").read_text())
    g = read_gaussians_ply(model_dir / "point_cloud.ply")
    frames = list(open_scene(scene_dir).stream)
    cams = [Camera.from_frame(f) for f in frames]
    objects = json.loads((scene_dir / "scene.json").read_text())["objects"]
    room = [o["instance"] for o in objects if o["label"] in ROOM_LABELS]
    gts = []
    for f in frames:
        path = scene_dir / "gt_2d" / "instance" / f"{f.name}.png"
        ids = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if ids is None:
            raise FileNotFoundError(f"{path}: missing GT instance map")
        gts.append(np.where((ids > 0) & ~np.isin(ids, room), ids.astype(np.int64), -1))
    train, held = split_views(len(cams), config.holdout_every)
    return PreparedScene(
        g,
        [cams[i] for i in train],
        [gts[i] for i in train],
        [frames[i].color for i in train],
        [cams[i] for i in held],
        [gts[i] for i in held],
        metrics,
    )


def run_room(cache: Path, seed: int, suite: Trace3DSuite, done: dict | None, progress: bool) -> tuple[int, float, dict]:
    """One room, start to end (a unit of work for a worker process): (seed, held-out PSNR, variants)."""
    import torch

    # The rasterizer's small tensors gain nothing from threads, and on a shared 2-core machine intra-op
    # threads contend with other processes (measured: 7x slower with 2 threads under load).
    torch.set_num_threads(1)
    scene = prepare_scene(cache, seed, suite)
    return seed, scene.metrics["psnr_holdout"], run_variants(scene, suite, seed, progress=progress, done=done)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.trace3d", description=package.__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"the small suite ({QUICK.name!r})")
    parser.add_argument("--seeds", help="comma-separated room seeds (default: the suite's)")
    parser.add_argument("--iterations", type=int, help="Gaussian training steps")
    parser.add_argument("--cache", default=str(HERE / ".cache" / "trace3d"))
    parser.add_argument("--results", default=str(HERE / "results"))
    parser.add_argument("--markdown", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--jobs", type=int, default=1, help="rooms run in parallel, one process each")
    parser.add_argument("--fresh", action="store_true", help="ignore the rooms an interrupted run finished")
    args = parser.parse_args(argv)

    suite = QUICK if args.quick else FULL
    if args.seeds:
        suite = replace(suite, seeds=tuple(int(s) for s in args.seeds.split(",")))
    if args.iterations:
        suite = replace(suite, iterations=args.iterations)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    from tracklift.io.atomic import atomic_write_text

    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    partial = cache / f"{suite.name}.partial.json"  # finished rooms survive a crash; removed at the end
    per_scene, psnrs = {}, {}
    if partial.is_file() and not args.fresh:
        done = json.loads(partial.read_text())
        if done["suite"] == json.loads(json.dumps(asdict(suite))):
            per_scene = {int(k): v for k, v in done["scenes"].items()}
            psnrs = {int(k): v for k, v in done["psnr_holdout_per_room"].items()}
            print(
                f"resuming: rooms {sorted(per_scene)} from {partial}; variants they miss are run (--fresh to redo them)"
            )
    todo = [seed for seed in suite.seeds if set(per_scene.get(seed, {})) != {*VARIANTS, "o"}]
    jobs = max(1, min(args.jobs, len(todo)))
    rooms = (run_room(cache, seed, suite, per_scene.get(seed), progress=True) for seed in todo)
    pool = None
    if jobs > 1:  # one room per process; their progress bars would garble each other
        pool = ProcessPoolExecutor(jobs, mp_context=get_context("spawn"))
        futures = [pool.submit(run_room, cache, seed, suite, per_scene.get(seed), False) for seed in todo]
        rooms = (future.result() for future in as_completed(futures))
    try:
        for seed, psnr, variants in rooms:
            psnrs[seed], per_scene[seed] = psnr, variants
            for key, row in variants.items():
                print(
                    f"room {seed} ({key}) {row['variant']:<30} 2D {100 * row['mask_miou_2d']:5.1f}  "
                    f"3D {100 * row['extraction_miou_3d']:5.1f}",
                    flush=True,
                )
            atomic_write_text(partial, json.dumps(results_doc(suite, per_scene, psnrs), indent=2) + "\n")
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    per_scene = {seed: per_scene[seed] for seed in suite.seeds}  # rooms in seed order, however they finished
    doc = results_doc(suite, per_scene, psnrs)
    from benchmarks.run import record

    record(doc, results / "trace3d.json", args.markdown)
    partial.unlink()
    return 0
