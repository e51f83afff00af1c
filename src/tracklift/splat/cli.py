"""`tracklift splat ...`: train Gaussians, lift 2D masks to 3D instances (Trace3D), extract and render.

    tracklift splat train SCENE --out DIR [--iters N] [--voxel M] [--resume]
    tracklift splat lift DIR --masks MASKS_DIR [--correct] [--split-prune [--refit N] [--images DATASET]]
                         [--method closed|contrastive]
    tracklift splat hierarchy DIR --masks MASKS_DIR [--correct] [--mode alpha|count] [--out PNG_DIR]
    tracklift splat extract DIR --instance ID --out OBJ.ply [--level fine|coarse]
    tracklift splat render DIR --out PNG_DIR [--instances] [--level fine|coarse] [--remove ID ...]
                           [--recolor ID R G B]

torch is imported inside the commands, so `tracklift splat --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from tracklift.splat.camera import Camera
    from tracklift.splat.gaussians import Gaussians
    from tracklift.splat.instances import Instances
    from tracklift.splat.train import TrainConfig

log = logging.getLogger(__name__)

MODEL_FILE = "point_cloud.ply"
SEGMENTED_FILE = "segmented.ply"
FLAT = "flat"  # `load_model`: the instances of `splat lift` (the other choices are hierarchy levels)

# `splat train` flags that override a TrainConfig field only when given (flag dest -> (section, field);
# section None = TrainConfig itself), so that the dataclasses' tuned defaults hold otherwise.
TRAIN_FLAGS = {
    "iters": (None, "iterations"),
    "sh_degree": (None, "sh_degree"),
    "holdout_every": (None, "holdout_every"),
    "seed": (None, "seed"),
    "voxel": ("init", "voxel"),
}


def train_default(dest: str) -> int | float:
    """The default of a `TRAIN_FLAGS` flag: its field in a default TrainConfig."""
    from tracklift.splat.train import TrainConfig

    section, name = TRAIN_FLAGS[dest]
    config = TrainConfig()
    return getattr(getattr(config, section) if section else config, name)


class _TrainHelpFormatter(argparse.HelpFormatter):
    """States each config flag's default, read from the dataclasses only when help is shown (importing
    them imports torch, which the CLI avoids until a command runs)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        return f"{text} (default: {train_default(action.dest)})" if action.dest in TRAIN_FLAGS else text


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="splat_command", metavar="SPLAT_COMMAND", required=True)

    p = sub.add_parser("train", help="fit Gaussians to an RGB-D scene, a COLMAP folder or a transforms.json",
                       formatter_class=_TrainHelpFormatter)
    p.add_argument("scene", help="scene folder (any RGB-D layout), COLMAP folder, or transforms.json")
    p.add_argument("--out", required=True,
                   help="output folder: point_cloud.ply, metrics.json, cameras.json, source.json")
    p.add_argument("--iters", type=int, help="optimisation steps")
    p.add_argument("--sh-degree", type=int, help="spherical-harmonics degree of the colours")
    p.add_argument("--holdout-every", type=int, help="every n-th view is held out for PSNR (0 = none)")
    p.add_argument("--voxel", type=float, help="metres; RGB-D points are fused on this grid to seed Gaussians")
    p.add_argument("--stride", type=int, default=1, help="use every n-th frame of an RGB-D scene")
    p.add_argument("--max-frames", type=int)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--seed", type=int, help="random seed of initialisation and view order")
    p.set_defaults(func=run_train)

    p = sub.add_parser("lift", help="per-Gaussian instance ids from 2D masks (instances.npy/.json)")
    p.add_argument("model", help="folder written by `splat train`")
    p.add_argument("--masks", required=True, help="precomputed masks folder (<frame>.png/.json or <frame>.npz)")
    p.add_argument("--correct", action="store_true",
                   help="correct the masks across views first (writes MODEL/corrected_masks)")
    p.add_argument("--split-prune", action="store_true", help="GIT-guided split/prune of ambiguous Gaussians")
    p.add_argument("--keep-unresolved", action="store_true",
                   help="with --split-prune: keep a parent whose two children both stay ambiguous (rather than "
                        "leave a gap; useful without --refit)")
    p.add_argument("--split-axes", type=int, choices=(1, 2, 3),
                   help="with --split-prune: how many of a Gaussian's largest axes are tried as the split "
                        "direction (one tracing pass each; default: SplitPruneConfig's)")
    p.add_argument("--refit", type=int, default=0, metavar="N",
                   help="with --split-prune: N photometric training steps afterwards on the lifted training "
                        "views, so the survivors regrow into the gaps (needs their images; default 0 = off)")
    p.add_argument("--images", metavar="DATASET",
                   help="with --refit: the training data (RGB-D scene folder, COLMAP folder or transforms.json); "
                        "default: the one in MODEL/source.json")
    p.add_argument("--method", choices=("closed", "contrastive"), default="closed")
    p.add_argument("--granularity", choices=("coarse", "fine"), default="coarse",
                   help="overlapping masks: larger or smaller on top")
    p.add_argument("--threshold", type=float, default=0.5, help="mask-correction merge threshold")
    p.add_argument("--mode", choices=("alpha", "count"), default="alpha", help="tracing weight: alpha*T or pixel count")
    p.add_argument("--iters", type=int, default=300, help="contrastive lifting steps")
    p.add_argument("--seed", type=int, default=0, help="random seed of contrastive lifting and --refit")
    p.set_defaults(func=run_lift)

    p = sub.add_parser("hierarchy", help="coarse and fine instances from multi-granularity masks (hierarchy.json)")
    p.add_argument("model", help="folder written by `splat train`")
    p.add_argument("--masks", required=True,
                   help="precomputed masks folder; overlapping masks (<frame>.npz) give the two levels")
    p.add_argument("--correct", action="store_true", help="correct each level's masks across views first")
    p.add_argument("--threshold", type=float, default=0.5, help="mask-correction merge threshold")
    p.add_argument("--mode", choices=("alpha", "count"), default="alpha", help="tracing weight: alpha*T or pixel count")
    p.add_argument("--out", help="folder for colour-coded instance maps <view>_coarse.png and <view>_fine.png")
    p.set_defaults(func=run_hierarchy)

    p = sub.add_parser("extract", help="write one instance's Gaussians as an INRIA PLY")
    p.add_argument("model", help="folder with instances.npy/.json (after `splat lift`)")
    p.add_argument("--instance", type=int, action="append", required=True, help="instance id (repeatable)")
    p.add_argument("--out", required=True, help="output .ply")
    p.add_argument("--level", choices=("fine", "coarse"),
                   help="an instance of this `splat hierarchy` level (default: of `splat lift`)")
    p.set_defaults(func=run_extract)

    p = sub.add_parser("render", help="render the model's views to PNG (colour, optionally instance maps)")
    p.add_argument("model", help="folder written by `splat train` (and `splat lift`)")
    p.add_argument("--out", required=True,
                   help="folder for <view>.png (and <view>_instances.png); <view> = frame name or image stem")
    p.add_argument("--instances", action="store_true", help="also write colour-coded instance maps")
    p.add_argument("--level", choices=("fine", "coarse"),
                   help="instances of this `splat hierarchy` level (default: of `splat lift`)")
    p.add_argument("--remove", type=int, action="append", default=[], help="instance id to remove (repeatable)")
    p.add_argument("--recolor", type=float, nargs=4, metavar=("ID", "R", "G", "B"), action="append", default=[],
                   help="paint an instance a flat colour (R G B in [0, 1]; repeatable)")
    p.add_argument("--views", choices=("all", "holdout", "train"), default="all")
    p.set_defaults(func=run_render)


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of `splat train`'s flags: the dataclass defaults, overridden by the flags given."""
    from tracklift.splat.init import InitConfig
    from tracklift.splat.train import TrainConfig

    given = {d: getattr(args, d) for d in TRAIN_FLAGS if getattr(args, d) is not None}
    fields = {section: {f: given[d] for d, (sec, f) in TRAIN_FLAGS.items() if sec == section and d in given}
              for section in (None, "init")}
    config = TrainConfig(**fields[None], init=InitConfig(**fields["init"]))
    if "iters" in given:  # a short run still ends with steps that refine a fixed set of Gaussians
        config.densify_until = min(config.densify_until, int(0.75 * args.iters))
    return config


