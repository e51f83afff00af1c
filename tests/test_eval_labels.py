"""The evaluator's rule for labels outside the evaluated classes, as ScanNet's reference script: a
prediction of a vocabulary class that is not evaluated (wall, floor) is skipped, counted and reported;
--strict-labels makes it an error; an id outside the vocabulary is always an error naming file and line."""

from __future__ import annotations

import json

from tests.test_eval_io import gt_ids, mask, write_gt, write_index
from tracklift.cli import main
from tracklift.eval import PredictedInstance, evaluate, format_table, result_to_json
from tracklift.eval.evaluate import skipped_labels
from tracklift.vocab import load_vocabulary

SCANNET200 = load_vocabulary("scannet200")
WALL, FLOOR, CHAIR = SCANNET200.id_of("wall"), SCANNET200.id_of("floor"), SCANNET200.id_of("chair")


def make_case(tmp_path, extra_label: int) -> tuple[str, str]:
    write_gt(tmp_path / "gt", "s", gt_ids())
    masks = {"pred_mask/s_0.txt": mask(0, 200), "pred_mask/s_1.txt": mask(200, 600)}
    write_index(
        tmp_path / "pred", "s", [f"pred_mask/s_0.txt {CHAIR} 0.9", f"pred_mask/s_1.txt {extra_label} 0.95"], masks
    )
    return str(tmp_path / "pred"), str(tmp_path / "gt")


def test_wall_prediction_is_skipped_counted_and_reported(tmp_path, capsys):
    pred, gt = make_case(tmp_path, WALL)
    out = tmp_path / "r.json"
    assert main(["eval", "--pred", pred, "--gt", gt, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 predictions of classes that are not evaluated were skipped (wall 1)" in text
    doc = json.loads(out.read_text())
    assert doc["skipped_labels"] == {"wall": 1}
    # the wall prediction changes nothing: chair 2001 found, 2002 missed -> AP 0.5 as without it
    assert doc["classes"]["chair"]["ap"] == 0.5


def test_skipping_equals_leaving_the_prediction_out():
    kept = [PredictedInstance(mask(0, 200), CHAIR, 0.9)]
    skipped = [PredictedInstance(mask(200, 600), WALL, 0.95), PredictedInstance(mask(0, 300), FLOOR, 0.5)]
    with_skipped = evaluate({"s": kept + skipped}, {"s": gt_ids()}, SCANNET200)
    assert result_to_json(with_skipped) == result_to_json(evaluate({"s": kept}, {"s": gt_ids()}, SCANNET200))
    assert skipped_labels({"s": kept + skipped + skipped[:1]}, SCANNET200) == {"wall": 2, "floor": 1}
    assert skipped_labels({"s": kept}, SCANNET200) == {}


def test_table_without_skips_has_no_skip_line():
    result = evaluate({"s": [PredictedInstance(mask(0, 200), CHAIR, 0.9)]}, {"s": gt_ids()}, SCANNET200)
    assert "skipped" not in format_table({**result, "skipped_labels": {}})


def test_strict_labels_restores_the_error(tmp_path, capsys):
    pred, gt = make_case(tmp_path, FLOOR)
    assert main(["eval", "--pred", pred, "--gt", gt, "--strict-labels"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "s.txt line 2: label 'floor'" in err and "not an evaluated class" in err


def test_label_outside_the_vocabulary_is_an_error_naming_file_and_line(tmp_path, capsys):
    pred, gt = make_case(tmp_path, 99999)
    assert main(["eval", "--pred", pred, "--gt", gt]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "s.txt line 2: unknown label id 99999" in err


def test_agnostic_evaluation_reports_no_skips(tmp_path):
    pred, gt = make_case(tmp_path, WALL)
    out = tmp_path / "a.json"
    assert main(["eval", "--pred", pred, "--gt", gt, "--agnostic", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["skipped_labels"] == {}
