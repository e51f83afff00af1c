"""`tracklift splat ...`: train Gaussians, lift 2D masks to 3D instances (Trace3D), extract and render.

    tracklift splat train SCENE --out DIR [--iters N] [--resume]
    tracklift splat lift DIR --masks MASKS_DIR [--correct] [--split-prune] [--method closed|contrastive]
    tracklift splat extract DIR --instance ID --out OBJ.ply
    tracklift splat render DIR --out PNG_DIR [--instances] [--remove ID ...] [--recolor ID R G B]

torch is imported inside the commands, so `tracklift splat --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

MODEL_FILE = "point_cloud.ply"
SEGMENTED_FILE = "segmented.ply"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="splat_command", metavar="SPLAT_COMMAND", required=True)

    p = sub.add_parser("train", help="fit Gaussians to an RGB-D scene, a COLMAP folder or a transforms.json")
    p.add_argument("scene", help="scene folder (any RGB-D layout), COLMAP folder, or transforms.json")
    p.add_argument("--out", required=True, help="output folder: point_cloud.ply, metrics.json, cameras.json")
    p.add_argument("--iters", type=int, default=2000, help="optimisation steps (default 2000)")
    p.add_argument("--sh-degree", type=int, default=3)
    p.add_argument("--holdout-every", type=int, default=8, help="every n-th view is held out for PSNR")
    p.add_argument("--voxel", type=float, default=0.02,
                   help="metres; RGB-D points are fused on this grid to seed Gaussians")
    p.add_argument("--stride", type=int, default=1, help="use every n-th frame of an RGB-D scene")
    p.add_argument("--max-frames", type=int)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_train)

    p = sub.add_parser("lift", help="per-Gaussian instance ids from 2D masks (instances.npy/.json)")
    p.add_argument("model", help="folder written by `splat train`")
    p.add_argument("--masks", required=True, help="precomputed masks folder (<frame>.png/.json or <frame>.npz)")
    p.add_argument("--correct", action="store_true",
                   help="correct the masks across views first (writes MODEL/corrected_masks)")
    p.add_argument("--split-prune", action="store_true", help="GIT-guided split/prune of ambiguous Gaussians")
    p.add_argument("--keep-unresolved", action="store_true",
                   help="with --split-prune: keep a parent whose two children both stay ambiguous (no refit follows)")
    p.add_argument("--method", choices=("closed", "contrastive"), default="closed")
    p.add_argument("--granularity", choices=("coarse", "fine"), default="coarse",
                   help="overlapping masks: larger or smaller on top")
    p.add_argument("--threshold", type=float, default=0.5, help="mask-correction merge threshold")
    p.add_argument("--mode", choices=("alpha", "count"), default="alpha", help="tracing weight: alpha*T or pixel count")
    p.add_argument("--iters", type=int, default=300, help="contrastive lifting steps")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_lift)

    p = sub.add_parser("extract", help="write one instance's Gaussians as an INRIA PLY")
    p.add_argument("model", help="folder with instances.npy/.json (after `splat lift`)")
    p.add_argument("--instance", type=int, action="append", required=True, help="instance id (repeatable)")
    p.add_argument("--out", required=True, help="output .ply")
    p.set_defaults(func=run_extract)

    p = sub.add_parser("render", help="render the model's views to PNG (colour, optionally instance maps)")
    p.add_argument("model", help="folder written by `splat train` (and `splat lift`)")
    p.add_argument("--out", required=True, help="folder for <view>.png (and <view>_instances.png)")
    p.add_argument("--instances", action="store_true", help="also write colour-coded instance maps")
    p.add_argument("--remove", type=int, action="append", default=[], help="instance id to remove (repeatable)")
    p.add_argument("--recolor", type=float, nargs=4, metavar=("ID", "R", "G", "B"), action="append", default=[],
                   help="paint an instance a flat colour (R G B in [0, 1]; repeatable)")
    p.add_argument("--views", choices=("all", "holdout", "train"), default="all")
    p.set_defaults(func=run_render)


def _is_posed_image_dataset(path: Path) -> bool:
    from tracklift.splat.cameras_io import find_colmap_model

    return path.suffix == ".json" or (path / "transforms.json").is_file() or find_colmap_model(path) is not None


def run_train(args: argparse.Namespace) -> int:
    from tracklift.splat.camera import Camera
    from tracklift.splat.camera_file import CAMERAS_FILE, write_cameras
    from tracklift.splat.train import TrainConfig, split_views, train_from_dataset, train_from_scene

    source, out = Path(args.scene), Path(args.out)
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such scene folder or file")
    config = TrainConfig(
        iterations=args.iters, sh_degree=args.sh_degree, holdout_every=args.holdout_every, seed=args.seed
    )
    config.init.voxel = args.voxel
    config.densify_until = min(config.densify_until, int(0.75 * args.iters))
    if _is_posed_image_dataset(source):
        from tracklift.splat.cameras_io import read_posed_images

        cameras = [p.camera for p in read_posed_images(source)[0]]
        _, metrics = train_from_dataset(source, out, config, resume=args.resume)
    else:
        from tracklift.data.scene import open_scene

        scene = open_scene(source, stride=args.stride, max_frames=args.max_frames)
        cameras = [Camera.from_frame(f) for f in scene.stream]
        _, metrics = train_from_scene(
            source, out, config, stride=args.stride, max_frames=args.max_frames, resume=args.resume
        )
    _, held = split_views(len(cameras), config.holdout_every)
    write_cameras(out / CAMERAS_FILE, cameras, [i in set(held) for i in range(len(cameras))])
    print(json.dumps(metrics, indent=2))
    return 0


def load_model(model_dir: Path, segmented: bool):
    """(Gaussians, cameras, holdout flags) of a model folder; the segmented Gaussians when asked and present."""
    from tracklift.splat.camera_file import CAMERAS_FILE, read_cameras
    from tracklift.splat.instances import INFO_FILE
    from tracklift.splat.ply import read_gaussians_ply

    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: no such model folder")
    ply = model_dir / MODEL_FILE
    info = model_dir / INFO_FILE
    if segmented and info.is_file():
        ply = model_dir / json.loads(info.read_text()).get("gaussians", MODEL_FILE)
    cameras, holdout = read_cameras(model_dir / CAMERAS_FILE)
    return read_gaussians_ply(ply), cameras, holdout


def read_view_masks(masks_dir: Path, cameras: list) -> tuple[list, list]:
    """The masks of every camera that has a masks file: (cameras, FrameMasks); views without are skipped."""
    from tracklift.segment2d.precomputed import read_masks

    if not masks_dir.is_dir():
        raise FileNotFoundError(f"{masks_dir}: no such masks folder")
    used, masks = [], []
    for cam in cameras:
        # RGB-D frames are named like their masks ("0"); posed-image views by their image path.
        names = [
            n for n in (cam.name, Path(cam.name).stem)
            if any((masks_dir / f"{n}{e}").is_file() for e in (".png", ".npz"))
        ]
        if not names:
            log.warning("view %s: no masks in %s, skipped", cam.name, masks_dir)
            continue
        used.append(cam)
        masks.append(read_masks(masks_dir, names[0], (cam.height, cam.width)))  # checks the size
    if len(used) < 2:
        raise ValueError(f"{masks_dir}: masks found for {len(used)} of {len(cameras)} views; lifting needs at least 2")
    return used, masks


def run_lift(args: argparse.Namespace) -> int:
    import numpy as np

    from tracklift.splat.apps import granularity_maps
    from tracklift.splat.instances import write_instances
    from tracklift.splat.ply import write_gaussians_ply

    model_dir = Path(args.model)
    g, cameras, _ = load_model(model_dir, segmented=False)
    cameras, masks = read_view_masks(Path(args.masks), cameras)
    report: dict = {"views": len(cameras), "method": args.method}
    if args.correct:
        from tracklift.segment2d.precomputed import write_masks
        from tracklift.splat.correct import CorrectionConfig, correct_masks

        config = CorrectionConfig(threshold=args.threshold, mode=args.mode)
        masks, report["correction"] = correct_masks(g, cameras, masks, config, progress=True)
        for cam, fm in zip(cameras, masks):
            write_masks(model_dir / "corrected_masks", Path(cam.name).stem if "/" in cam.name else cam.name, fm)
    pick = 1 if args.granularity == "coarse" else 0
    label_maps = [granularity_maps(fm)[pick] for fm in masks]
    if args.split_prune:
        from tracklift.splat.density import SplitPruneConfig, split_and_prune
        from tracklift.splat.lift import with_background

        config = SplitPruneConfig(mode=args.mode, keep_unresolved=args.keep_unresolved)
        g, report["split_prune"] = split_and_prune(g, cameras, with_background(label_maps)[0], config, progress=True)
    names = [list(fm.labels) for fm in masks]
    if args.method == "closed":
        from tracklift.splat.lift import LiftConfig, lift_closed_form

        inst = lift_closed_form(g, cameras, label_maps, LiftConfig(mode=args.mode), labels=names, progress=True)
    else:
        from tracklift.splat.contrastive import ContrastiveConfig, lift_contrastive

        config = ContrastiveConfig(iterations=args.iters, seed=args.seed)
        inst, feats = lift_contrastive(g, cameras, label_maps, config, progress=True)
        np.save(model_dir / "features.npy", feats.numpy())
    write_gaussians_ply(model_dir / SEGMENTED_FILE, g)
    write_instances(model_dir, inst, SEGMENTED_FILE, **report)
    summary = {**report, "instances": inst.count, "assigned": int((inst.instance >= 0).sum()), "gaussians": g.n}
    print(json.dumps(summary, indent=2))
    return 0


def run_extract(args: argparse.Namespace) -> int:
    from tracklift.splat.apps import extract
    from tracklift.splat.instances import read_instances
    from tracklift.splat.ply import write_gaussians_ply

    model_dir = Path(args.model)
    inst, _ = read_instances(model_dir)
    g, _, _ = load_model(model_dir, segmented=True)
    obj = extract(g, inst, args.instance)
    write_gaussians_ply(args.out, obj)
    print(f"wrote {obj.n} Gaussians of instance(s) {args.instance} to {args.out}")
    return 0


def run_render(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np
    import torch
    from tqdm import tqdm

    from tracklift.splat.apps import colorize, recolor, remove, render_instance_map
    from tracklift.splat.instances import INFO_FILE, read_instances
    from tracklift.splat.rasterize import rasterize

    model_dir, out = Path(args.model), Path(args.out)
    lifted = (model_dir / INFO_FILE).is_file()
    if (args.instances or args.remove or args.recolor) and not lifted:
        raise FileNotFoundError(
            f"{model_dir / INFO_FILE}: missing; --instances/--remove/--recolor need `splat lift` first"
        )
    g, cameras, holdout = load_model(model_dir, segmented=lifted)
    inst = read_instances(model_dir)[0] if lifted else None
    for entry in args.recolor:
        g = recolor(g, inst, [int(entry[0])], tuple(entry[1:]))
    if args.remove:
        g, inst = remove(g, inst, args.remove)
    views = [c for c, h in zip(cameras, holdout) if args.views == "all" or h == (args.views == "holdout")]
    out.mkdir(parents=True, exist_ok=True)
    for cam in tqdm(views, desc="splat render", unit="view"):
        with torch.no_grad():
            color = rasterize(g, cam).color.clamp(0, 1).numpy()
        _write_png(out / f"{cam.name}.png", (color * 255 + 0.5).astype(np.uint8), cv2)
        if args.instances:
            _write_png(out / f"{cam.name}_instances.png", colorize(render_instance_map(g, inst.instance, cam)), cv2)
    print(f"rendered {len(views)} view(s) to {out}")
    return 0


def _write_png(path: Path, rgb, cv2) -> None:
    from tracklift.io.atomic import atomic_open

    ok, data = cv2.imencode(".png", rgb[..., ::-1])
    if not ok:
        raise ValueError(f"{path}: PNG encoding failed")
    with atomic_open(path, "wb") as f:
        f.write(data.tobytes())
