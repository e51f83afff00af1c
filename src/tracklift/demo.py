"""`make demo`: the main job end to end on a generated scene, as the CLI commands a user would type.

    python -m tracklift.demo --out demo_out [--size 640x480 --frames 60 --objects 20 --seed 0]

Every step prints the command it runs, so the demo doubles as a walkthrough of the CLI.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from tracklift.cli import main as tracklift

QUERIES = ("something to sit on", "the monitor on the desk")  # seed 0 has chairs, a couch and a desk


def step(title: str, *argv: str) -> None:
    print(f"\n=== {title}\n$ tracklift {shlex.join(argv)}", flush=True)
    start = time.perf_counter()
    code = tracklift(list(argv))
    if code != 0:
        sys.exit(f"demo: `tracklift {shlex.join(argv)}` failed with exit code {code}")
    print(f"({time.perf_counter() - start:.1f} s)", flush=True)


def run(out: Path, width: int, height: int, frames: int, objects: int, seed: int) -> None:
    scene = out / "synth_room"
    masks = out / "masks_mild"
    pred_masks, pred_rgbd = out / "pred_masks", out / "pred_rgbd"
    gt = scene / "gt"
    step(
        "1. Generate a procedural room: RGB-D frames, poses, mesh and exact ground truth",
        "synth",
        str(scene),
        "--seed",
        str(seed),
        "--frames",
        str(frames),
        "--width",
        str(width),
        "--height",
        str(height),
        "--objects",
        str(objects),
    )
    step("2. What the readers see", "info", str(scene))
    step(
        "3. Corrupt the ground-truth 2D masks like a real open-vocabulary segmenter would (preset: mild)",
        "synth-masks",
        str(scene),
        "--out",
        str(masks),
        "--preset",
        "mild",
        "--seed",
        str(seed),
        "--quiet",
    )
    step(
        "4. Lift and track the labelled 2D masks into 3D instances; name them by label voting",
        "segment",
        str(scene),
        "--masks",
        str(masks),
        "--out",
        str(pred_masks),
        "--classifier",
        "vote",
    )
    step(
        "5. Class-agnostic AP of those instances (ScanNet protocol)",
        "eval",
        "--pred",
        str(pred_masks),
        "--gt",
        str(gt),
        "--agnostic",
    )
    step("6. Semantic AP over ScanNet200 (head / common / tail)", "eval", "--pred", str(pred_masks), "--gt", str(gt))
    step(
        "7. No masks given: the weight-free RGB-D segmenter instead of a 2D model",
        "segment",
        str(scene),
        "--segmenter",
        "rgbd",
        "--out",
        str(pred_rgbd),
    )
    step(
        "8. Class-agnostic AP with the weight-free segmenter",
        "eval",
        "--pred",
        str(pred_rgbd),
        "--gt",
        str(gt),
        "--agnostic",
    )
    for query in QUERIES:
        step(f"9. Query: {query!r}", "query", str(pred_masks), query, "--top", "3")
    print(
        f"\nPictures: {pred_masks}/*.png and {pred_rgbd}/*.png; predictions in the ScanNet benchmark format "
        f"beside them."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_out", type=Path)
    parser.add_argument("--size", default="640x480", help="image size WxH")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    run(args.out, width, height, args.frames, args.objects, args.seed)


if __name__ == "__main__":
    main()
