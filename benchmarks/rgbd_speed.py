"""Frames/s of the weight-free `rgbd` segmenter alone at 640×480: the numba kernels against their numpy references.

`python -m benchmarks.rgbd_speed [--frames N] [--repeats R] [--data DIR ...]`

Frames are read into memory first (reading is not timed), then `segment_rgbd` runs over them with
`RGBDConfig(fast=False)` (the numpy references: the baseline) and `RGBDConfig(fast=True)` alternately, `--repeats`
times each after one warm-up frame (numba compilation); the fastest pass counts (other processes only ever add
time). Every frame's masks of the two are compared: identical masks mean identical mask AP downstream.
Sources: the synthetic `scan` rooms of `benchmarks.suite.SCAN` and, with `--data`, real ScanNet posed_images
folders (scene0113_00, scene0448_01; scene0000_00, the held-out acceptance scan, is refused).
Records `benchmarks/results/rgbd_speed.json` (`"kind": "rgbd_speed"`) and its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.markdown import fmt
from benchmarks.measure import machine, machine_line

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HELD_OUT = "scene0000_00"  # the acceptance scan: never read here


def load_frames(folder: Path, count: int) -> list:
    """`count` frames spread evenly over the scene folder's stream, decoded into memory; bad frames (no
    valid pose, unreadable) are skipped with a printed line."""
    from tracklift.data.frame import BadFrameError
    from tracklift.data.scene import open_scene

    if folder.name == HELD_OUT:
        raise ValueError(f"{folder}: {HELD_OUT} is the held-out acceptance scan: it is never benchmarked here")
    stream = open_scene(folder).stream
    picks = np.unique(np.linspace(0, len(stream) - 1, min(count, len(stream))).round().astype(int))
    frames = []
    for i in picks:
        try:
            frames.append(stream[int(i)])
        except BadFrameError as error:
            print(f"skipped: {error}")
    if not frames:
        raise ValueError(f"{folder}: none of the {len(picks)} frames picked could be read")
    return frames


def time_frames(frames: list, repeats: int) -> dict:
    """Fastest pass of each kernel set over `frames`, and how many frames give identical masks."""
    from tracklift.segment2d.rgbd import RGBDConfig, segment_rgbd

    configs = {"reference": RGBDConfig(fast=False), "fast": RGBDConfig(fast=True)}
    for cfg in configs.values():
        segment_rgbd(frames[0], cfg)  # warm-up: numba compilation and caches
    best = {name: float("inf") for name in configs}
    outputs: dict[str, list] = {}
    for _ in range(repeats):
        for name, cfg in configs.items():
            started = time.perf_counter()
            outputs[name] = [segment_rgbd(frame, cfg) for frame in frames]
            best[name] = min(best[name], time.perf_counter() - started)
    same = sum(
        a.masks.shape == b.masks.shape and bool(np.array_equal(a.masks, b.masks))
        for a, b in zip(outputs["reference"], outputs["fast"])
    )
    return {
        "frames": len(frames),
        "size": f"{frames[0].width}×{frames[0].height}",
        "reference_fps": len(frames) / best["reference"],
        "fast_fps": len(frames) / best["fast"],
        "speedup": best["reference"] / best["fast"],
        "identical_frames": same,
        "masks_per_frame": float(np.mean([len(m) for m in outputs["fast"]])),
    }


def markdown_section(doc: dict) -> str:
    lines = [
        "## Speed: the weight-free `rgbd` segmenter alone",
        "",
        f"`segment_rgbd` on frames held in memory, numpy references (the baseline, `rgbd:fast=false`) against the "
        f"numba kernels (the default), the fastest of {doc['repeats']} alternating pass(es) in one process; "
        f"'identical' counts frames whose masks are bit-identical. Recorded {doc['date']} on "
        f"{machine_line(doc['machine'])}, load average {fmt(doc['load_average_start'][0], 1)} at the start "
        "(`python -m benchmarks.rgbd_speed`).",
        "",
        "| frames from | size | frames | reference frames/s | fast frames/s | speed-up | identical | masks/frame |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in doc["rows"]:
        lines.append(
            f"| {r['source']} | {r['size']} | {r['frames']} | {fmt(r['reference_fps'], 2)} | {fmt(r['fast_fps'], 2)} "
            f"| {fmt(r['speedup'], 1)}× | {r['identical_frames']}/{r['frames']} | {fmt(r['masks_per_frame'], 1)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from benchmarks.scenes import ensure_scene
    from benchmarks.suite import SCAN

    parser = argparse.ArgumentParser(prog="python -m benchmarks.rgbd_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20, help="frames per source (default 20)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating passes of each kernel set (default 2)")
    parser.add_argument("--seeds", default="0", help="synthetic scan rooms of benchmarks.suite.SCAN (default 0)")
    parser.add_argument("--data", action="append", default=[], help="a real scene folder (posed_images/sceneXXXX_XX)")
    parser.add_argument("--cache", default=str(HERE / ".cache"), help="generated scenes")
    parser.add_argument("--results", default=str(HERE / "results"), help="folder of results")
    parser.add_argument("--markdown", default=str(ROOT / "BENCHMARKS.md"), help="page regenerated from all results")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.repeats < 1:
        parser.error("--frames and --repeats must be >= 1")
    started = time.time()
    sources = [
        (f"synthetic `scan` room, seed {s}", ensure_scene(Path(args.cache), int(s), SCAN))
        for s in args.seeds.split(",")
    ]
    sources += [(f"real ScanNet {Path(d).name}", Path(d)) for d in args.data]
    rows = []
    for label, folder in sources:
        row = {"source": label, **time_frames(load_frames(folder, args.frames), args.repeats)}
        print(
            f"{label}: reference {row['reference_fps']:.2f} frames/s, fast {row['fast_fps']:.2f} frames/s, "
            f"identical {row['identical_frames']}/{row['frames']}",
            flush=True,
        )
        rows.append(row)
    doc = {
        "kind": "rgbd_speed",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "machine": machine(),
        "load_average_start": list(os.getloadavg()),
        "repeats": args.repeats,
        "rows": rows,
        "wall_seconds": round(time.time() - started, 1),
    }
    from benchmarks.run import record

    record(doc, Path(args.results) / "rgbd_speed.json", args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
