"""`tracklift segment SCENE --out OUT`: segment an RGB-D scene into 3D instances (OpenTrack3D pipeline), write
them, their growth history and pictures; optionally show them live (`--live`, `--rerun`)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tracklift.core.config import add_config_flags, config_from_args
from tracklift.lift.lifter import LiftConfig
from tracklift.track.config import TrackerConfig

log = logging.getLogger(__name__)

HISTORY_RADIUS = 0.5  # metres: a reference point takes the growth step of the nearest tracked voxel this close


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scene", help="scene folder (any supported layout)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--masks", help="precomputed 2D masks folder (<frame>.png/.json or <frame>.npz)")
    parser.add_argument("--mesh", help="mesh PLY to write predictions over (default: the scene's mesh, if any)")
    add_options(parser)
    parser.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="save the mapping state to DIR/<scene>.ckpt every --checkpoint-every frames and on "
        "Ctrl-C / SIGTERM (atomically); removed once the outputs are written",
    )
    parser.add_argument("--checkpoint-every", type=int, default=100, help="frames between checkpoints (default 100)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="with --checkpoint: continue from DIR/<scene>.ckpt if it exists (same settings only); "
        "the outputs are those of a run that never stopped",
    )
    parser.add_argument(
        "--rerun",
        metavar="FILE.rrd",
        help="log frames, masks, the growing instance map and boxes per frame to a rerun recording "
        "(needs `pip install 'tracklift[rerun]'`)",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="open the web viewer while the stream is processed; it shows the result when done and serves until Ctrl-C",
    )
    parser.add_argument("--port", type=int, default=8080, help="with --live: port of the viewer (default 8080)")
    parser.add_argument("--host", help="with --live: address of the viewer (default 127.0.0.1, this machine only)")
    parser.set_defaults(func=run)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options that do not name a scene's own files (shared with `tracklift batch`)."""
    parser.add_argument(
        "--segmenter",
        help="precomputed | rgbd[:options] | hf:<detector>=<model>,sam=<model>[,...] | "
        "geo3d[:options] (3D segmentation of the fused map, no 2D masks; --features, --mode and "
        "--no-refine do not apply) (default: precomputed with --masks, else rgbd)",
    )
    parser.add_argument(
        "--features",
        default="handcrafted",
        help="handcrafted[:key=value,...] | dinov2:<model> | none (default handcrafted)",
    )
    add_config_flags(
        parser, TrackerConfig, {"mode": "--mode", "trace_budget": "--trace-budget"}, dest_prefix="tracker_"
    )
    parser.add_argument("--no-refine", action="store_true", help="skip consistency refinement from the tracing table")
    parser.add_argument(
        "--no-snap", action="store_true", help="keep vertex-level predictions (no snapping to mesh superpoints)"
    )
    parser.add_argument("--no-mesh", action="store_true", help="write over the fused point map even if a mesh exists")
    parser.add_argument("--stride", type=int, default=1, help="use every N-th frame")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    add_config_flags(parser, LiftConfig, {"voxel": "--voxel", "stride": "--pixel-stride"}, dest_prefix="lift_")
    parser.add_argument("--vocab", default="scannet200", help="vocabulary for label ids (default scannet200)")
    parser.add_argument(
        "--classifier",
        default="vote",
        help="name instances: vote (2D label votes mapped by MiniLM, no weights) | clip:<model> | "
        "siglip:<model> | llm:<url-or-model> | none (majority of exact 2D labels)",
    )
    parser.add_argument("--cache-dir", help="cache of LLM answers and text embeddings (default OUT/.cache)")
    parser.add_argument("--pictures", type=int, default=3, help="frames drawn in the PNG overview (0 = no pictures)")
    parser.add_argument(
        "--max-lost",
        type=float,
        default=0.5,
        help="fail (writing nothing) when more than this share of frames is unreadable or has no masks (default 0.5)",
    )
    parser.add_argument(
        "--read-threads",
        type=int,
        default=2,
        help="threads reading frames and making their masks ahead of the mapping (default 2; outputs do not "
        "depend on it)",
    )
    parser.add_argument(
        "--timings",
        action="store_true",
        help="print seconds per stage (read, segment: in a background thread beside the rest; wait: "
        "mapping stood still for them; lift, features, track, merge, name, transfer, write); "
        "always written to OUT/<scene>_timings.json",
    )