def run_train(args: argparse.Namespace) -> int:
    from tracklift.splat.camera import Camera
    from tracklift.splat.camera_file import CAMERAS_FILE, write_cameras
    from tracklift.splat.source import describe_source, write_source
    from tracklift.splat.train import split_views, train_from_dataset, train_from_scene

    source = describe_source(args.scene, stride=args.stride, max_frames=args.max_frames)
    config = train_config(args)
    out = Path(args.out)
    if source["kind"] == "posed_images":
        from tracklift.splat.cameras_io import read_posed_images

        cameras = [p.camera for p in read_posed_images(args.scene)[0]]
        _, metrics = train_from_dataset(args.scene, out, config, resume=args.resume)
    else:
        from tracklift.data.scene import open_scene

        scene = open_scene(args.scene, stride=args.stride, max_frames=args.max_frames)
        cameras = [Camera.from_frame(f) for f in scene.stream]
        _, metrics = train_from_scene(
            args.scene, out, config, stride=args.stride, max_frames=args.max_frames, resume=args.resume
        )
    _, held = split_views(len(cameras), config.holdout_every)
    write_cameras(out / CAMERAS_FILE, cameras, [i in set(held) for i in range(len(cameras))])
    write_source(out, source)
    print(json.dumps(metrics, indent=2))
    return 0


