"""`tracklift boxes-from-infos INFOS… --scene NAME --out GT.json`: a scene's GT 3D boxes from mmdetection3d
ScanNet infos pickles (read with the restricted unpickler) as a GT box file for `tracklift eval --boxes`."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("infos", nargs="+", help="scannet_infos_*.pkl files, searched in order for the scene")
    parser.add_argument(
        "--scene", required=True, action="append", help="scene name, e.g. scene0113_00 (repeat for several)"
    )
    parser.add_argument("--out", required=True, help="output JSON file (one scene) or folder (written as <scene>.json)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tracklift.eval.box_gt import boxes_from_infos, write_scene_boxes

    out = Path(args.out)
    single = out.suffix == ".json"
    if single and len(args.scene) > 1:
        raise ValueError(f"--out {out} is one file; give a folder for {len(args.scene)} scenes")
    for scene in args.scene:
        gt = boxes_from_infos(args.infos, scene)
        path = out if single else out / f"{scene}.json"
        write_scene_boxes(path, gt)
        print(f"{scene}: {len(gt.boxes)} boxes -> {path}")
    return 0
