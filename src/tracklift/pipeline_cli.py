"""`tracklift segment SCENE --out OUT`: segment an RGB-D scene into 3D instances (OpenTrack3D pipeline)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scene", help="scene folder (any supported layout)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--masks", help="precomputed 2D masks folder (<frame>.png/.json or <frame>.npz)")
    parser.add_argument("--mesh", help="mesh PLY to write predictions over (default: the scene's mesh, if any)")
    add_options(parser)
    parser.set_defaults(func=run)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options that do not name a scene's own files (shared with `tracklift batch`)."""
    parser.add_argument("--segmenter", help="precomputed | rgbd[:options] | hf:<detector>=<model>,sam=<model>[,...] "
                        "(default: precomputed with --masks, else rgbd)")
    parser.add_argument("--features", default="handcrafted", help="handcrafted | dinov2:<model> | none (default handcrafted)")
    parser.add_argument("--mode", default="fused", choices=("fused", "spatial", "visual"), help="tracker association")
    parser.add_argument("--no-refine", action="store_true", help="skip consistency refinement from the tracing table")
    parser.add_argument("--no-mesh", action="store_true", help="write over the fused point map even if a mesh exists")
    parser.add_argument("--stride", type=int, default=1, help="use every N-th frame")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    parser.add_argument("--voxel", type=float, default=0.03, help="voxel size in metres (default 0.03)")
    parser.add_argument("--pixel-stride", type=int, default=2, help="lift every N-th pixel per row and column (default 2)")
    parser.add_argument("--vocab", default="scannet200", help="vocabulary for label ids (default scannet200)")
    parser.add_argument("--classifier", default="vote",
                        help="name instances: vote (2D label votes mapped by MiniLM, no weights) | clip:<model> | "
                             "siglip:<model> | llm:<url-or-model> | none (majority of exact 2D labels)")
    parser.add_argument("--cache-dir", help="cache of LLM answers and text embeddings (default OUT/.cache)")
    parser.add_argument("--pictures", type=int, default=3, help="frames drawn in the PNG overview (0 = no pictures)")


def run(args: argparse.Namespace) -> int:
    print(json.dumps(segment(args), indent=1))
    return 0


def segment(args: argparse.Namespace) -> dict:
    """Segment `args.scene` into `args.out` (the options of `configure`); returns the run statistics and the
    paths written."""
    from dataclasses import asdict

    from tracklift.data.scene import open_scene
    from tracklift.io.instances_out import write_scene
    from tracklift.lift.lifter import LiftConfig
    from tracklift.pipeline import (
        PipelineConfig, instance_masks, make_features, make_segmenter, map_scene, reference_points,
    )
    from tracklift.track.config import TrackerConfig
    from tracklift.vocab import load_vocabulary

    if args.stride < 1:
        raise ValueError(f"--stride must be ≥ 1, got {args.stride}")
    if args.pixel_stride < 1:
        raise ValueError(f"--pixel-stride must be ≥ 1, got {args.pixel_stride}")
    if args.voxel <= 0:
        raise ValueError(f"--voxel must be positive, got {args.voxel}")
    if args.masks is not None and not Path(args.masks).is_dir():
        raise FileNotFoundError(f"{args.masks}: no such masks folder")
    if args.mesh is not None and not Path(args.mesh).is_file():
        raise FileNotFoundError(f"{args.mesh}: no such mesh file")
    vocab = load_vocabulary(args.vocab)
    scene = open_scene(args.scene, stride=args.stride, max_frames=args.max_frames)
    segmenter = make_segmenter(args.segmenter or ("precomputed" if args.masks else "rgbd"), args.masks,
                               [vocab.name_of(i) for i in vocab.evaluated])
    features = make_features("none" if args.mode == "spatial" else args.features)
    config = PipelineConfig(lift=LiftConfig(voxel=args.voxel, stride=args.pixel_stride),
                            tracker=TrackerConfig(mode=args.mode))
    if args.no_refine:
        config.refine = None
    mapper = map_scene(scene, segmenter, features, config, progress=True)
    instances = mapper.instances()
    if args.classifier != "none":
        from tracklift.classify.backends import make_classifier
        from tracklift.classify.label import labeller

        classifier = make_classifier(args.classifier, args.cache_dir or Path(args.out) / ".cache")
        labeller(classifier, vocab, progress=True)(scene, instances)
    mesh_path = None if args.no_mesh else args.mesh
    if args.no_mesh:
        from tracklift.track.transfer import fused_points

        points, faces, reference = fused_points(instances), None, "fused"
    else:
        points, faces, reference = reference_points(scene, mesh_path, instances, args.voxel)
    masks = instance_masks(instances, points, args.voxel, background=mapper.background_points(), faces=faces)
    stats = {**asdict(mapper.stats), "frames_unreadable": len(getattr(scene.stream, "skipped", [])),
             "instances": len(instances)}
    paths = write_scene(args.out, scene.name, instances, masks, points, vocab, scene_dir=scene.root,
                        reference=reference, faces=faces, extra={"run": stats})
    if args.pictures > 0:
        _pictures(args.out, scene, instances, args.pictures, args.voxel)
    return {"scene": scene.name, **stats, "outputs": {k: str(v) for k, v in paths.items()}}


def _pictures(out: str, scene, instances, count: int, voxel: float) -> None:
    from tracklift.data.frame import BadFrameError
    from tracklift.io.pictures import frames_picture, top_down_picture, write_png

    n = len(scene.stream)
    frames = []
    for k in sorted({int(round(x)) for x in [(n - 1) * (j + 0.5) / count for j in range(count)]}):
        try:
            frames.append(scene.stream[k])
        except (BadFrameError, FileNotFoundError, ValueError) as err:
            log.warning("picture: skipping frame %d: %s", k, err)
    if frames:
        write_png(Path(out) / f"{scene.name}_frames.png", frames_picture(frames, instances, voxel))
    names = [i.label or (max(i.label_votes, key=i.label_votes.get) if i.label_votes else str(i.id)) for i in instances]
    write_png(Path(out) / f"{scene.name}_topdown.png", top_down_picture(instances, names=names))
