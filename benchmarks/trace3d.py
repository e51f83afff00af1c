"""Trace3D ablation with controlled 2D inconsistency: `python -m benchmarks.trace3d [--quick] [--jobs 2]`.

Per synthetic room (`tracklift.synth`): train Gaussians on the RGB-D frames (every 8th view held out),
take the exact per-view instance masks of the training views (objects only: walls, floor and ceiling stay
unmasked, i.e. background) and make them inconsistent across views on purpose: touching objects merged
into one mask, objects split in two by a line, and coarse masks covering two touching objects laid over
their own masks (a granularity change). Then lift with the closed form
(`splat.trace3d.closed_form`) under four settings, as the paper's ablation: (a) no GIT, (b) mask correction only,
(c) split/prune only, (d) both; and the same four, (e)-(h), with contrastive lifting
(`splat.trace3d.contrastive`, the setting of the paper's ablation). Reported:

* 2D mask mIoU: the label maps that are lifted (corrected or not) against the exact masks, per object
  the best-matching mask, averaged over objects and training views;
* 3D extraction mIoU: every GT object is "clicked" in the training views (the instance most of its GT
  pixels render to); that instance's Gaussians are extracted and rendered alone in the held-out views;
  silhouette (alpha >= 0.5) IoU against the GT mask, with the parts hidden behind other Gaussians of the
  full model (rendered depth more than 5 cm behind) not counted; averaged per object, then over objects.

Writes `benchmarks/results/trace3d.json` and regenerates BENCHMARKS.md (`benchmarks.markdown.render`).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VARIANTS = {  # key: (name, mask correction, split/prune, lifting)
    "a": ("no GIT", False, False, "closed"),
    "b": ("mask correction", True, False, "closed"),
    "c": ("split/prune", False, True, "closed"),
    "d": ("both", True, True, "closed"),
    "e": ("contrastive, no GIT", False, False, "contrastive"),
    "f": ("contrastive, mask correction", True, False, "contrastive"),
    "g": ("contrastive, split/prune", False, True, "contrastive"),
    "h": ("contrastive, both", True, True, "contrastive"),
}
BASELINE = {"closed": "a", "contrastive": "e"}  # each lifting is compared with its own no-GIT row
# Room faces are left unmasked (background), as a segmenter prompted for objects would.
ROOM_LABELS = ("wall", "floor", "ceiling")


@dataclass(frozen=True)
class Trace3DSuite:
    """seeds: one room each. iterations: Gaussian training steps; refit_iterations: photometric steps
    after split/prune (`density.refit`; 0 = none); split_below, keep_unresolved, split_axes: see
    CorrectionConfig and SplitPruneConfig. merge_rate / coarse_rate: chance per
    touching object pair and training view of a merged mask / an extra coarse mask; split_rate: chance per
    object and view of a split. min_pixels: objects smaller than this in a view are not scored there."""

    name: str
    seeds: tuple[int, ...]
    tuned_on: tuple[int, ...] = ()
    frames: int = 40
    width: int = 160
    height: int = 120
    objects: int = 8
    iterations: int = 400
    merge_rate: float = 0.25
    split_rate: float = 0.15
    coarse_rate: float = 0.15
    min_pixels: int = 40
    refit_iterations: int = 100
    split_below: float = 0.95
    keep_unresolved: bool = True
    split_axes: int = 2
    mask_seed: int = 0


# The settings (split_below, keep_unresolved, split_axes, CorrectionConfig's agreement and separation
# weight) were chosen looking at rooms 0-3; rooms 4-11 are held out (8-11 were added once the settings were
# fixed and had never been run before).
FULL = Trace3DSuite("trace3d", seeds=tuple(range(12)), tuned_on=(0, 1, 2, 3))
QUICK = Trace3DSuite("trace3d_quick", seeds=(0,), frames=24, iterations=200)


def inconsistent_masks(gt: np.ndarray, rng: np.random.Generator, suite: Trace3DSuite):
    """Masks of one view from its exact instance map, made inconsistent (see the module docstring).

    gt: [H, W] int64 instance id per pixel, -1 = none. Returns FrameMasks (may overlap).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    from tracklift.core.label_maps import split_by_lines, touching_pairs
    from tracklift.core.masks import FrameMasks

    ids = np.unique(gt[gt >= 0])
    if len(ids) == 0:
        return FrameMasks.empty(*gt.shape)
    index = {int(k): i for i, k in enumerate(ids)}
    pairs = touching_pairs(gt)
    merged = pairs[rng.random(len(pairs)) < suite.merge_rate]
    links = np.array([[index[int(a)], index[int(b)]] for a, b in merged]).reshape(-1, 2)
    graph = csr_matrix((np.ones(len(links)), (links[:, 0], links[:, 1])), shape=(len(ids), len(ids)))
    _, group = connected_components(graph, directed=False)
    masks = [np.isin(gt, ids[group == c]) for c in np.unique(group)]
    out = []
    for m in masks:
        if m.sum() >= 4 * suite.min_pixels and rng.random() < suite.split_rate:
            rows, cols = np.nonzero(m)
            below, above = split_by_lines(m, rng.uniform(0, np.pi), [0.0], (cols.mean(), rows.mean()), side="right")
            out += [above, below]
        else:
            out.append(m)
    for a, b in pairs[rng.random(len(pairs)) < suite.coarse_rate]:
        out.append((gt == a) | (gt == b))
    return FrameMasks(np.stack([m for m in out if m.any()]))