def load_model(
    model_dir: Path, instances: str | None = None
) -> tuple[Gaussians, list[Camera], list[bool], Instances | None]:
    """(Gaussians, cameras, holdout flags, Instances or None) of a model folder.

    instances: None = the trained Gaussians alone; FLAT = those `splat lift` segmented (its PLY) and their
    instances; "fine" / "coarse" = the Gaussians and instances of that `splat hierarchy` level.
    """
    from tracklift.splat.camera_file import CAMERAS_FILE, read_cameras
    from tracklift.splat.ply import read_gaussians_ply

    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: no such model folder")
    ply, inst = model_dir / MODEL_FILE, None
    if instances == FLAT:
        from tracklift.splat.instances import read_instances

        inst, info = read_instances(model_dir)
        ply = model_dir / info.get("gaussians", MODEL_FILE)
    elif instances is not None:
        from tracklift.splat.hierarchy_file import read_hierarchy

        fine, coarse, _, info = read_hierarchy(model_dir)
        inst = fine if instances == "fine" else coarse
        ply = model_dir / info["gaussians"]
    cameras, holdout = read_cameras(model_dir / CAMERAS_FILE)
    g = read_gaussians_ply(ply)
    if inst is not None and len(inst.instance) != g.n:
        raise ValueError(f"{ply}: has {g.n} Gaussians, its {instances} instances cover {len(inst.instance)}")
    return g, cameras, holdout, inst


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def view_stem(name: str) -> str:
    """A view's name as a file stem: posed-image views ("images/0.png") take their image's stem ("0"); RGB-D
    frames keep their name ("0", TUM "1305031102.175304")."""
    path = Path(name)
    return path.stem if path.suffix.lower() in IMAGE_SUFFIXES else path.name


