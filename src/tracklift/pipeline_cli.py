"""`tracklift segment SCENE --out OUT`: segment an RGB-D scene into 3D instances (OpenTrack3D pipeline)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

HISTORY_RADIUS = 0.5  # metres: a reference point takes the growth step of the nearest tracked voxel this close


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scene", help="scene folder (any supported layout)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--masks", help="precomputed 2D masks folder (<frame>.png/.json or <frame>.npz)")
    parser.add_argument("--mesh", help="mesh PLY to write predictions over (default: the scene's mesh, if any)")
    add_options(parser)
    parser.add_argument("--rerun", metavar="FILE.rrd",
                        help="log frames, masks, the growing instance map and boxes per frame to a rerun recording "
                             "(needs `pip install 'tracklift[rerun]'`)")
    parser.add_argument("--live", action="store_true",
                        help="open the web viewer while the stream is processed; it shows the result when done "
                             "and serves until Ctrl-C")
    parser.add_argument("--port", type=int, default=8080, help="with --live: port of the viewer (default 8080)")
    parser.add_argument("--host", help="with --live: address of the viewer (default 127.0.0.1, this machine only)")
    parser.set_defaults(func=run)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options that do not name a scene's own files (shared with `tracklift batch`)."""
    parser.add_argument("--segmenter", help="precomputed | rgbd[:options] | hf:<detector>=<model>,sam=<model>[,...] | "
                        "geo3d[:options] (3D segmentation of the fused map, no 2D masks; --features, --mode and "
                        "--no-refine do not apply) (default: precomputed with --masks, else rgbd)")
    parser.add_argument("--features", default="handcrafted", help="handcrafted | dinov2:<model> | none (default handcrafted)")
    parser.add_argument("--mode", default="fused", choices=("fused", "spatial", "visual"), help="tracker association")
    parser.add_argument("--no-refine", action="store_true", help="skip consistency refinement from the tracing table")
    parser.add_argument("--no-snap", action="store_true", help="keep vertex-level predictions (no snapping to mesh superpoints)")
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
    """Segment `args.scene` into `args.out` (the options of `configure`; `tracklift batch` passes those of
    `add_options` only, without the viewer's); returns the run statistics and the paths written."""
    args = argparse.Namespace(**{"rerun": None, "live": False, "port": 8080, "host": None, **vars(args)})
    from tracklift.data.scene import open_scene
    from tracklift.history import GrowthRecorder, write_history
    from tracklift.io.instances_out import write_scene
    from tracklift.pipeline import instance_masks, reference_points, snap_to_superpoints
    from tracklift.superpoints.snap import SnapConfig
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
    if args.host is not None and not args.live:
        raise ValueError("--host only applies to the --live viewer")
    if args.rerun is not None and not args.rerun.endswith(".rrd"):
        raise ValueError(f"--rerun must name a .rrd file, got {args.rerun}")
    vocab = load_vocabulary(args.vocab)
    scene = open_scene(args.scene, stride=args.stride, max_frames=args.max_frames)
    recorder = GrowthRecorder()
    hooks = [recorder.record]
    server = live = logger = None
    if args.live:
        from tracklift.view.live import LiveViewer
        from tracklift.view.server import start_server

        server = start_server(args.host, args.port, explicit_host=args.host is not None)
        live = LiveViewer(server, args.voxel)
        hooks.append(live.update)
    if args.rerun is not None:
        from tracklift.view.rerun_log import RerunLogger

        logger = RerunLogger(args.rerun, scene.name, args.voxel)
        hooks.append(logger.log_frame)
    spec = args.segmenter or ("precomputed" if args.masks else "rgbd")
    try:
        if spec.partition(":")[0] == "geo3d":
            instances, background, stats = _geo3d(scene, spec, args)
        else:
            instances, background, stats = _track(scene, spec, args, vocab, lambda *a: [hook(*a) for hook in hooks])
    except BaseException:  # a failed run leaves no half-written recording and no server behind
        if logger is not None:
            logger.abort()
        if server is not None:
            server.stop()
        raise
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
    masks = instance_masks(instances, points, args.voxel, background=background, faces=faces)
    instances, masks = snap_to_superpoints(instances, masks, points, faces, None if args.no_snap else SnapConfig())
    stats = {**stats, "frames_unreadable": len(getattr(scene.stream, "skipped", [])), "instances": len(instances)}
    paths = write_scene(args.out, scene.name, instances, masks, points, vocab, scene_dir=scene.root,
                        reference=reference, faces=faces, extra={"run": stats})
    steps = recorder.point_steps(points, args.voxel, radius=HISTORY_RADIUS)
    paths["history"] = write_history(Path(args.out) / f"{scene.name}_history.npz", recorder, steps)
    if logger is not None:
        logger.log_instances(instances)
        paths["rerun"] = logger.close()
    if args.pictures > 0:
        _pictures(args.out, scene, instances, args.pictures, args.voxel)
    summary = {"scene": scene.name, **stats, "outputs": {k: str(v) for k, v in paths.items()}}
    if live is not None:
        from tracklift.view.server import serve_forever

        print(json.dumps(summary, indent=1))
        live.finish(args.out)
        serve_forever(server)
    return summary


def _track(scene, spec: str, args: argparse.Namespace, vocab, on_frame):
    """The 2D-mask path: segmenter → lift → tracker, `on_frame` called after each frame (see `map_scene`).
    Returns (instances, background points [B, 3], run stats)."""
    from dataclasses import asdict

    from tracklift.lift.lifter import LiftConfig
    from tracklift.pipeline import PipelineConfig, make_features, make_segmenter, map_scene
    from tracklift.track.config import TrackerConfig

    segmenter = make_segmenter(spec, args.masks, [vocab.name_of(i) for i in vocab.evaluated])
    features = make_features("none" if args.mode == "spatial" else args.features)
    config = PipelineConfig(lift=LiftConfig(voxel=args.voxel, stride=args.pixel_stride),
                            tracker=TrackerConfig(mode=args.mode))
    if args.no_refine:
        config = dataclasses.replace(config, refine=None)
    mapper = map_scene(scene, segmenter, features, config, progress=True, on_frame=on_frame)
    return mapper.instances(), mapper.background_points(), asdict(mapper.stats)


def _geo3d(scene, spec: str, args: argparse.Namespace):
    """The 3D path: fuse the depth stream, segment the map. Returns (instances, background points, run stats)."""
    from tracklift.segment3d.segment import geo3d_config, segment_scene

    config = geo3d_config(spec.partition(":")[2], voxel=args.voxel, stride=args.pixel_stride)
    result = segment_scene(scene, config, progress=True)
    return result.instances, result.background, result.stats


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