def run(args: argparse.Namespace) -> int:
    print(json.dumps(segment_command(args), indent=1))
    return 0


def segment_command(args: argparse.Namespace) -> dict:
    """Segment `args.scene` into `args.out` (the options of `configure`; `tracklift batch` passes those of
    `add_options` only, without the viewer's); returns the run statistics and the paths written."""
    args = argparse.Namespace(
        **{
            "rerun": None,
            "live": False,
            "port": 8080,
            "host": None,
            "timings": False,
            "max_lost": 0.5,
            "checkpoint": None,
            "checkpoint_every": 100,
            "resume": False,
            **vars(args),
        }
    )
    from tracklift.core.timing import StageTimes, timings_table
    from tracklift.data.scene import open_scene
    from tracklift.outputs.history import GrowthRecorder, write_history
    from tracklift.pipeline.segment import segment, write_segmentation
    from tracklift.vocab import load_vocabulary

    _check(args)
    config = pipeline_config(args)
    voxel = config.lift.voxel
    vocab = load_vocabulary(args.vocab)
    scene = open_scene(args.scene, stride=args.stride, max_frames=args.max_frames)
    checkpointer, resume = _checkpointing(args, scene, config)
    recorder = resume["recorder"] if resume is not None else GrowthRecorder()
    hooks = [recorder.record]
    server = live = logger = None
    if args.live:
        from tracklift.view.live import LiveViewer
        from tracklift.view.server import start_server

        server = start_server(args.host, args.port, explicit_host=args.host is not None)
        live = LiveViewer(server, voxel)
        hooks.append(live.update)
    if args.rerun is not None:
        from tracklift.view.rerun_log import RerunLogger

        logger = RerunLogger(args.rerun, scene.name, voxel)
        hooks.append(logger.log_frame)
    try:
        result = segment(
            scene,
            args.segmenter or ("precomputed" if args.masks else "rgbd"),
            masks_dir=args.masks,
            features=args.features,
            config=config,
            vocab=vocab,
            checkpoint=checkpointer,
            keep={"recorder": recorder},
            resume=resume,
            name_instances=_namer(args, vocab),
            mesh=False if args.no_mesh else args.mesh,
            progress=True,
            on_frame=lambda *a: [hook(*a) for hook in hooks],
            max_lost=args.max_lost,
            workers=args.read_threads,
        )
    except BaseException:  # a failed run leaves no half-written recording and no server behind
        if logger is not None:
            logger.abort()
        if server is not None:
            server.stop()
        raise
    times = StageTimes()
    times.add(result.times)
    with times("write"):  # the scene files last: `<scene>_timings.json` records the timings up to them
        paths = {}

        def history() -> Path:
            steps = recorder.point_steps(result.points, voxel, radius=HISTORY_RADIUS)
            return write_history(Path(args.out) / f"{scene.name}_history.npz", recorder, steps)

        # the history's nearest-centre queries and the pictures' PNG encoding release the GIL: run side by side
        with ThreadPoolExecutor(1, thread_name_prefix="tracklift-history") as pool:
            history_written = pool.submit(history)
            if logger is not None:
                logger.log_instances(result.instances)
                paths["rerun"] = logger.close()
            if args.pictures > 0:
                _pictures(args.out, scene, result.instances, args.pictures, voxel)
            paths["history"] = history_written.result()
        result.times = dict(times.seconds)
        paths = {**write_segmentation(args.out, result, vocab, scene_dir=scene.root), **paths}
    if checkpointer is not None:
        checkpointer.path.unlink(missing_ok=True)  # the outputs are complete: nothing left to resume
    summary = {
        "scene": scene.name,
        **result.stats,
        "timings": times.rounded(),
        "outputs": {k: str(v) for k, v in paths.items()},
    }
    if args.timings:
        print(timings_table(times.seconds, result.stats.get("frames")), file=sys.stderr)
    if live is not None:
        from tracklift.view.server import serve_forever

        print(json.dumps(summary, indent=1))
        live.finish(args.out)
        serve_forever(server)
    return summary


