"""`tracklift splat ...`: train Gaussians, lift 2D masks to 3D instances (Trace3D), extract and render.

    tracklift splat train SCENE --out DIR [--iters N] [--voxel M] [--checkpoint-every N] [--resume]
    tracklift splat lift DIR --masks MASKS_DIR [--correct] [--split-prune [--refit N] [--images DATASET]]
                         [--method closed|contrastive] [--checkpoint CKPT_DIR [--checkpoint-every N] --resume]
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
    from tracklift.splat.train import TrainConfig

log = logging.getLogger(__name__)

# `splat train` flags that override a TrainConfig field only when given (flag dest -> (section, field);
# section None = TrainConfig itself), so that the dataclasses' tuned defaults hold otherwise.
TRAIN_FLAGS = {
    "iters": (None, "iterations"),
    "sh_degree": (None, "sh_degree"),
    "holdout_every": (None, "holdout_every"),
    "seed": (None, "seed"),
    "resolution": (None, "resolution"),
    "voxel": ("init", "voxel"),
    "checkpoint_every": (None, "checkpoint_every"),
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

    p = sub.add_parser(
        "train",
        help="fit Gaussians to an RGB-D scene, a COLMAP folder or a transforms.json",
        formatter_class=_TrainHelpFormatter,
    )
    p.add_argument("scene", help="scene folder (any RGB-D layout), COLMAP folder, or transforms.json")
    p.add_argument(
        "--out", required=True, help="output folder: point_cloud.ply, metrics.json, cameras.json, source.json"
    )
    p.add_argument("--iters", type=int, help="optimisation steps")
    p.add_argument("--sh-degree", type=int, help="spherical-harmonics degree of the colours")
    p.add_argument("--holdout-every", type=int, help="every n-th view is held out for PSNR (0 = none)")
    p.add_argument(
        "-r",
        "--resolution",
        "--downscale",
        dest="resolution",
        type=int,
        help="training resolution as the reference 3DGS trainer's -r: 1, 2, 4 or 8 divide width and height, "
        "any other value is the target width in pixels; cameras.json, held-out views and renders follow",
    )
    p.add_argument("--voxel", type=float, help="metres; RGB-D points are fused on this grid to seed Gaussians")
    p.add_argument("--stride", type=int, default=1, help="use every n-th frame of an RGB-D scene")
    p.add_argument("--max-frames", type=int)
    p.add_argument(
        "--checkpoint-every",
        type=int,
        help="steps between saves of OUT/checkpoint.pt (model, optimiser state, step; 0 = only at the end)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT/checkpoint.pt (after a crash or a kill: the outputs equal an unbroken run's)",
    )
    p.add_argument("--seed", type=int, help="random seed of initialisation and view order")
    p.set_defaults(func=run_train)

    p = sub.add_parser("lift", help="per-Gaussian instance ids from 2D masks (instances.npy/.json)")
    p.add_argument("model", help="folder written by `splat train`")
    p.add_argument("--masks", required=True, help="precomputed masks folder (<frame>.png/.json or <frame>.npz)")
    p.add_argument(
        "--correct", action="store_true", help="correct the masks across views first (writes MODEL/corrected_masks)"
    )
    p.add_argument("--split-prune", action="store_true", help="GIT-guided split/prune of ambiguous Gaussians")
    p.add_argument(
        "--keep-unresolved",
        action="store_true",
        help="with --split-prune: keep a parent whose two children both stay ambiguous (rather than "
        "leave a gap; useful without --refit)",
    )
    p.add_argument(
        "--split-axes",
        type=int,
        choices=(1, 2, 3),
        help="with --split-prune: how many of a Gaussian's largest axes are tried as the split "
        "direction (one tracing pass each; default: SplitPruneConfig's)",
    )
    p.add_argument(
        "--refit",
        type=int,
        default=0,
        metavar="N",
        help="with --split-prune: N photometric training steps afterwards on the lifted training "
        "views, so the survivors regrow into the gaps (needs their images; default 0 = off)",
    )
    p.add_argument(
        "--images",
        metavar="DATASET",
        help="with --refit: the training data (RGB-D scene folder, COLMAP folder or transforms.json); "
        "default: the one in MODEL/source.json",
    )
    p.add_argument("--method", choices=("closed", "contrastive"), default="closed")
    p.add_argument(
        "--granularity",
        choices=("coarse", "fine"),
        default="coarse",
        help="overlapping masks: larger or smaller on top",
    )
    p.add_argument("--threshold", type=float, default=0.5, help="mask-correction merge threshold")
    p.add_argument("--mode", choices=("alpha", "count"), default="alpha", help="tracing weight: alpha*T or pixel count")
    p.add_argument("--iters", type=int, default=300, help="contrastive lifting steps")
    p.add_argument("--seed", type=int, default=0, help="random seed of contrastive lifting and --refit")
    p.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="save the run's state to DIR/<model>_lift.ckpt (atomically; removed once the outputs are written): "
        "the closed-form tracing pass every --checkpoint-every views and on Ctrl-C / SIGTERM; --correct, "
        "--split-prune, --refit and --method contrastive are whole-scene steps, saved when each ends",
    )
    p.add_argument("--checkpoint-every", type=int, default=10, help="views between checkpoints (default 10)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="with --checkpoint: continue from its file if there is one (same model, masks and flags only); "
        "the outputs are those of a run that never stopped",
    )
    p.set_defaults(func=run_lift)

    p = sub.add_parser("hierarchy", help="coarse and fine instances from multi-granularity masks (hierarchy.json)")
    p.add_argument("model", help="folder written by `splat train`")
    p.add_argument(
        "--masks", required=True, help="precomputed masks folder; overlapping masks (<frame>.npz) give the two levels"
    )
    p.add_argument("--correct", action="store_true", help="correct each level's masks across views first")
    p.add_argument("--threshold", type=float, default=0.5, help="mask-correction merge threshold")
    p.add_argument("--mode", choices=("alpha", "count"), default="alpha", help="tracing weight: alpha*T or pixel count")
    p.add_argument("--out", help="folder for colour-coded instance maps <view>_coarse.png and <view>_fine.png")
    p.set_defaults(func=run_hierarchy)

    p = sub.add_parser("extract", help="write one instance's Gaussians as an INRIA PLY")
    p.add_argument("model", help="folder with instances.npy/.json (after `splat lift`)")
    p.add_argument("--instance", type=int, action="append", required=True, help="instance id (repeatable)")
    p.add_argument("--out", required=True, help="output .ply")
    p.add_argument(
        "--level",
        choices=("fine", "coarse"),
        help="an instance of this `splat hierarchy` level (default: of `splat lift`)",
    )
    p.set_defaults(func=run_extract)

    p = sub.add_parser("render", help="render the model's views to PNG (colour, optionally instance maps)")
    p.add_argument("model", help="folder written by `splat train` (and `splat lift`)")
    p.add_argument(
        "--out",
        required=True,
        help="folder for <view>.png (and <view>_instances.png); <view> = frame name or image stem",
    )
    p.add_argument("--instances", action="store_true", help="also write colour-coded instance maps")
    p.add_argument(
        "--level",
        choices=("fine", "coarse"),
        help="instances of this `splat hierarchy` level (default: of `splat lift`)",
    )
    p.add_argument("--remove", type=int, action="append", default=[], help="instance id to remove (repeatable)")
    p.add_argument(
        "--recolor",
        type=float,
        nargs=4,
        metavar=("ID", "R", "G", "B"),
        action="append",
        default=[],
        help="paint an instance a flat colour (R G B in [0, 1]; repeatable)",
    )
    p.add_argument("--views", choices=("all", "holdout", "train"), default="all")
    p.set_defaults(func=run_render)


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of `splat train`'s flags: the dataclass defaults, overridden by the flags given."""
    from tracklift.splat.train import InitConfig, TrainConfig

    given = {d: getattr(args, d) for d in TRAIN_FLAGS if getattr(args, d) is not None}
    fields = {
        section: {f: given[d] for d, (sec, f) in TRAIN_FLAGS.items() if sec == section and d in given}
        for section in (None, "init")
    }
    if "iters" in given:  # a short run still ends with steps that refine a fixed set of Gaussians
        fields[None]["densify_until"] = min(TrainConfig().densify_until, int(0.75 * args.iters))
    return TrainConfig(**fields[None], init=InitConfig(**fields["init"]))


