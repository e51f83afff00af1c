"""`tracklift synth OUT --seed S [--realism scan]`: write a procedural room with its ground truth (ScanNet layout)."""

from __future__ import annotations

import argparse
import dataclasses

FLAGS = {name: "--" + name for name in ("seed", "frames", "width", "height", "objects", "loops", "realism")}


def configure(parser: argparse.ArgumentParser) -> None:
    from tracklift.core.config import add_config_flags
    from tracklift.synth.config import SynthConfig

    parser.add_argument("out", help="output folder; its name becomes the scene name")
    add_config_flags(parser, SynthConfig, FLAGS)
    parser.add_argument("--no-noise", action="store_true", help="exact depth and colour (no sensor noise)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tracklift.core.config import config_from_args
    from tracklift.synth.config import SynthConfig
    from tracklift.synth.generate import generate_scene

    config = config_from_args(SynthConfig, args)
    if args.no_noise and config.realism == "scan":
        raise ValueError("--no-noise applies to --realism exact only (scan always has sensor noise)")
    if args.no_noise:
        config = dataclasses.replace(config, depth_noise=False, color_noise=0.0)
    out = generate_scene(args.out, config, progress=not args.quiet)
    print(f"wrote {out} ({config.frames} frames, {config.objects} objects, seed {config.seed}, {config.realism})")
    return 0