def read_view_masks(masks_dir: Path, cameras: list) -> tuple[list, list]:
    """The masks of every camera that has a masks file: (cameras, FrameMasks); views without are skipped."""
    from tracklift.segment2d.precomputed import read_masks

    if not masks_dir.is_dir():
        raise FileNotFoundError(f"{masks_dir}: no such masks folder")
    used, masks = [], []
    for cam in cameras:
        # RGB-D frames are named like their masks ("0"); posed-image views by their image path.
        names = [
            n for n in (cam.name, view_stem(cam.name))
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


def _check_refit_flags(args: argparse.Namespace) -> None:
    if args.refit < 0:
        raise ValueError(f"--refit must be >= 0 steps, got {args.refit}")
    if args.refit and not args.split_prune:
        raise ValueError("--refit regrows what --split-prune removed; it needs --split-prune")
    if args.images and not args.refit:
        raise ValueError("--images gives the training images for --refit; it needs --refit N")


def _refit(
    g: Gaussians, cameras: list[Camera], images: list[np.ndarray], iterations: int, seed: int
) -> tuple[Gaussians, dict]:
    """`density.refit` and its report: steps, views and the views' mean PSNR (dB) before and after."""
    import torch

    from tracklift.splat.density import refit
    from tracklift.splat.train import TrainConfig, evaluate_psnr

    targets = [torch.as_tensor(im).float() / 255.0 for im in images]
    before = evaluate_psnr(g, cameras, targets, TrainConfig())  # refit trains with these render settings
    g = refit(g, cameras, images, iterations, seed, progress=True)
    after = evaluate_psnr(g, cameras, targets, TrainConfig())
    return g, {"iterations": iterations, "views": len(cameras), "psnr_before": before, "psnr_after": after}


def run_lift(args: argparse.Namespace) -> int:
    from tracklift.io.atomic import atomic_open
    from tracklift.splat.apps import granularity_maps
    from tracklift.splat.instances import write_instances
    from tracklift.splat.ply import write_gaussians_ply

    _check_refit_flags(args)
    model_dir = Path(args.model)
    g, all_cameras, holdout, _ = load_model(model_dir)
    cameras, masks = read_view_masks(Path(args.masks), all_cameras)
    report: dict = {"views": len(cameras), "method": args.method}
    if args.refit:  # load the images first: a missing one should fail before the long steps
        from tracklift.splat.source import describe_source, load_view_images, read_source

        # Held-out views stay unseen, so the model's held-out PSNR keeps its meaning.
        held = {c.name for c, h in zip(all_cameras, holdout) if h}
        refit_cameras = [c for c in cameras if c.name not in held]
        if not refit_cameras:
            raise ValueError(f"{args.masks}: masks only for held-out views; --refit trains on the others")
        source = describe_source(args.images) if args.images else read_source(model_dir)
        images = load_view_images(source, refit_cameras)
    if args.correct:
        from tracklift.segment2d.precomputed import write_masks
        from tracklift.splat.correct import CorrectionConfig, correct_masks

        config = CorrectionConfig(threshold=args.threshold, mode=args.mode)
        masks, report["correction"] = correct_masks(g, cameras, masks, config, progress=True)
        for cam, fm in zip(cameras, masks):
            write_masks(model_dir / "corrected_masks", view_stem(cam.name), fm)
    pick = 1 if args.granularity == "coarse" else 0
    label_maps = [granularity_maps(fm)[pick] for fm in masks]
    if args.split_prune:
        from tracklift.splat.density import SplitPruneConfig, split_and_prune
        from tracklift.splat.lift import with_background

        axes = {"split_axes": args.split_axes} if args.split_axes else {}  # else the config's default
        config = SplitPruneConfig(mode=args.mode, keep_unresolved=args.keep_unresolved, **axes)
        labelled = with_background(label_maps, label_empty_views=True)[0]
        g, report["split_prune"] = split_and_prune(g, cameras, labelled, config, progress=True)
        if args.refit:
            g, report["refit"] = _refit(g, refit_cameras, images, args.refit, args.seed)
            report["refit"]["source"] = source["path"]
    names = [list(fm.labels) for fm in masks]
    if args.method == "closed":
        from tracklift.splat.lift import LiftConfig, lift_closed_form

        inst = lift_closed_form(g, cameras, label_maps, LiftConfig(mode=args.mode), labels=names, progress=True)
    else:
        import numpy as np

        from tracklift.splat.contrastive import ContrastiveConfig, lift_contrastive

        config = ContrastiveConfig(iterations=args.iters, seed=args.seed)
        inst, feats = lift_contrastive(g, cameras, label_maps, config, progress=True)
        with atomic_open(model_dir / "features.npy", "wb") as f:
            np.save(f, feats.numpy())
    write_gaussians_ply(model_dir / SEGMENTED_FILE, g)
    write_instances(model_dir, inst, SEGMENTED_FILE, **report)
    summary = {**report, "instances": inst.count, "assigned": int((inst.instance >= 0).sum()), "gaussians": g.n}
    print(json.dumps(summary, indent=2))
    return 0


def run_hierarchy(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from tracklift.splat.apps import children_of, colorize, level_masks, lift_levels, render_instance_map
    from tracklift.splat.hierarchy_file import write_hierarchy
    from tracklift.splat.lift import LiftConfig

    model_dir = Path(args.model)
    g, all_cameras, _, _ = load_model(model_dir)
    cameras, masks = read_view_masks(Path(args.masks), all_cameras)
    levels = [level_masks(fm) for fm in masks]
    fine, coarse = [f for f, _ in levels], [c for _, c in levels]
    report: dict = {"views": len(cameras), "mode": args.mode}
    if args.correct:
        from tracklift.splat.correct import CorrectionConfig, correct_masks

        config = CorrectionConfig(threshold=args.threshold, mode=args.mode)
        fine, fine_report = correct_masks(g, cameras, fine, config, progress=True)
        coarse, coarse_report = correct_masks(g, cameras, coarse, config, progress=True)
        report["correction"] = {"fine": fine_report, "coarse": coarse_report}
    fine_inst, coarse_inst, parent = lift_levels(g, cameras, fine, coarse, LiftConfig(mode=args.mode), progress=True)
    write_hierarchy(model_dir, fine_inst, coarse_inst, parent, MODEL_FILE, **report)
    if args.out:
        for cam in tqdm(all_cameras, desc="hierarchy maps", unit="view"):
            for level, inst in (("coarse", coarse_inst), ("fine", fine_inst)):
                ids = render_instance_map(g, inst.instance, cam)
                _write_png(Path(args.out) / f"{view_stem(cam.name)}_{level}.png", colorize(ids))
    summary = {
        **report,
        "gaussians": g.n,
        **{
            level: {"instances": inst.count, "assigned": int((inst.instance >= 0).sum())}
            for level, inst in (("coarse", coarse_inst), ("fine", fine_inst))
        },
        "children": {str(c): kids for c, kids in enumerate(children_of(parent, coarse_inst.count))},
        "orphans": [int(f) for f in (parent < 0).nonzero()[0]],
    }
    print(json.dumps(summary, indent=2))
    return 0


def run_extract(args: argparse.Namespace) -> int:
    from tracklift.splat.apps import extract
    from tracklift.splat.ply import write_gaussians_ply

    g, _, _, inst = load_model(Path(args.model), args.level or FLAT)
    obj = extract(g, inst, args.instance)
    write_gaussians_ply(args.out, obj)
    print(f"wrote {obj.n} Gaussians of instance(s) {args.instance} to {args.out}")
    return 0


def run_render(args: argparse.Namespace) -> int:
    import numpy as np
    import torch
    from tqdm import tqdm

    from tracklift.splat.apps import colorize, recolor, remove, render_instance_map
    from tracklift.splat.instances import INFO_FILE
    from tracklift.splat.rasterize import rasterize

    model_dir, out = Path(args.model), Path(args.out)
    # Without instances to edit, a lifted model still renders its segmented (split/pruned) Gaussians.
    wanted = args.instances or args.remove or args.recolor or (model_dir / INFO_FILE).is_file()
    g, cameras, holdout, inst = load_model(model_dir, args.level or (FLAT if wanted else None))
    for entry in args.recolor:
        g = recolor(g, inst, [int(entry[0])], tuple(entry[1:]))
    if args.remove:
        g, inst = remove(g, inst, args.remove)
    views = [c for c, h in zip(cameras, holdout) if args.views == "all" or h == (args.views == "holdout")]
    out.mkdir(parents=True, exist_ok=True)
    for cam in tqdm(views, desc="splat render", unit="view"):
        with torch.no_grad():
            color = rasterize(g, cam).color.clamp(0, 1).numpy()
        _write_png(out / f"{view_stem(cam.name)}.png", (color * 255 + 0.5).astype(np.uint8))
        if args.instances:
            ids = render_instance_map(g, inst.instance, cam)
            _write_png(out / f"{view_stem(cam.name)}_instances.png", colorize(ids))
    print(f"rendered {len(views)} view(s) to {out}")
    return 0


def _write_png(path: Path, rgb) -> None:
    """rgb: [H, W, 3] uint8, written atomically."""
    import cv2

    from tracklift.io.atomic import atomic_open

    ok, data = cv2.imencode(".png", rgb[..., ::-1])
    if not ok:
        raise ValueError(f"{path}: PNG encoding failed")
    with atomic_open(path, "wb") as f:
        f.write(data.tobytes())