def run_train(args: argparse.Namespace) -> int:
    from tracklift.splat.io.source import describe_source, write_source
    from tracklift.splat.train import train_from_dataset, train_from_scene

    source = describe_source(args.scene, stride=args.stride, max_frames=args.max_frames)
    config = train_config(args)
    out = Path(args.out)

    def finish(_metrics: dict) -> None:  # source.json is one of the outputs written before the model
        write_source(out, source)

    if source["kind"] == "posed_images":
        _, metrics = train_from_dataset(args.scene, out, config, resume=args.resume, before_model=finish)
    else:
        _, metrics = train_from_scene(
            args.scene,
            out,
            config,
            stride=args.stride,
            max_frames=args.max_frames,
            resume=args.resume,
            before_model=finish,
        )
    print(json.dumps(metrics, indent=2))
    return 0


def _check_refit_flags(args: argparse.Namespace) -> None:
    if args.refit < 0:
        raise ValueError(f"--refit must be >= 0 steps, got {args.refit}")
    if args.refit and not args.split_prune:
        raise ValueError("--refit regrows what --split-prune removed; it needs --split-prune")
    if args.images and not args.refit:
        raise ValueError("--images gives the training images for --refit; it needs --refit N")


def _lift_checkpoint(args: argparse.Namespace, model_dir: Path):
    """The LiftCheckpoint of `--checkpoint DIR [--checkpoint-every N] [--resume]` (a no-op one without)."""
    from tracklift.io.checkpoint import checkpoint_path
    from tracklift.splat.lift_checkpoint import LiftCheckpoint, inputs_key

    path = checkpoint_path(args.checkpoint, f"{model_dir.resolve().name}_lift.ckpt", args.resume)
    if path is None:
        return LiftCheckpoint(None)
    run_only = ("checkpoint", "checkpoint_every", "resume", "func", "verbose")  # no effect on the result
    options = {k: v for k, v in vars(args).items() if k not in run_only}
    key = inputs_key(model_dir, Path(args.masks), {k: str(v) for k, v in options.items()})
    return LiftCheckpoint(path, key, args.checkpoint_every, resume=args.resume)


