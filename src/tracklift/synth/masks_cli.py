"""`tracklift synth-masks SCENE --out DIR`: segmenter-like 2D masks from a synthetic scene's ground truth."""

from __future__ import annotations

import argparse

_LEVELS = (
    "drop",
    "split",
    "merge",
    "erode",
    "label_noise",
    "synonyms",
    "spurious",
    "min_area",
    "score_noise",
    "structure",
)


def configure(parser: argparse.ArgumentParser) -> None:
    from tracklift.core.config import add_config_flags
    from tracklift.synth.corrupt import Corruption

    parser.add_argument("scene", help="a scene folder written by `tracklift synth`")
    parser.add_argument("--out", required=True, help="masks folder to write (<frame>.png + <frame>.json)")
    parser.add_argument(
        "--preset",
        choices=("oracle", "mild", "hard"),
        default="mild",
        help="corruption levels the flags below override (default mild)",
    )
    add_config_flags(parser, Corruption, {name: "--" + name.replace("_", "-") for name in _LEVELS})
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
    config = dataclasses.replace(PRESETS[args.preset], **overrides)
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