def pipeline_config(args: argparse.Namespace):
    """The PipelineConfig the options of `add_options` describe."""
    from tracklift.pipeline.mapper import PipelineConfig
    from tracklift.superpoints.snap import SnapConfig
    from tracklift.trace.consistency import ConsistencyConfig

    return PipelineConfig(
        lift=config_from_args(LiftConfig, args, dest_prefix="lift_"),
        tracker=config_from_args(TrackerConfig, args, dest_prefix="tracker_"),
        refine=None if args.no_refine else ConsistencyConfig(),
        snap=None if args.no_snap else SnapConfig(),
    )


def _checkpointing(args: argparse.Namespace, scene, config):
    """(Checkpointer or None, the checkpoint to resume from or None) for `--checkpoint DIR [--resume]`."""
    from tracklift.io.checkpoint import checkpoint_path
    from tracklift.pipeline.checkpoint import Checkpointer, load_checkpoint, settings_key

    path = checkpoint_path(args.checkpoint, f"{scene.name}.ckpt", args.resume)
    if path is None:
        return None, None
    key = settings_key(
        {
            "scene": str(Path(scene.root).resolve()),
            "frames": scene.stream.names,
            "masks": None if args.masks is None else str(Path(args.masks).resolve()),
            "segmenter": args.segmenter,
            "features": args.features,
            "vocab": args.vocab,
            "config": repr(config),
        }
    )
    resume = load_checkpoint(path, key) if args.resume else None
    if resume is not None:
        log.info("resuming %s from %s at frame %d of %d", scene.name, path, resume["next_frame"], len(scene.stream))
    return Checkpointer(path, key, args.checkpoint_every), resume


def _check_bounds(args: argparse.Namespace) -> None:
    if args.stride < 1:
        raise ValueError(f"--stride must be ≥ 1, got {args.stride}")
    if args.max_frames is not None and args.max_frames < 1:
        raise ValueError(f"--max-frames must be ≥ 1, got {args.max_frames}")
    if args.pictures < 0:
        raise ValueError(f"--pictures must be ≥ 0, got {args.pictures}")
    if not 0 <= args.max_lost < 1:
        raise ValueError(f"--max-lost must be in [0, 1), got {args.max_lost}")
    if not 1 <= args.read_threads <= 64:
        raise ValueError(f"--read-threads must be in [1, 64], got {args.read_threads}")


def check_options(args: argparse.Namespace) -> None:
    """Refuse the values of `add_options` that a run would refuse, before any scene is read: `tracklift batch`
    checks them once, up front, instead of failing (and retrying) every scene. Weight-free segmenter and
    feature specs are built here; a model-backed one (hf:, dinov2:, clip:, ...) is checked when its model
    loads. (`segment` itself needs only the bounds: it builds all of these at once anyway.)"""
    from tracklift.pipeline.backends import make_features, make_segmenter
    from tracklift.vocab import load_vocabulary

    _check_bounds(args)
    config = pipeline_config(args)
    load_vocabulary(args.vocab)
    kind, _, options = (args.segmenter or "").partition(":")
    if kind == "rgbd":
        make_segmenter(args.segmenter)
    elif kind == "geo3d":
        from tracklift.segment3d.segment import geo3d_config

        geo3d_config(options, voxel=config.lift.voxel, stride=config.lift.stride)
    if args.features.partition(":")[0] == "handcrafted":
        make_features(args.features)


def _check(args: argparse.Namespace) -> None:
    _check_bounds(args)
    if args.masks is not None and not Path(args.masks).is_dir():
        raise FileNotFoundError(f"{args.masks}: no such masks folder")
    if args.mesh is not None and not Path(args.mesh).is_file():
        raise FileNotFoundError(f"{args.mesh}: no such mesh file")
    if args.host is not None and not args.live:
        raise ValueError("--host only applies to the --live viewer")
    if args.rerun is not None and not args.rerun.endswith(".rrd"):
        raise ValueError(f"--rerun must name a .rrd file, got {args.rerun}")


def _namer(args: argparse.Namespace, vocab):
    """The `--classifier` as a function naming instances in place (None: 2D label-vote majority)."""
    if args.classifier == "none":
        return None
    from tracklift.classify.backends import make_classifier
    from tracklift.classify.label import labeller

    return labeller(make_classifier(args.classifier, args.cache_dir or Path(args.out) / ".cache"), vocab, progress=True)


def _pictures(out: str, scene, instances, count: int, voxel: float) -> None:
    from tracklift.data.frame import BadFrameError
    from tracklift.io.png import write_png
    from tracklift.outputs.pictures import frames_picture, top_down_picture

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
