"""Segmentation without any 2D masks: `python -m benchmarks.geo3d [--quick] [--scannet DIR ...]`.

Synthetic rooms (`tracklift.synth`, exact ground truth over the mesh vertices; class-agnostic ScanNet AP):
    geo3d        `tracklift segment SCENE --segmenter geo3d` (3D segmentation of the fused map)
    rgbd         `tracklift segment SCENE --segmenter rgbd` (per-frame RGB-D graph segmenter + tracker)
    naive-oracle the naive baseline (`track.naive_baseline`) fed the exact 2D masks: a reference that has the
                 masks the two weight-free paths do without
Each is timed as the whole in-process command (fuse/segment, write, no classifier, no pictures), once.

Real scans (`--scannet`: mmdetection3d posed_images folders): `geo3d` and `rgbd` are run the same way and their
prediction folders kept under the cache, with time, frames/s and instance counts. Their 3D box AP needs the box
evaluator (`tracklift eval --boxes`), which this suite does not duplicate.

Writes `benchmarks/results/geo3d[_quick].json` (`"kind": "geo3d"`) and regenerates BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
from pathlib import Path

from benchmarks.markdown import fmt
from benchmarks.measure import machine
from benchmarks.scenes import ensure_masks, ensure_scene
from benchmarks.suite import Suite

HERE = Path(__file__).resolve().parent
SYNTH = Suite("geo3d", seeds=(0, 1, 2), frames=60, width=640, height=480, objects=20, presets=("oracle",), repeats=1)
QUICK = Suite("geo3d_quick", seeds=(0,), frames=20, width=320, height=240, objects=10, presets=("oracle",), repeats=1)
PATHS = ("geo3d", "rgbd")


def run_segment(scene: Path, out: Path, segmenter: str) -> tuple[dict, float]:
    """`tracklift segment` in process; returns its printed summary and wall seconds."""
    from tracklift.cli import main

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        code = main(
            [
                "segment",
                str(scene),
                "--out",
                str(out),
                "--segmenter",
                segmenter,
                "--classifier",
                "none",
                "--pictures",
                "0",
            ]
        )
    seconds = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"tracklift segment --segmenter {segmenter} failed on {scene}")
    return json.loads(printed.getvalue()), seconds


def agnostic_ap(preds: dict, gt_dir: Path) -> dict:
    from tracklift.eval import evaluate, read_gt_dir
    from tracklift.vocab import load_vocabulary

    result = evaluate(preds, read_gt_dir(gt_dir), load_vocabulary("scannet200"), agnostic=True)["all"]
    return {k: result[k] for k in ("ap", "ap50", "ap25")}


def synthetic(suite: Suite, cache: Path) -> list[dict]:
    from benchmarks.naive_baseline import naive_baseline
    from tracklift.data.scene import open_scene
    from tracklift.eval import read_predictions
    from tracklift.vocab import load_vocabulary

    rows = []
    for seed in suite.seeds:
        scene = ensure_scene(cache, seed, suite)
        for path in PATHS:
            out = cache / "predictions" / suite.name / path / scene.name
            summary, seconds = run_segment(scene, out, path)
            ap = agnostic_ap(read_predictions(out, load_vocabulary("scannet200")), scene / "gt")
            rows.append(
                {
                    "scene": scene.name,
                    "method": path,
                    **ap,
                    "seconds": seconds,
                    "fps": summary["frames"] / seconds,
                    "instances": summary["instances"],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        masks = ensure_masks(cache, scene, "oracle", suite.mask_seed)
        start = time.perf_counter()
        preds = naive_baseline(open_scene(scene), masks)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "scene": scene.name,
                "method": "naive-oracle",
                **agnostic_ap({scene.name: preds}, scene / "gt"),
                "seconds": seconds,
                "fps": suite.frames / seconds,
                "instances": len(preds),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def real(scans: list[Path], cache: Path) -> list[dict]:
    rows = []
    for scan in scans:
        for path in PATHS:
            out = cache / "predictions" / "real" / path / scan.name
            summary, seconds = run_segment(scan, out, path)
            rows.append(
                {
                    "scene": scan.name,
                    "method": path,
                    "seconds": seconds,
                    "frames": summary["frames"],
                    "fps": summary["frames"] / seconds,
                    "instances": summary["instances"],
                    "out": str(out),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def means(rows: list[dict], keys=("ap", "ap50", "ap25", "fps")) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        out[method] = {k: sum(r[k] for r in mine) / len(mine) for k in keys if all(k in r for r in mine)}
    return out


def markdown_section(doc: dict) -> str:
    s = doc["suite"]
    lines = [
        f"## Segmentation without 2D masks (`{s['name']}`)",
        "",
        f"{len(s['seeds'])} synthetic room(s) ({s['width']}×{s['height']}, {s['frames']} frames, "
        f"{s['objects']} objects, "
        "exact GT over the mesh vertices), class-agnostic ScanNet AP, mean over rooms; whole `tracklift segment` "
        "command (no classifier, no pictures) in frames/s. `naive-oracle` is the naive baseline given the exact 2D "
        "masks that `geo3d` and `rgbd` do without.",
        "",
        "| method | AP | AP50 | AP25 | frames/s |",
        "|---|---|---|---|---|",
    ]
    for method, m in means(doc["synthetic"]).items():
        lines.append(f"| {method} | {fmt(m['ap'])} | {fmt(m['ap50'])} | {fmt(m['ap25'])} | {fmt(m['fps'], 1)} |")
    if doc.get("real"):
        lines += [
            "",
            "Real scans (ScanNet posed_images), whole command:",
            "",
            "| scan | method | frames | seconds | frames/s | instances |",
            "|---|---|---|---|---|---|",
        ]
        for r in doc["real"]:
            lines.append(
                f"| {r['scene']} | {r['method']} | {r['frames']} | {fmt(r['seconds'], 1)} | "
                f"{fmt(r['fps'], 1)} | {r['instances']} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small room (checks the harness)")
    parser.add_argument("--scannet", nargs="*", default=[], help="posed_images scan folders to run as well")
    parser.add_argument("--cache", default=str(HERE / ".cache"), help="generated scenes, masks and predictions")
    args = parser.parse_args(argv)
    suite = QUICK if args.quick else SYNTH
    cache = Path(args.cache)
    doc = {
        "kind": "geo3d",
        "suite": suite.describe(),
        "machine": machine(),
        "synthetic": synthetic(suite, cache),
        "real": real([Path(p) for p in args.scannet], cache),
    }
    from benchmarks.run import record

    record(doc, HERE / "results" / f"{suite.name}.json", HERE.parent / "BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
