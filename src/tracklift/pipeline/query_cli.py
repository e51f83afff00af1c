"""`tracklift query OUT "something to sit on"`: rank a segmented scene's instances for a text query."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="output folder of `tracklift segment` (<scene>.json + <scene>_instances.npz)")
    parser.add_argument(
        "query",
        help='free text: a class ("lamp"), a function ("something to sit on"), '
        'a relation ("the lamp next to the bed") or a superlative ("the largest table")',
    )
    parser.add_argument("--top", type=int, default=10, help="how many instances to print (default 10)")
    parser.add_argument("--scene", help="scene name when OUT holds several scenes")
    parser.add_argument(
        "--classifier",
        default="vote",
        help="vote (default, no weights) | clip:<path> | siglip:<path> | llm[:<url-or-path>]",
    )
    parser.add_argument("--cache-dir", help="cache for LLM answers and text embeddings (default OUT/.cache)")
    parser.add_argument("--stride", type=int, default=5, help="frame stride when reading views for a classifier")
    parser.add_argument(
        "--view-frame",
        type=int,
        help="judge left/right from this frame's camera "
        "(default: the mean camera, or the first frame when the cameras face all ways)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tracklift.classify.backends import make_classifier
    from tracklift.classify.query import rank_instances
    from tracklift.classify.spatial import DEFAULT_VIEWPOINT
    from tracklift.outputs.scene_files import load_instances

    if args.top < 1:
        raise ValueError(f"--top must be >= 1, got {args.top}")
    loaded = load_instances(args.out, args.scene)
    classifier = None
    if args.classifier != "vote":
        classifier = make_classifier(args.classifier, args.cache_dir or Path(args.out) / ".cache")
    frames = None
    viewpoint = DEFAULT_VIEWPOINT
    needs_frames = classifier is not None and classifier.needs_views
    needs_viewpoint = _has_side_relation(args.query)
    if needs_frames or needs_viewpoint:
        scene = _open(loaded.scene_dir, args.stride, required=needs_frames)
        if scene is not None:
            frames = scene.stream
            if needs_viewpoint:
                viewpoint = _viewpoint(scene.stream, args.view_frame)
    ranked = rank_instances(loaded.instances, args.query, classifier, args.top, frames=frames, viewpoint=viewpoint)
    print(f"scene {loaded.name}: {len(loaded.instances)} instances, query {args.query!r}")
    print(f"{'rank':>4} {'id':>5} {'label':<22} {'score':>6}  box (cx cy cz / dx dy dz, m)")
    for rank, (inst, score) in enumerate(ranked, 1):
        b = inst.box
        box = f"{b[0]:6.2f} {b[1]:6.2f} {b[2]:6.2f} / {b[3]:5.2f} {b[4]:5.2f} {b[5]:5.2f}"
        print(f"{rank:>4} {inst.id:>5} {(inst.label or '-'):<22} {score:6.3f}  {box}")
    return 0


def _has_side_relation(query: str) -> bool:
    """Whether the query (or a nested anchor) says left/right, which needs the scene's cameras."""
    from tracklift.classify.query import parse_query

    parsed = parse_query(query)
    while parsed.relation is not None:
        if parsed.relation in ("left", "right"):
            return True
        parsed = parse_query(parsed.anchor)
    return False


def _open(scene_dir, stride: int, required: bool):
    from tracklift.data.scene import open_scene

    if scene_dir is None or not scene_dir.is_dir():
        if required:
            raise FileNotFoundError(
                f"the classifier needs the scene's frames, but the recorded scene_dir {scene_dir} is missing"
            )
        log.warning("scene folder %s not found: judging left/right from the world x axis", scene_dir)
        return None
    return open_scene(scene_dir, stride=stride)


def _viewpoint(stream, frame: int | None, samples: int = 16):
    """A given frame's camera; else the mean of up to `samples` cameras; else the first readable one."""
    import numpy as np

    from tracklift.classify.spatial import Viewpoint
    from tracklift.data.frame import BadFrameError

    if frame is not None:
        if not 0 <= frame < len(stream):
            raise ValueError(f"--view-frame {frame} is outside the stream's {len(stream)} frames")
        return Viewpoint.from_poses(stream[frame].pose)
    poses = []
    for i in np.unique(np.linspace(0, len(stream) - 1, min(samples, len(stream))).astype(int)):
        try:
            poses.append(stream[int(i)].pose)
        except BadFrameError:
            continue
    if not poses:
        raise ValueError("no readable frame to judge left/right from")
    try:
        return Viewpoint.from_poses(np.array(poses))
    except ValueError as err:
        log.info("%s; judging left/right from the first readable frame", err)
        return Viewpoint.from_poses(poses[0])
