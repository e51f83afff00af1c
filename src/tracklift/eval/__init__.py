"""ScanNet-protocol 3D instance evaluation and the benchmark prediction format.

Imports stay light (numpy only): `evaluate`, the readers/writers and the table are re-exported here.
"""

from tracklift.eval.benchmark_format import read_predictions, write_predictions
from tracklift.eval.evaluate import evaluate
from tracklift.eval.gt import read_gt_dir
from tracklift.eval.prediction import PredictedInstance
from tracklift.eval.report import format_table, result_to_json

__all__ = [
    "PredictedInstance",
    "evaluate",
    "format_table",
    "read_gt_dir",
    "read_predictions",
    "result_to_json",
    "write_predictions",
]
