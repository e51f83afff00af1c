"""`tracklift synth OUT --seed S [--realism scan]`: write a procedural room with its ground truth (ScanNet layout)."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="output folder; its name becomes the scene name")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--objects", type=int, default=20, help="annotated objects, 5..40 (default 20)")
    parser.add_argument("--loops", type=float, default=1.25, help="camera loops round the room (default 1.25)")
    parser.add_argument("--no-noise", action="store_true", help="exact depth and colour (no sensor noise)")
    parser.add_argument("--realism", choices=("exact", "scan"), default="exact",
                        help="exact: analytic mesh, true poses, exact 2D GT; scan: a real scan's defects (drifting "
                             "poses, sensor-like depth and colour, reconstructed mesh and the GT transferred onto it)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tracklift.synth.config import SynthConfig
    from tracklift.synth.generate import generate_scene

    if args.no_noise and args.realism == "scan":
        raise ValueError("--no-noise applies to --realism exact only (scan always has sensor noise)")

    config = SynthConfig(
        seed=args.seed,
        frames=args.frames,
        width=args.width,
        height=args.height,
        objects=args.objects,
        loops=args.loops,
        depth_noise=not args.no_noise,
        color_noise=0.0 if args.no_noise else SynthConfig.color_noise,
        realism=args.realism,
    )
    out = generate_scene(args.out, config, progress=not args.quiet)
    print(f"wrote {out} ({config.frames} frames, {config.objects} objects, seed {config.seed}, {config.realism})")
    return 0