def run_lift(args: argparse.Namespace) -> int:
    from tracklift.io.atomic import atomic_open
    from tracklift.splat.io.instances import write_instances
    from tracklift.splat.io.model import SEGMENTED_FILE, load_model, read_view_masks, view_stem
    from tracklift.splat.io.ply import write_gaussians_ply
    from tracklift.splat.lift_checkpoint import gaussians_from_state, gaussians_state
    from tracklift.splat.trace3d.hierarchy import granularity_maps

    _check_refit_flags(args)
    model_dir = Path(args.model)
    g, all_cameras, holdout, _ = load_model(model_dir)
    cameras, masks = read_view_masks(Path(args.masks), all_cameras)
    ckpt = _lift_checkpoint(args, model_dir)
    report: dict = {"views": len(cameras), "method": args.method}
    if args.refit:  # load the images first: a missing one should fail before the long steps
        from tracklift.splat.io.source import describe_source, load_view_images, read_source

        # Held-out views stay unseen, so the model's held-out PSNR keeps its meaning.
        held = {c.name for c, h in zip(all_cameras, holdout) if h}
        refit_cameras = [c for c in cameras if c.name not in held]
        if not refit_cameras:
            raise ValueError(f"{args.masks}: masks only for held-out views; --refit trains on the others")
        source = describe_source(args.images) if args.images else read_source(model_dir)
        images = load_view_images(source, refit_cameras)
    if args.correct:
        from tracklift.segment2d.precomputed import write_masks
        from tracklift.splat.trace3d.correct import CorrectionConfig, correct_masks

        if ckpt.done("correct") is None:
            config = CorrectionConfig(threshold=args.threshold, mode=args.mode)
            ckpt.finish("correct", correct_masks(g, cameras, masks, config, progress=True))
        masks, report["correction"] = ckpt.done("correct")
        for cam, fm in zip(cameras, masks):
            write_masks(model_dir / "corrected_masks", view_stem(cam.name), fm)
    pick = 1 if args.granularity == "coarse" else 0
    label_maps = [granularity_maps(fm)[pick] for fm in masks]
    if args.split_prune:
        from tracklift.splat.trace3d.closed_form import with_background
        from tracklift.splat.trace3d.instance_split import SplitPruneConfig, refit_with_report, split_and_prune

        if ckpt.done("split_prune") is None:
            axes = {"split_axes": args.split_axes} if args.split_axes else {}  # else the config's default
            config = SplitPruneConfig(mode=args.mode, keep_unresolved=args.keep_unresolved, **axes)
            labelled = with_background(label_maps, label_empty_views=True)[0]
            pruned, split_report = split_and_prune(g, cameras, labelled, config, progress=True)
            ckpt.finish("split_prune", (gaussians_state(pruned), split_report))
        state, report["split_prune"] = ckpt.done("split_prune")
        g = gaussians_from_state(state)
        if args.refit:
            if ckpt.done("refit") is None:
                refitted, refit_report = refit_with_report(
                    g, refit_cameras, images, args.refit, args.seed, progress=True
                )
                ckpt.finish("refit", (gaussians_state(refitted), refit_report))
            state, report["refit"] = ckpt.done("refit")
            g = gaussians_from_state(state)
            report["refit"]["source"] = source["path"]
    names = [list(fm.labels) for fm in masks]
    if args.method == "closed":
        from tracklift.splat.trace3d.closed_form import GaussianLiftConfig, lift_closed_form

        with ckpt.catching_signals():
            inst = lift_closed_form(
                g,
                cameras,
                label_maps,
                GaussianLiftConfig(mode=args.mode),
                labels=names,
                progress=True,
                resume=ckpt.traced(),
                after_view=ckpt.after_view(),
            )
    else:
        import numpy as np

        from tracklift.splat.trace3d.contrastive import ContrastiveConfig, lift_contrastive

        config = ContrastiveConfig(iterations=args.iters, seed=args.seed)
        inst, feats = lift_contrastive(g, cameras, label_maps, config, progress=True)
        with atomic_open(model_dir / "features.npy", "wb") as f:
            np.save(f, feats.numpy())
    write_gaussians_ply(model_dir / SEGMENTED_FILE, g)
    write_instances(model_dir, inst, SEGMENTED_FILE, **report)
    ckpt.remove()
    summary = {**report, "instances": inst.count, "assigned": int((inst.instance >= 0).sum()), "gaussians": g.n}
    print(json.dumps(summary, indent=2))
    return 0


