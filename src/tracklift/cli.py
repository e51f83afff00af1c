"""`tracklift` command line: a table of subcommands, each configured by its own module.

Only the chosen subcommand's module is imported, so `tracklift --help` and light commands
start fast and never import torch or transformers.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# name -> (module that defines `configure(parser)`, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("tracklift.data.cli", "describe an RGB-D scene folder: layout, frames, intrinsics, bad frames"),
    "synth": ("tracklift.synth.cli", "generate a procedural room with exact ground truth (ScanNet layout)"),
    "synth-masks": ("tracklift.synth.masks_cli", "write corrupted 2D masks from a synthetic scene's ground truth"),
    "eval": ("tracklift.eval.cli", "ScanNet-protocol 3D instance AP of predictions against ground truth"),
    "boxes-from-infos": ("tracklift.eval.boxes_cli", "GT 3D boxes of a scene from mmdetection3d ScanNet infos pickles"),
    "segment": ("tracklift.pipeline.cli", "segment a scene into 3D instances (OpenTrack3D pipeline)"),
    "batch": ("tracklift.batch.cli", "segment every scene of a dataset on Ray or a process pool; resumable, pooled AP"),
    "superpoints": ("tracklift.superpoints.cli", "mesh superpoints (ScanNet segmentator) to a .segs.json file"),
    "query": ("tracklift.pipeline.query_cli", "rank the instances of a segmented scene for a text query"),
    "splat": ("tracklift.splat.cli", "Gaussian splatting with instance tracing (Trace3D)"),
    "view": ("tracklift.view.cli", "web viewer of a segmented scene or a Gaussian model (viser)"),
}


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracklift", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            importlib.import_module(module).configure(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):
        # file names that are not UTF-8 arrive as lone surrogates, which a strict encoder refuses to print
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (OSError, ValueError) as err:
        # Bad input and file-system faults (unreadable inputs, an output path that is a file or not
        # writable, a full disk) are reported as one clear line, not a traceback.
        print(f"tracklift {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 2


def one_line(err: BaseException) -> str:
    """The message of `err` on one line, naming the file of an OSError."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        text = f"{err.filename}: {err.strerror}"
    else:
        text = str(err) or type(err).__name__
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
