"""`tracklift batch ROOT --out OUT`: segment every scene of a dataset (Ray, or a local process pool),
resumable, with pooled evaluation."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    from tracklift.batch.driver import BatchConfig
    from tracklift.core.config import add_config_flags
    from tracklift.pipeline.cli import add_options

    parser.add_argument(
        "root",
        help="dataset folder: scans/<scene>/, posed_images/<scene>/, data/<scene>/ or "
        "<scene>/ folders of any layout `tracklift info` reads (or one scene folder)",
    )
    parser.add_argument(
        "--out",
        required=True,
        help="output folder: every scene's `tracklift segment` outputs, "
        "batch.json, eval.json; .batch/ holds completion markers and per-scene logs",
    )
    parser.add_argument(
        "--scenes", help="file naming the scene folders to run, one per line (absolute, or relative to ROOT)"
    )
    parser.add_argument("--masks-root", help="precomputed 2D masks: DIR/<scene>/ per scene")
    parser.add_argument("--eval", dest="gt_root", help="GT folder of <scene>.txt files: pooled ScanNet-protocol AP")
    parser.add_argument(
        "--dataset",
        choices=("scannet200", "scannet20", "replica"),
        help="vocabulary of the evaluation (default: --vocab)",
    )
    parser.add_argument("--agnostic", action="store_true", help="class-agnostic evaluation")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="local workers: CPUs of the local Ray, or processes of the pool (default: all CPUs)",
    )
    parser.add_argument("--address", help="join an existing Ray cluster: auto, or ray://HOST:10001")
    parser.add_argument(
        "--engine",
        choices=("auto", "ray", "process"),
        default="auto",
        help="auto (default): Ray when installed, else a local process pool",
    )
    add_config_flags(parser, BatchConfig, {"retries": "--retries", "cpus": "--cpus-per-scene"})
    add_options(parser)
    parser.set_defaults(func=run)


def segment_options(args: argparse.Namespace) -> dict:
    """The `tracklift segment` options among `args`."""
    from tracklift.pipeline.cli import add_options

    probe = argparse.ArgumentParser(add_help=False)
    add_options(probe)
    return {name: getattr(args, name) for name in vars(probe.parse_args([]))}


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tracklift.batch.discover import find_scenes
    from tracklift.batch.driver import BatchConfig, run_batch
    from tracklift.batch.engine import make_engine
    from tracklift.batch.report import pooled_evaluation, scene_table
    from tracklift.core.config import config_from_args
    from tracklift.eval.report import format_table, result_to_json
    from tracklift.io.atomic import atomic_write_text
    from tracklift.pipeline.cli import check_options

    config = config_from_args(BatchConfig, args)
    check_options(args)
    if args.workers < 1:
        raise ValueError(f"--workers must be ≥ 1, got {args.workers}")
    if args.masks_root is not None and not Path(args.masks_root).is_dir():
        raise FileNotFoundError(f"{args.masks_root}: no such masks folder")
    jobs = find_scenes(args.root, args.scenes)
    log.info("%d scene(s) under %s", len(jobs), args.root)
    try:
        document = run_batch(
            jobs,
            args.out,
            lambda: make_engine(args.engine, args.workers, args.address),
            masks_root=args.masks_root,
            options=segment_options(args),
            config=config,
        )
    except KeyboardInterrupt:
        print(
            f"tracklift batch: interrupted; finished scenes are kept, rerun to continue ({args.out}/batch.json)",
            file=sys.stderr,
        )
        return 130
    counts = document["counts"]
    print(
        json.dumps(
            {
                "scenes": len(jobs),
                **counts,
                "wall_seconds": round(document["wall_seconds"], 1),
                "batch_json": str(Path(args.out) / "batch.json"),
            }
        )
    )
    for name, entry in document["scenes"].items():
        if entry["status"] == "failed":
            print(f"failed: {name}: {entry.get('error')} (log: {entry.get('log')})", file=sys.stderr)
    if args.gt_root:
        finished = [n for n, e in document["scenes"].items() if e["status"] in ("ok", "skipped")]
        if not finished:
            raise ValueError("no scene finished: nothing to evaluate")
        result = pooled_evaluation(args.out, finished, args.gt_root, args.dataset or args.vocab, args.agnostic)
        atomic_write_text(Path(args.out) / "eval.json", result_to_json(result) + "\n")
        print(scene_table(result["scenes"]))
        print(f"pooled over {len(result['scenes'])} scenes:")
        print(format_table(result["pooled"]))
    return 1 if counts.get("failed") else 0