def run_hierarchy(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from tracklift.io.png import write_png
    from tracklift.splat.io.hierarchy_file import write_hierarchy
    from tracklift.splat.io.model import MODEL_FILE, load_model, read_view_masks, view_stem
    from tracklift.splat.trace3d.closed_form import GaussianLiftConfig
    from tracklift.splat.trace3d.hierarchy import children_of, level_masks, lift_levels
    from tracklift.splat.trace3d.objects import colorize, render_instance_map

    model_dir = Path(args.model)
    g, all_cameras, _, _ = load_model(model_dir)
    cameras, masks = read_view_masks(Path(args.masks), all_cameras)
    levels = [level_masks(fm) for fm in masks]
    fine, coarse = [f for f, _ in levels], [c for _, c in levels]
    report: dict = {"views": len(cameras), "mode": args.mode}
    if args.correct:
        from tracklift.splat.trace3d.correct import CorrectionConfig, correct_masks

        config = CorrectionConfig(threshold=args.threshold, mode=args.mode)
        fine, fine_report = correct_masks(g, cameras, fine, config, progress=True)
        coarse, coarse_report = correct_masks(g, cameras, coarse, config, progress=True)
        report["correction"] = {"fine": fine_report, "coarse": coarse_report}
    lift_config = GaussianLiftConfig(mode=args.mode)
    fine_inst, coarse_inst, parent = lift_levels(g, cameras, fine, coarse, lift_config, progress=True)
    write_hierarchy(model_dir, fine_inst, coarse_inst, parent, MODEL_FILE, **report)
    if args.out:
        for cam in tqdm(all_cameras, desc="hierarchy maps", unit="view"):
            for level, inst in (("coarse", coarse_inst), ("fine", fine_inst)):
                ids = render_instance_map(g, inst.instance, cam)
                write_png(Path(args.out) / f"{view_stem(cam.name)}_{level}.png", colorize(ids))
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
    from tracklift.splat.io.model import FLAT, load_model
    from tracklift.splat.io.ply import write_gaussians_ply
    from tracklift.splat.trace3d.objects import extract

    g, _, _, inst = load_model(Path(args.model), args.level or FLAT)
    obj = extract(g, inst, args.instance)
    write_gaussians_ply(args.out, obj)
    print(f"wrote {obj.n} Gaussians of instance(s) {args.instance} to {args.out}")
    return 0


def run_render(args: argparse.Namespace) -> int:
    import numpy as np
    import torch
    from tqdm import tqdm

    from tracklift.io.png import write_png
    from tracklift.splat.io.instances import INFO_FILE
    from tracklift.splat.io.model import FLAT, load_model, view_stem
    from tracklift.splat.render.rasterizer import rasterize
    from tracklift.splat.trace3d.objects import colorize, recolor, remove, render_instance_map

    model_dir, out = Path(args.model), Path(args.out)
    # Without instances to edit, a lifted model still renders its segmented (split/pruned) Gaussians.
    wanted = args.instances or args.remove or args.recolor or (model_dir / INFO_FILE).is_file()
    g, cameras, holdout, inst = load_model(model_dir, args.level or (FLAT if wanted else None))
    for entry in args.recolor:
        g = recolor(g, inst, [int(entry[0])], tuple(entry[1:]))
    if args.remove:
        g, inst = remove(g, inst, args.remove)
    views = [c for c, h in zip(cameras, holdout) if args.views == "all" or h == (args.views == "holdout")]
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder (--out names the folder of the PNGs)")
    out.mkdir(parents=True, exist_ok=True)
    for cam in tqdm(views, desc="splat render", unit="view"):
        with torch.no_grad():
            color = rasterize(g, cam).color.clamp(0, 1).numpy()
        write_png(out / f"{view_stem(cam.name)}.png", (color * 255 + 0.5).astype(np.uint8))
        if args.instances:
            ids = render_instance_map(g, inst.instance, cam)
            write_png(out / f"{view_stem(cam.name)}_instances.png", colorize(ids))
    print(f"rendered {len(views)} view(s) to {out}")
    return 0
