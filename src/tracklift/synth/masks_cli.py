"""`tracklift synth-masks SCENE --out DIR`: segmenter-like 2D masks from a synthetic scene's ground truth."""

from __future__ import annotations

import argparse

_LEVELS = ("drop", "split", "merge", "erode", "label_noise", "synonyms", "spurious", "min_area", "score_noise")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scene", help="a scene folder written by `tracklift synth`")
    parser.add_argument("--out", required=True, help="masks folder to write (<frame>.png + <frame>.json)")
    parser.add_argument("--preset", choices=("oracle", "mild", "hard"), default="mild")
    parser.add_argument("--drop", type=float, help="probability a mask is missing")
    parser.add_argument("--split", type=float, help="probability a mask is split into 2-3 pieces")
    parser.add_argument("--merge", type=float, help="probability two touching instances are merged")
    parser.add_argument("--erode", type=int, help="max boundary erosion/dilation in pixels")
    parser.add_argument("--label-noise", dest="label_noise", type=float, help="probability of a wrong label")
    parser.add_argument("--synonyms", type=float, help="probability a label is a free-form synonym")
    parser.add_argument("--spurious", type=float, help="expected spurious blob masks per frame")
    parser.add_argument("--min-area", dest="min_area", type=float, help="drop masks below this image fraction")
    parser.add_argument("--score-noise", dest="score_noise", type=float, help="std of score noise")
    parser.add_argument("--structure", action="store_true", help="also emit wall/floor/ceiling masks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import json
    from pathlib import Path

    import cv2
    import numpy as np
    from tqdm import tqdm

    from tracklift.segment2d.precomputed import write_masks
    from tracklift.synth.corrupt import PRESETS, corrupt_frame

    scene = Path(args.scene)
    meta_path, gt_dir = scene / "scene.json", scene / "gt_2d" / "instance"
    if not meta_path.is_file() or not gt_dir.is_dir():
        raise FileNotFoundError(f"{scene}: not a synthetic scene (needs scene.json and gt_2d/instance/)")
    meta = json.loads(meta_path.read_text())
    labels = {int(o["instance"]): str(o["label"]) for o in meta["objects"]}
    overrides = {k: getattr(args, k) for k in _LEVELS if getattr(args, k) is not None}
    config = dataclasses.replace(PRESETS[args.preset], structure=args.structure, **overrides)
    files = sorted(gt_dir.glob("*.png"), key=lambda p: (len(p.stem), p.stem))
    if not files:
        raise FileNotFoundError(f"{gt_dir}: no ground-truth frames")
    total = 0
    for index, path in enumerate(tqdm(files, desc=f"synth-masks {args.preset}", unit="frame", disable=args.quiet)):
        instance = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if instance is None:
            raise ValueError(f"{path}: not a readable PNG")
        masks = corrupt_frame(instance, labels, config, np.random.default_rng([args.seed, index]))
        write_masks(args.out, path.stem, masks, format="png")
        total += len(masks)
    print(f"wrote {total} masks for {len(files)} frames to {args.out} ({args.preset}: {config})")
    return 0
