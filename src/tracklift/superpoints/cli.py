"""`tracklift superpoints MESH.ply --out FILE.segs.json`: ScanNet-segmentator superpoints of a mesh.

A PLY without faces is treated as a point cloud and segmented over its kNN graph instead.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mesh", type=Path, help="triangle mesh (or point cloud) PLY")
    parser.add_argument(
        "--out", type=Path, default=None, help="output .segs.json (default: beside the mesh, named like ScanNet's)"
    )
    parser.add_argument("--k", type=float, default=0.01, help="segmentation threshold kThresh (default 0.01)")
    parser.add_argument("--min-verts", type=int, default=20, help="merge segments smaller than this (default 20)")
    parser.add_argument("--knn", type=int, default=16, help="neighbours per point for a PLY without faces")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tracklift.io.ply import read_ply
    from tracklift.io.segs import write_segs
    from tracklift.superpoints.pointcloud import PointSuperpointConfig, segment_points
    from tracklift.superpoints.segmentator import segment_mesh

    if not args.k > 0:
        raise ValueError(f"--k must be > 0, got {args.k}")
    if args.min_verts < 0:
        raise ValueError(f"--min-verts must be >= 0, got {args.min_verts}")
    mesh = read_ply(args.mesh)
    start = time.perf_counter()
    if len(mesh.faces):
        seg = segment_mesh(mesh.vertices, mesh.faces, args.k, args.min_verts)
    else:
        log.info("%s has no faces: segmenting it as a point cloud (%d neighbours)", args.mesh, args.knn)
        config = PointSuperpointConfig(knn=args.knn, k_thresh=args.k, min_points=args.min_verts)
        seg = segment_points(mesh.vertices, mesh.colors, config)
    elapsed = time.perf_counter() - start
    out = args.out or args.mesh.with_name(f"{args.mesh.stem}.{args.k:f}.segs.json")
    write_segs(out, seg, args.mesh.stem, {"kThresh": args.k, "segMinVerts": args.min_verts})
    count = len(set(seg.tolist()))
    print(f"{args.mesh}: {len(seg)} vertices -> {count} superpoints in {elapsed:.2f} s, written to {out}")
    return 0
