"""`tracklift eval`: ScanNet-protocol 3D instance AP of benchmark-format predictions against GT files."""

from __future__ import annotations

import argparse

DATASETS = ("scannet200", "scannet20", "replica", "custom")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pred", required=True, help="folder of <scene>.txt prediction files (+ pred_mask/)")
    parser.add_argument("--gt", required=True, help="folder of <scene>.txt GT files (1000·label + instance), or one file")
    parser.add_argument("--dataset", choices=DATASETS, default=None,
                        help="class vocabulary (default scannet200, or custom when --classes is given)")
    parser.add_argument("--classes", help="class file for --dataset custom: JSON {\"<id>\": \"<name>\"} or TSV id<TAB>name")
    parser.add_argument("--agnostic", action="store_true", help="all evaluated classes as one (judge proposals)")
    parser.add_argument("--json", dest="json_out", help="also write the result as JSON to this file")
    parser.set_defaults(func=run)


def _vocabulary(args: argparse.Namespace):
    from tracklift.vocab import load_vocabulary, read_class_file

    dataset = args.dataset or ("custom" if args.classes else "scannet200")
    if dataset == "custom":
        if not args.classes:
            raise ValueError("--dataset custom needs --classes FILE")
        return read_class_file(args.classes)
    if args.classes:
        raise ValueError(f"--classes is only used with --dataset custom, not {dataset}")
    return load_vocabulary(dataset)


def run(args: argparse.Namespace) -> int:
    from tracklift.eval.benchmark_format import read_predictions
    from tracklift.eval.evaluate import evaluate
    from tracklift.eval.gt import read_gt_dir
    from tracklift.eval.report import format_table, result_to_json
    from tracklift.io.atomic import atomic_write_text

    vocab = _vocabulary(args)
    gts = read_gt_dir(args.gt)
    preds = read_predictions(args.pred, None if args.agnostic else vocab, {s: len(g) for s, g in gts.items()})
    missing = sorted(set(preds) - set(gts))
    if missing:
        raise FileNotFoundError(f"no GT file for scene {missing[0]!r} in {args.gt} (expected {missing[0]}.txt)")
    result = evaluate(preds, gts, vocab, agnostic=args.agnostic, progress=True)
    print(f"{len(preds)} scenes, vocabulary {vocab.name}{', class-agnostic' if args.agnostic else ''}")
    print(format_table(result))
    if args.json_out:
        atomic_write_text(args.json_out, result_to_json(result) + "\n")
    return 0