def mask_miou(label_map: np.ndarray, gt: np.ndarray, min_pixels: int) -> list[float]:
    """Per GT object of one view (>= min_pixels): the best IoU of any label of `label_map` with it."""
    scores = []
    labels = np.unique(label_map[label_map >= 0])
    for k in np.unique(gt[gt >= 0]):
        obj = gt == k
        if obj.sum() < min_pixels:
            continue
        best = 0.0
        for lab in np.unique(label_map[obj & (label_map >= 0)]) if len(labels) else []:
            pred = label_map == lab
            best = max(best, (pred & obj).sum() / (pred | obj).sum())
        scores.append(best)
    return scores


def extraction_miou(g, inst, train_cams, train_gt, held_cams, held_gt, min_pixels: int) -> tuple[float, int]:
    """3D extraction mIoU (module docstring) and the number of GT objects scored."""
    import torch

    from tracklift.splat.trace3d.objects import extract, render_instance_map
    from tracklift.splat.render.rasterizer import rasterize

    votes: dict[int, dict[int, int]] = {}
    for cam, gt in zip(train_cams, train_gt):
        pred = render_instance_map(g, inst.instance, cam)
        for k in np.unique(gt[gt >= 0]):
            ids, counts = np.unique(pred[(gt == k) & (pred >= 0)], return_counts=True)
            for i, c in zip(ids.tolist(), counts.tolist()):
                votes.setdefault(int(k), {}).setdefault(i, 0)
                votes[int(k)][i] += c
    with torch.no_grad():
        scene = [rasterize(g, cam, colors=g.means.new_zeros(g.n, 1), background=None) for cam in held_cams]
    per_object: dict[int, list[float]] = {}
    objects = {}
    for view, (cam, gt) in enumerate(zip(held_cams, held_gt)):
        for k in np.unique(gt[gt >= 0]).tolist():
            target = gt == k
            if target.sum() < min_pixels:
                continue
            choice = max(votes[k], key=votes[k].get) if votes.get(k) else None
            if choice is None:
                per_object.setdefault(k, []).append(0.0)
                continue
            if choice not in objects:
                objects[choice] = extract(g, inst, [choice])
            obj = objects[choice]
            with torch.no_grad():
                out = rasterize(obj, cam, colors=obj.means.new_zeros(obj.n, 1), background=None)
            sil = out.alpha.numpy() >= 0.5
            hidden = sil & (scene[view].alpha.numpy() >= 0.5) & (out.depth.numpy() > scene[view].depth.numpy() + 0.05)
            pred = sil & ~hidden
            per_object.setdefault(k, []).append(float((pred & target).sum() / (pred | target).sum()))
    means = [float(np.mean(v)) for v in per_object.values()]
    return (float(np.mean(means)) if means else float("nan")), len(means)


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
    from tracklift.splat.trace3d.hierarchy import granularity_maps
    from tracklift.splat.trace3d.contrastive import ContrastiveConfig, lift_contrastive
    from tracklift.splat.trace3d.correct import CorrectionConfig, correct_masks
    from tracklift.splat.trace3d.instance_split import SplitPruneConfig, refit, split_and_prune
    from tracklift.splat.trace3d.closed_form import lift_closed_form, with_background

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
                    model = refit(model, train_cams, scene.train_images, suite.refit_iterations, seed, progress=progress)
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
        "variant": "exact masks (reference)", "lifting": "closed", "mask_miou_2d": 1.0, "extraction_miou_3d": miou3d,
        "objects_scored": n_objects, "instances": inst.count, "gaussians": g.n,
        "seconds": time.perf_counter() - started, "split_prune": None, "correction": None,
    }
    return results


