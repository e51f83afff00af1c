"""Every benchmark suite's place on the page, and the instance-segmentation suites' runner.

`SECTIONS` is the one table of suites: the `kind` of a results document → the module and function that render
its section of BENCHMARKS.md, in page order. Each suite records its document with `record`, which regenerates the
page from every file in `benchmarks/results/`.

`python -m benchmarks.run [--suite full|scan|quick]` (what `make bench` calls first): for every method × mask
preset × scene a worker process runs the method (warm-up, timed repeats, one tracemalloc run) and writes
benchmark-format predictions; they are evaluated here, pooled over the suite's scenes, class-agnostic and semantic.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.markdown import HEADER
from benchmarks.measure import machine
from benchmarks.methods import METHODS
from benchmarks.scenes import ensure_masks, ensure_scene
from benchmarks.suite import FULL, PRESETS, QUICK, SUITES, Suite

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# kind of results document -> (module, function rendering its section), in the order of the page
SECTIONS: dict[str, tuple[str, str]] = {
    "instance3d": ("benchmarks.markdown", "suite_table"),
    "real": ("benchmarks.real", "markdown_section"),
    "speed": ("benchmarks.speed", "markdown_section"),
    "rgbd_speed": ("benchmarks.rgbd_speed", "markdown_section"),
    "geo3d": ("benchmarks.geo3d", "markdown_section"),
    "openvocab": ("benchmarks.openvocab", "markdown_section"),
    "trace3d": ("benchmarks.trace3d", "markdown_table"),
    "splat_train": ("benchmarks.splat_train", "markdown_section"),
    "batch": ("benchmarks.batch", "markdown_section"),
    "viewer": ("benchmarks.viewer", "markdown_section"),
    "realism_calibration": ("benchmarks.calibrate_realism", "markdown_section"),
}


def section(doc: dict) -> str:
    """The section of BENCHMARKS.md for one results document (documents without a kind are instance suites)."""
    module, function = SECTIONS[doc.get("kind", "instance3d")]
    return getattr(importlib.import_module(module), function)(doc)


def render(results_dir: Path) -> str:
    """The whole page: sections in `SECTIONS` order (within a kind, quick suites last)."""
    order = list(SECTIONS)
    docs = [json.loads(p.read_text()) for p in sorted(Path(results_dir).glob("*.json"))]
    docs.sort(key=lambda d: (order.index(d.get("kind", "instance3d")), _is_quick(d)))
    body = "\n\n".join(section(d) for d in docs) if docs else "No results recorded yet: run `make bench`."
    return HEADER + "\n" + body + "\n"


def _is_quick(doc: dict) -> bool:
    suite = doc.get("suite")
    return isinstance(suite, dict) and "quick" in str(suite.get("name", ""))


def record(doc: dict, out: Path, markdown: str | Path) -> None:
    """Write a suite's results document to `out`, print its section and regenerate the page `markdown` from every
    result file beside `out`."""
    from tracklift.eval.report import result_to_json
    from tracklift.io.atomic import atomic_write_text

    out = Path(out)
    atomic_write_text(out, result_to_json(doc) + "\n")
    print(section(doc))
    atomic_write_text(markdown, render(out.parent))
    took = f" in {doc['wall_seconds']:.0f} s" if "wall_seconds" in doc else ""
    print(f"wrote {out} and {markdown}{took}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--suite", choices=sorted(SUITES), default=FULL.name, help=f"which suite (default {FULL.name!r})"
    )
    parser.add_argument("--quick", action="store_true", help=f"the small suite ({QUICK.name!r}); same as --suite quick")
    parser.add_argument("--methods", help=f"comma-separated subset of: {', '.join(METHODS)}")
    parser.add_argument("--presets", help=f"comma-separated subset of: {', '.join(PRESETS)}")
    parser.add_argument("--repeats", type=int, help="timed runs per method and scene (after a warm-up)")
    parser.add_argument("--cache", default=str(HERE / ".cache"), help="generated scenes, masks and predictions")
    parser.add_argument("--results", default=str(HERE / "results"), help="folder of <suite>.json results")
    parser.add_argument("--markdown", default=str(ROOT / "BENCHMARKS.md"), help="page regenerated from all results")
    return parser.parse_args(argv)


def choose_suite(args: argparse.Namespace) -> Suite:
    suite = QUICK if args.quick else SUITES[args.suite]
    changes: dict = {}
    if args.methods:
        changes["methods"] = tuple(m.strip() for m in args.methods.split(","))
        unknown = set(changes["methods"]) - set(METHODS)
        if unknown:
            raise SystemExit(f"unknown method(s) {sorted(unknown)}; known: {', '.join(METHODS)}")
    if args.presets:
        changes["presets"] = tuple(p.strip() for p in args.presets.split(","))
        unknown = set(changes["presets"]) - set(PRESETS)
        if unknown:
            raise SystemExit(f"unknown preset(s) {sorted(unknown)}; known: {', '.join(PRESETS)}")
    if args.repeats is not None:
        changes["repeats"] = args.repeats
    return dataclasses.replace(suite, **changes)


def run_worker(method: str, scene: Path, masks: Path, out: Path, stats: Path, repeats: int) -> dict:
    """One method on one scene in a fresh process (its own peak memory); returns its stats."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.worker",
        "--method",
        method,
        "--scene",
        str(scene),
        "--masks",
        str(masks),
        "--out",
        str(out),
        "--stats",
        str(stats),
        "--repeats",
        str(repeats),
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{method} on {scene.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(stats.read_text())


def evaluate_run(pred_dir: Path, scenes: list[Path]) -> dict:
    """Agnostic and semantic AP of one method × preset, pooled over the scenes."""
    from tracklift.data.scene import open_scene
    from tracklift.eval import evaluate, read_predictions
    from tracklift.eval.gt import read_gt_file
    from tracklift.vocab import load_vocabulary

    vocab = load_vocabulary("scannet200")
    gts = {}
    for path in scenes:
        scene = open_scene(path)
        if scene.gt_path is None:
            raise FileNotFoundError(f"synthetic scene {path} has no gt/{scene.name}.txt")
        gts[scene.name] = read_gt_file(scene.gt_path)
    preds = read_predictions(pred_dir, vocab, {s: len(g) for s, g in gts.items()})
    return {
        "agnostic": evaluate(preds, gts, vocab, agnostic=True)["all"],
        "semantic": evaluate(preds, gts, vocab)["all"],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    suite = choose_suite(args)
    methods = list(suite.methods or METHODS)
    cache = Path(args.cache)
    started = time.time()

    scenes = [ensure_scene(cache, seed, suite) for seed in tqdm(suite.seeds, desc="scenes", unit="scene")]
    masks = {(p, s): ensure_masks(cache, s, p, suite.mask_seed) for p in suite.presets for s in scenes}

    results: dict = {}
    jobs = [(m, p) for m in methods for p in suite.presets]
    for method, preset in tqdm(jobs, desc="methods × presets", unit="run"):
        pred_dir = cache / "predictions" / suite.name / method / preset
        shutil.rmtree(pred_dir, ignore_errors=True)  # scenes of an earlier, different suite must not linger
        stats = []
        for scene in scenes:
            stats_file = cache / "stats" / suite.name / method / preset / f"{scene.name}.json"
            stats.append(run_worker(method, scene, masks[(preset, scene)], pred_dir, stats_file, suite.repeats))
        seconds = sum(s["median_s"] for s in stats)
        results.setdefault(method, {})[preset] = {
            **evaluate_run(pred_dir, scenes),
            "fps": sum(s["frames"] for s in stats) / seconds if seconds > 0 else None,
            "seconds_per_scene": [s["median_s"] for s in stats],
            "tracemalloc_peak_mb": max(s["tracemalloc_peak_mb"] for s in stats),
            "max_rss_mb": max(s["max_rss_mb"] for s in stats),
            "instances_per_scene": float(np.mean([s["instances"] for s in stats])),
        }
        r = results[method][preset]
        tqdm.write(
            f"{method:>10} {preset:>7}: agnostic AP {r['agnostic']['ap']:.3f}  semantic AP "
            f"{r['semantic']['ap']:.3f}  {r['fps']:.1f} fps"
        )

    doc = {
        "suite": suite.describe(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 1),
        "machine": machine(),
        "methods": results,
    }
    record(doc, Path(args.results) / f"{suite.name}.json", args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
