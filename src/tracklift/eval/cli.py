"""`tracklift eval`: ScanNet-protocol 3D instance AP of benchmark-format predictions against GT files, or
(`--boxes`) 3D box AP@0.25/0.5 of `tracklift segment` outputs against GT box files (`eval.box_gt`)."""

from __future__ import annotations

import argparse

DATASETS = ("scannet200", "scannet20", "replica", "custom")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pred", required=True, help="folder of <scene>.txt prediction files (+ pred_mask/)")
    gt = parser.add_mutually_exclusive_group(required=True)
    gt.add_argument("--gt", help="folder of <scene>.txt GT files (1000·label + instance), or one file")
    gt.add_argument(
        "--boxes",
        help="GT box JSON file or folder of them: box AP@0.25/0.5 of the instances' "
        "bounding boxes (OUT/<scene>.json + _instances.npz); see tracklift.eval.box_gt",
    )
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default=None,
        help="class vocabulary (default scannet200, or custom when --classes is given)",
    )
    parser.add_argument("--classes", help='class file for --dataset custom: JSON {"<id>": "<name>"} or TSV id<TAB>name')
    parser.add_argument("--agnostic", action="store_true", help="all evaluated classes as one (judge proposals)")
    parser.add_argument(
        "--strict-labels",
        action="store_true",
        help="a prediction of a class that is not evaluated (wall, floor, excluded) is an error; "
        "by default it is skipped and counted, as ScanNet's reference script does",
    )
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
    if args.boxes:
        return run_boxes(args)
    from tracklift.eval.benchmark_format import read_predictions
    from tracklift.eval.evaluate import evaluate, skipped_labels
    from tracklift.eval.gt import read_gt_dir
    from tracklift.eval.report import format_table, result_to_json
    from tracklift.io.atomic import atomic_write_text

    vocab = _vocabulary(args)
    gts = read_gt_dir(args.gt)
    preds = read_predictions(
        args.pred,
        None if args.agnostic else vocab,
        {s: len(g) for s, g in gts.items()},
        strict_labels=args.strict_labels,
    )
    missing = sorted(set(preds) - set(gts))
    if missing:
        raise FileNotFoundError(f"no GT file for scene {missing[0]!r} in {args.gt} (expected {missing[0]}.txt)")
    result = evaluate(preds, gts, vocab, agnostic=args.agnostic, progress=True)
    result["skipped_labels"] = {} if args.agnostic else skipped_labels(preds, vocab)
    print(f"{len(preds)} scenes, vocabulary {vocab.name}{', class-agnostic' if args.agnostic else ''}")
    print(format_table(result))
    if args.json_out:
        atomic_write_text(args.json_out, result_to_json(result) + "\n")
    return 0


def run_boxes(args: argparse.Namespace) -> int:
    from tracklift.eval.box_gt import read_box_gt
    from tracklift.eval.box_pred import evaluate_box_outputs
    from tracklift.eval.report import format_table, result_to_json
    from tracklift.io.atomic import atomic_write_text

    if args.dataset or args.classes:
        raise ValueError("--dataset/--classes do not apply to --boxes (the GT box files list their classes)")
    gts = read_box_gt(args.boxes)
    result = evaluate_box_outputs(args.pred, gts, args.agnostic)
    print(f"{len(gts)} scene(s), box AP (axis-aligned 3D IoU){', class-agnostic' if args.agnostic else ''}")
    print(format_table(result, (("ap25", "AP25"), ("ap50", "AP50"))))
    if args.json_out:
        atomic_write_text(args.json_out, result_to_json(result) + "\n")
    return 0