def prepare_scene(cache: Path, seed: int, suite: Trace3DSuite) -> PreparedScene:
    """Generate (cached) the room and train (cached) its Gaussians."""
    import cv2

    from tracklift.data.scene import open_scene
    from tracklift.splat.render.camera import Camera
    from tracklift.splat.train.densify import DensifyConfig
    from tracklift.splat.train.init import InitConfig
    from tracklift.splat.io.ply import read_gaussians_ply
    from tracklift.splat.train import TrainConfig, train_from_scene
    from tracklift.splat.train.loop import split_views
    from tracklift.synth import SynthConfig, generate_scene

    scene_dir = cache / f"room{seed}_{suite.frames}f_{suite.width}x{suite.height}_{suite.objects}o"
    if not (scene_dir / ".complete").exists():
        synth = SynthConfig(seed=seed, frames=suite.frames, width=suite.width, height=suite.height,
                            objects=suite.objects, depth_noise=False, color_noise=0.0)
        generate_scene(scene_dir, synth, progress=False)
        (scene_dir / ".complete").touch()
    model_dir = cache / f"{scene_dir.name}_gs{suite.iterations}"
    # A coarser seeding grid and a cap keep the model at a few ten thousand Gaussians (CPU budget).
    config = TrainConfig(iterations=suite.iterations, sh_degree=1, sh_every=max(1, suite.iterations // 3),
                         densify_until=int(0.7 * suite.iterations), depth_lambda=0.1, seed=seed,
                         init=InitConfig(voxel=0.05), densify=DensifyConfig(max_gaussians=30_000))
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
    return PreparedScene(g, [cams[i] for i in train], [gts[i] for i in train], [frames[i].color for i in train],
                         [cams[i] for i in held], [gts[i] for i in held], metrics)


def run_room(cache: Path, seed: int, suite: Trace3DSuite, done: dict | None, progress: bool) -> tuple[int, float, dict]:
    """One room, start to end (a unit of work for a worker process): (seed, held-out PSNR, variants)."""
    import torch

    # The rasterizer's small tensors gain nothing from threads, and on a shared 2-core machine intra-op
    # threads contend with other processes (measured: 7x slower with 2 threads under load).
    torch.set_num_threads(1)
    scene = prepare_scene(cache, seed, suite)
    return seed, scene.metrics["psnr_holdout"], run_variants(scene, suite, seed, progress=progress, done=done)


def markdown_table(doc: dict) -> str:
    """The Trace3D section of BENCHMARKS.md from a results document."""
    s = doc["suite"]
    lines = [
        f"## Suite `{s['name']}` (Trace3D ablation)",
        "",
        f"{len(s['seeds'])} room(s) (seeds {', '.join(map(str, s['seeds']))}), {s['frames']} frames of "
        f"{s['width']}×{s['height']}, {s['objects']} objects, Gaussians trained {s['iterations']} steps; "
        f"inconsistency: merge {s['merge_rate']}, split {s['split_rate']}, coarse {s['coarse_rate']}; "
        f"correction split_below {s.get('split_below')}, split/prune keep_unresolved {s.get('keep_unresolved')}, "
        f"split_axes {s.get('split_axes', 1)}, "
        f"refit {s.get('refit_iterations', 0)} steps. Recorded {doc['date']} ({doc['machine']}). Mean over rooms; "
        "seconds include tracing, correction, split/prune, lifting and scoring (shared CPU).",
        "",
        "| variant | 2D mask mIoU | 3D extraction mIoU | Δ vs no GIT | instances | Gaussians | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, row in doc["mean"].items():
        delta = row["extraction_miou_3d"] - doc["mean"][BASELINE[row["lifting"]]]["extraction_miou_3d"]
        lines.append(
            f"| ({key}) {row['variant']} | {100 * row['mask_miou_2d']:.1f} | {100 * row['extraction_miou_3d']:.1f} | "
            f"{'' if key == 'o' else f'{100 * delta:+.1f}'} | {row['instances']:.1f} | {row['gaussians']:.0f} | "
            f"{row['seconds']:.0f} |"
        )
    held_out = [str(seed) for seed in s["seeds"] if seed not in s.get("tuned_on", ())]
    if s.get("tuned_on") and held_out:
        mean = {v: float(np.mean([doc["scenes"][k][v]["extraction_miou_3d"] for k in held_out])) for v in "adeh"}
        lines.append(
            f"\nSettings were chosen on rooms {', '.join(map(str, s['tuned_on']))}; on the held-out rooms "
            f"({', '.join(held_out)}) alone: closed form (a) {100 * mean['a']:.1f} → (d) {100 * mean['d']:.1f} "
            f"({100 * (mean['d'] - mean['a']):+.1f}), contrastive (e) {100 * mean['e']:.1f} → (h) "
            f"{100 * mean['h']:.1f} ({100 * (mean['h'] - mean['e']):+.1f})."
        )
    gains = [100 * (room["d"]["extraction_miou_3d"] - room["a"]["extraction_miou_3d"])
             for room in doc["scenes"].values() if "a" in room and "d" in room]
    if len(gains) > 1:
        lines.append(
            f"\nPer room, (d) − (a) spans {min(gains):+.1f} to {max(gains):+.1f} points; standard error of the "
            f"mean {np.std(gains, ddof=1) / np.sqrt(len(gains)):.1f}."
        )
    lines.append(
        "\nΔ: against the same lifting without GIT ((a) for closed form, (e) for contrastive). (o) lifts the "
        "exact masks: the most any mask correction can give with these Gaussians and this lifting."
        f"\n\nTraining: held-out PSNR {doc['psnr_holdout']:.2f} dB (mean). "
        "Paper (Replica, contrastive lifting): 62.5 → 72.1."
    )
    return "\n".join(lines)


def results_doc(suite: Trace3DSuite, per_scene: dict, psnrs: dict) -> dict:
    """The results document of the rooms done so far: per room and variant, and means over rooms (of the
    variants every room has; a resumed run may still miss some)."""
    mean = {}
    for key, first in per_scene[next(iter(per_scene))].items():
        rows = [rooms[key] for rooms in per_scene.values() if key in rooms]
        if len(rows) < len(per_scene):
            continue
        mean[key] = {"variant": first["variant"], "lifting": first["lifting"]}
        for m in ("mask_miou_2d", "extraction_miou_3d", "instances", "gaussians", "seconds"):
            mean[key][m] = float(np.mean([r[m] for r in rows]))
    return {
        "kind": "trace3d",
        "suite": asdict(suite),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, Python {platform.python_version()}, torch threads 1",
        "psnr_holdout": float(np.mean(list(psnrs.values()))),
        "psnr_holdout_per_room": {str(k): v for k, v in psnrs.items()},
        "mean": mean,
        "scenes": {str(k): v for k, v in per_scene.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.trace3d", description=__doc__.splitlines()[0])
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
            print(f"resuming: rooms {sorted(per_scene)} from {partial}; variants they miss are run (--fresh to redo them)")
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
                print(f"room {seed} ({key}) {row['variant']:<30} 2D {100 * row['mask_miou_2d']:5.1f}  "
                      f"3D {100 * row['extraction_miou_3d']:5.1f}", flush=True)
            atomic_write_text(partial, json.dumps(results_doc(suite, per_scene, psnrs), indent=2) + "\n")
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    per_scene = {seed: per_scene[seed] for seed in suite.seeds}  # rooms in seed order, however they finished
    doc = results_doc(suite, per_scene, psnrs)
    atomic_write_text(results / "trace3d.json", json.dumps(doc, indent=2) + "\n")
    partial.unlink()
    print(markdown_table(doc))
    from benchmarks.markdown import render

    atomic_write_text(Path(args.markdown), render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
