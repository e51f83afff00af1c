"""`tracklift info SCENE`: what a scene folder holds — layout, frames, resolution, intrinsics, depth range,
mesh and ground-truth files, and which frames are unusable (all of them with --check)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

# Reading a few frames spread over the sequence is enough to describe it and stays fast on long scans.
DEFAULT_SAMPLES = 3
# depth values kept per frame for the median: exact enough for a summary, small on long scans
MEDIAN_SAMPLES = 2000


def configure(parser: argparse.ArgumentParser) -> None:
    from tracklift.data.scene import LAYOUTS

    parser.add_argument("scene", type=Path, help="scene folder")
    parser.add_argument("--layout", choices=sorted(LAYOUTS), help="skip auto-detection and read this layout")
    parser.add_argument("--check", action="store_true", help="read every frame and list every bad one")
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help="frames to read without --check")
    parser.set_defaults(func=run)


def _show(path: Path | None, root: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _read_frames(stream, indices: list[int], progress: bool):
    """Read frames `indices`: (first good Frame or None, per-good-frame depth stats, [(name, reason)] bad).

    Stats per good frame: (min, max, valid pixels, pixels, a thinned sample of valid depths for the median);
    whole depth maps are not kept, so --check stays flat in memory on long scans.
    """
    from tqdm import tqdm

    from tracklift.data.frame import BadFrameError

    first, stats, bad = None, [], []
    for i in tqdm(indices, desc="checking frames", file=sys.stderr, disable=not progress):
        try:
            frame = stream[i]
        except BadFrameError as err:
            bad.append((stream.records[i].name, str(err)))
            continue
        if first is None:
            first = frame
        valid = frame.depth[frame.depth > 0]  # never empty: the stream rejects frames without valid depth
        thin = valid[:: max(1, valid.size // MEDIAN_SAMPLES)]
        stats.append((float(valid.min()), float(valid.max()), valid.size, frame.depth.size, thin))
    return first, stats, bad


def _frame_rows(stream, first, stats) -> list[tuple[str, str]]:
    from tracklift.data.images import read_color

    if first is None:
        return [("colour", "- (no readable frame among those read)")]
    raw = read_color(stream.records[first.index].color)
    K = first.K
    lo, hi, valid, total, thin = zip(*stats)
    median = float(np.median(np.concatenate(thin)))
    good = f"over {len(stats)} good frame{'s' if len(stats) != 1 else ''}"
    return [
        ("colour", f"{raw.shape[1]}×{raw.shape[0]} (registered to depth)"),
        ("depth", f"{first.width}×{first.height}"),
        ("intrinsics", f"fx {K[0, 0]:.3f}  fy {K[1, 1]:.3f}  cx {K[0, 2]:.3f}  cy {K[1, 2]:.3f}  (depth pixels)"),
        (
            "depth range",
            f"{min(lo):.3f}–{max(hi):.3f} m, median {median:.3f} m, "
            f"{100.0 * sum(valid) / sum(total):.1f} % valid ({good})",
        ),
    ]


def run(args: argparse.Namespace) -> int:
    from collections import Counter

    from tracklift.data.scene import open_scene
    from tracklift.data.stream import skip_reason

    scene = open_scene(args.scene, layout=args.layout)
    stream = scene.stream
    n = len(stream)
    if args.check:
        indices = list(range(n))
    else:
        indices = sorted(set(np.linspace(0, n - 1, min(max(args.samples, 1), n)).round().astype(int).tolist()))
    first, stats, bad = _read_frames(stream, indices, progress=args.check)
    scope = "all frames read" if args.check else f"of {len(indices)} read; --check reads all {n}"
    rows = [
        ("scene", scene.name),
        ("root", str(scene.root)),
        ("layout", scene.layout),
        ("frames", f"{n}"),
        *_frame_rows(stream, first, stats),
        ("mesh", _show(scene.mesh_path, scene.root)),
        ("segments", _show(scene.segs_path, scene.root)),
        ("aggregation", _show(scene.aggregation_path, scene.root)),
        ("gt", _show(scene.gt_path, scene.root)),
        ("labels tsv", _show(scene.labels_tsv, scene.root)),
        ("bad frames", f"{len(bad)} ({scope})"),
    ]
    width = max(len(key) for key, _ in rows) + 2
    for key, value in rows:
        print(f"{key:<{width}}{value}")
    name_width = max((len(name) for name, _ in bad), default=0) + 2
    for name, reason in bad:
        print(f"  {name:<{name_width}}{reason}")
    if first is None:
        # `segment` would read nothing either: say so the way it fails, not with a clean-looking summary
        reasons = Counter(skip_reason(message) for _, message in bad)
        counts = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
        print(
            f"tracklift info: error: {scene.root}: none of {len(indices)} frames read is usable ({counts})",
            file=sys.stderr,
        )
        return 1
    return 0
