"""`tracklift view OUT`: a web viewer of a segmented scene or a Gaussian model (viser, loopback by default)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "out",
        help="output folder of `tracklift segment`, or a Gaussian model folder "
        "(`tracklift splat train` / `splat lift`)",
    )
    parser.add_argument("--port", type=int, default=8080, help="port to serve on (default 8080)")
    parser.add_argument(
        "--host",
        help="address to serve on (default 127.0.0.1, this machine only; 0.0.0.0 shares the viewer with the network)",
    )
    parser.add_argument("--scene", help="scene name when OUT holds several segmented scenes")
    parser.add_argument("--frustums", type=int, default=8, help="camera frustums drawn along the trajectory")
    parser.set_defaults(func=run)


def open_viewer(out: str | Path, server, scene: str | None = None, frustums: int = 8):
    """Load OUT (either kind) and build its viewer on `server`; returns the viewer."""
    from tracklift.view.outputs import load_segmented, output_kind

    if output_kind(out) == "gaussians":
        from tracklift.view.splats import GaussianViewer, load_gaussians

        return GaussianViewer(server, load_gaussians(out), frustums)
    from tracklift.view.segmented import SegmentedViewer

    return SegmentedViewer(server, load_segmented(out, scene), frustums)


def run(args: argparse.Namespace) -> int:
    from tracklift.view.outputs import output_kind
    from tracklift.view.server import serve_forever, start_server

    if args.frustums < 0:
        raise ValueError(f"--frustums must be >= 0, got {args.frustums}")
    output_kind(args.out)  # a bad folder fails before the server starts
    server = start_server(args.host, args.port, explicit_host=args.host is not None)
    try:
        start = time.perf_counter()
        open_viewer(args.out, server, args.scene, args.frustums)
        print(f"viewer: {args.out} loaded in {time.perf_counter() - start:.2f} s; Ctrl-C to stop", flush=True)
    except BaseException:
        server.stop()
        raise
    serve_forever(server)
    return 0
