"""Benchmark-format reading and writing, GT files, the report and the `tracklift eval` command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tracklift.cli import main
from tracklift.eval import (
    PredictedInstance,
    evaluate,
    format_table,
    read_gt_dir,
    read_predictions,
    result_to_json,
    write_predictions,
)
from tracklift.eval.idfile import mask_to_bytes, read_ids, read_ids_plain
from tracklift.vocab import load_vocabulary

SCANNET200 = load_vocabulary("scannet200")
V = 600


def gt_ids() -> np.ndarray:
    """[600] GT: chair 2001 on 0..199, chair 2002 on 200..399, table 4001 on 400..599."""
    return np.repeat(np.array([2001, 2002, 4001], np.int64), 200)


def mask(start: int, stop: int) -> np.ndarray:
    m = np.zeros(V, bool)
    m[start:stop] = True
    return m


def write_gt(folder, scene: str, ids: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{scene}.txt").write_text("".join(f"{i}\n" for i in ids))


def write_index(pred_dir, scene: str, lines: list[str], masks: dict[str, np.ndarray]) -> None:
    (pred_dir / "pred_mask").mkdir(parents=True, exist_ok=True)
    for rel, m in masks.items():
        (pred_dir / rel).write_bytes(mask_to_bytes(m))
    (pred_dir / f"{scene}.txt").write_text("".join(line + "\n" for line in lines))


# ---------------------------------------------------------------- id files: fast path against the plain reader


@pytest.mark.parametrize(
    "text",
    ["0\n1\n1\n0\n", "0\n1\n1", "12\n3\n0\n", "2001\n-1\n7\n", "1\r\n0\r\n", " 1\n0 \n", "5\n"],
    ids=["digits", "no-final-newline", "multi-digit", "negative", "crlf", "spaces", "single"],
)
def test_read_ids_fast_path_agrees_with_plain_reader(tmp_path, text):
    path = tmp_path / "ids.txt"
    path.write_text(text)
    np.testing.assert_array_equal(read_ids(path), read_ids_plain(path))
    assert read_ids(path).dtype == np.int64


def test_read_ids_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("1\n0\nx\n")
    with pytest.raises(ValueError, match=r"bad\.txt line 3: expected one integer, found 'x'"):
        read_ids(path)


def test_mask_bytes_round_trip(tmp_path):
    m = np.random.default_rng(0).random(97) > 0.5
    (tmp_path / "m.txt").write_bytes(mask_to_bytes(m))
    np.testing.assert_array_equal(read_ids(tmp_path / "m.txt") != 0, m)


# ---------------------------------------------------------------- write -> read round trip


def test_write_then_read_round_trip(tmp_path):
    preds = [PredictedInstance(mask(0, 200), 2, 0.1 + 0.2), PredictedInstance(mask(400, 600), None, 1 / 3)]
    extra = [{"views": 12, "box": np.array([1.0, 2.0, 0.5, 0.25, 0.25, 1.0], np.float32)}, {"views": np.int64(3)}]
    index = write_predictions(tmp_path, "scene0000_00", preds, SCANNET200, extra_json=extra)
    assert index.read_text().splitlines() == [
        "pred_mask/scene0000_00_0.txt 2 0.30000000000000004",
        "pred_mask/scene0000_00_1.txt -1 0.3333333333333333",
    ]
    doc = json.loads((tmp_path / "scene0000_00.json").read_text())
    assert doc["scene"] == "scene0000_00"
    assert doc["instances"][0] == {
        "mask_file": "pred_mask/scene0000_00_0.txt",
        "label": "chair",
        "label_id": 2,
        "score": 0.30000000000000004,
        "views": 12,
        "box": [1.0, 2.0, 0.5, 0.25, 0.25, 1.0],
    }
    assert doc["instances"][1]["label"] is None and doc["instances"][1]["views"] == 3
    back = read_predictions(tmp_path, SCANNET200)["scene0000_00"]
    assert [(p.label_id, p.score) for p in back] == [(2, 0.1 + 0.2), (None, 1 / 3)]
    for a, b in zip(back, preds):
        np.testing.assert_array_equal(a.mask, b.mask)


def test_rewriting_a_scene_removes_its_stale_masks_only(tmp_path):
    write_predictions(tmp_path, "a", [PredictedInstance(mask(0, 10), 2, 0.5)] * 3, SCANNET200)
    write_predictions(tmp_path, "a_1", [PredictedInstance(mask(0, 10), 2, 0.5)], SCANNET200)
    write_predictions(tmp_path, "a", [PredictedInstance(mask(0, 10), 2, 0.5)], SCANNET200)
    assert sorted(p.name for p in (tmp_path / "pred_mask").iterdir()) == ["a_0.txt", "a_1_0.txt"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scene": "my scene"}, "without spaces or slashes"),
        ({"preds": [PredictedInstance(np.ones(5, bool), 999, 0.5)]}, "label id 999 is not in vocabulary"),
        ({"extra_json": [{"score": 1.0}]}, r"may not override \['score'\]"),
        ({"extra_json": []}, "extra_json has 0 entries for 1 instances"),
        ({"extra_json": [{"box": [float("nan")] * 6}]}, "Out of range float"),
    ],
    ids=["scene-name", "unknown-label", "override", "extra-length", "nan"],
)
def test_write_predictions_rejects_bad_input(tmp_path, kwargs, message):
    args = {"scene": "s", "preds": [PredictedInstance(np.ones(5, bool), 2, 0.5)], "extra_json": None} | kwargs
    with pytest.raises(ValueError, match=message):
        write_predictions(tmp_path, args["scene"], args["preds"], SCANNET200, extra_json=args["extra_json"])


# ---------------------------------------------------------------- reading predictions


def test_read_predictions_accepts_names_with_spaces_and_float_ids(tmp_path):
    masks = {"pred_mask/s_0.txt": mask(0, 200), "pred_mask/s_1.txt": mask(200, 400)}
    write_index(tmp_path, "s", ["pred_mask/s_0.txt office chair 0.9", "pred_mask/s_1.txt 2.0 0.5"], masks)
    preds = read_predictions(tmp_path, SCANNET200)["s"]
    assert [(p.label_id, p.score) for p in preds] == [(SCANNET200.id_of("office chair"), 0.9), (2, 0.5)]
    agnostic = read_predictions(tmp_path, None)["s"]
    assert [p.label_id for p in agnostic] == [None, 2]


def test_a_mask_listed_twice_keeps_its_place_and_the_later_values(tmp_path):
    masks = {"pred_mask/s_0.txt": mask(0, 200), "pred_mask/s_1.txt": mask(200, 400)}
    lines = ["pred_mask/s_0.txt 2 0.9", "pred_mask/s_1.txt 2 0.8", "pred_mask/s_0.txt 4 0.1"]
    write_index(tmp_path, "s", lines, masks)
    preds = read_predictions(tmp_path, SCANNET200)["s"]
    assert [(p.label_id, p.score, int(p.mask.argmax())) for p in preds] == [(4, 0.1, 0), (2, 0.8, 200)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("pred_mask/s_0.txt 0.9", r"s\.txt line 2: expected '<mask file> <label> <score>'"),
        ("pred_mask/s_0.txt 2 high", r"s\.txt line 2: score 'high' is not a number"),
        ("pred_mask/s_0.txt 2 nan", r"s\.txt line 2: score 'nan' is not finite"),
        ("pred_mask/s_0.txt sofa bed 0.5", r"s\.txt line 2: unknown label 'sofa bed'"),
        ("pred_mask/s_0.txt 12345 0.5", r"s\.txt line 2: unknown label id 12345"),
        ("/abs/s_0.txt 2 0.5", r"s\.txt line 2: mask file '/abs/s_0.txt' must be a path relative"),
        ("../s_0.txt 2 0.5", r"s\.txt line 2: mask file '../s_0.txt' points outside"),
    ],
    ids=["fields", "score", "nan-score", "unknown-name", "unknown-id", "absolute", "outside"],
)
def test_malformed_index_lines_name_file_and_line(tmp_path, line, message):
    write_index(tmp_path, "s", ["pred_mask/s_0.txt 2 0.9", line], {"pred_mask/s_0.txt": mask(0, 200)})
    with pytest.raises(ValueError, match=message):
        read_predictions(tmp_path, SCANNET200)


def test_missing_mask_file_and_wrong_vertex_count_are_reported(tmp_path):
    write_index(tmp_path, "s", ["pred_mask/s_0.txt 2 0.9"], {})
    with pytest.raises(FileNotFoundError, match=r"s\.txt line 1: mask file .*s_0\.txt does not exist"):
        read_predictions(tmp_path, SCANNET200)
    write_index(tmp_path, "s", ["pred_mask/s_0.txt 2 0.9"], {"pred_mask/s_0.txt": mask(0, 200)})
    with pytest.raises(ValueError, match=r"s_0\.txt \(.*s\.txt line 1\) has 600 lines, the scene's GT has 601"):
        read_predictions(tmp_path, SCANNET200, {"s": 601})


def test_malformed_mask_line_is_reported(tmp_path):
    write_index(tmp_path, "s", ["pred_mask/s_0.txt 2 0.9"], {})
    (tmp_path / "pred_mask/s_0.txt").write_text("1\n1\n0.5\n")
    with pytest.raises(ValueError, match=r"s_0\.txt line 3: expected one integer, found '0.5'"):
        read_predictions(tmp_path, SCANNET200)


def test_empty_or_missing_folders_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_predictions(tmp_path / "nope", SCANNET200)
    with pytest.raises(FileNotFoundError, match="has no <scene>.txt files"):
        read_predictions(tmp_path, SCANNET200)
    with pytest.raises(FileNotFoundError, match="has no <scene>.txt files"):
        read_gt_dir(tmp_path)


# ---------------------------------------------------------------- GT files


def test_read_gt_dir_reads_a_folder_or_one_file(tmp_path):
    write_gt(tmp_path / "gt", "a", gt_ids())
    write_gt(tmp_path / "gt", "b", gt_ids()[:300])
    gts = read_gt_dir(tmp_path / "gt")
    assert sorted(gts) == ["a", "b"] and gts["b"].shape == (300,) and gts["a"].dtype == np.int64
    assert list(read_gt_dir(tmp_path / "gt" / "a.txt")) == ["a"]


def test_negative_gt_id_is_reported(tmp_path):
    (tmp_path / "s.txt").write_text("2001\n-5\n")
    with pytest.raises(ValueError, match=r"s\.txt line 2: GT id -5 is negative"):
        read_gt_dir(tmp_path)


# ---------------------------------------------------------------- report


def test_table_and_json_show_what_was_measured():
    preds = {"s": [PredictedInstance(mask(0, 200), 2, 0.9)]}
    result = evaluate(preds, {"s": gt_ids()}, SCANNET200)
    table = format_table(result)
    assert "chair" in table and "table" in table and "196 classes without GT" in table
    assert "head" in table and "tail" not in table
    doc = json.loads(result_to_json(result))
    assert list(doc) == ["all", "head", "common", "tail", "classes"]
    assert doc["classes"]["chair"] == {"ap": 0.5, "ap50": 0.5, "ap25": 0.5}
    assert doc["tail"] == {"ap": None, "ap50": None, "ap25": None} and doc["classes"]["sink"]["ap"] is None


# ---------------------------------------------------------------- the command


def make_case(tmp_path) -> tuple[str, str]:
    write_gt(tmp_path / "gt", "s", gt_ids())
    preds = [PredictedInstance(mask(0, 200), 2, 0.9), PredictedInstance(mask(400, 600), 2, 0.8)]
    write_predictions(tmp_path / "pred", "s", preds, SCANNET200)
    return str(tmp_path / "pred"), str(tmp_path / "gt")


def test_cli_prints_table_and_writes_json(tmp_path, capsys):
    pred, gt = make_case(tmp_path)
    assert main(["eval", "--pred", pred, "--gt", gt, "--json", str(tmp_path / "r.json")]) == 0
    assert "average" in capsys.readouterr().out
    doc = json.loads((tmp_path / "r.json").read_text())
    # chair: (.9, TP), (.8, FP), one missed -> P/R (1/2, 1/2), (1, 1/2) -> 1/2; table: missed -> 0
    assert doc["classes"]["chair"]["ap"] == 0.5 and doc["classes"]["table"]["ap"] == 0.0
    assert doc["all"]["ap"] == 0.25


def test_cli_agnostic_and_custom_classes(tmp_path):
    pred, gt = make_case(tmp_path)
    assert main(["eval", "--pred", pred, "--gt", gt, "--agnostic", "--json", str(tmp_path / "a.json")]) == 0
    # both predictions match an object, one of three objects is missed: precision 1 up to recall 2/3
    assert json.loads((tmp_path / "a.json").read_text())["all"]["ap"] == pytest.approx(2 / 3, abs=1e-12)
    classes = tmp_path / "classes.json"
    classes.write_text(json.dumps({"2": "chair", "4": "table"}))
    out = tmp_path / "c.json"
    assert (
        main(["eval", "--pred", pred, "--gt", gt, "--dataset", "custom", "--classes", str(classes), "--json", str(out)])
        == 0
    )
    assert list(json.loads(out.read_text())["classes"]) == ["chair", "table"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dataset", "custom"], "--dataset custom needs --classes FILE"),
        (["--dataset", "replica", "--classes", "x.tsv"], "--classes is only used with --dataset custom"),
    ],
)
def test_cli_bad_options_give_one_error_line(tmp_path, capsys, extra, message):
    pred, gt = make_case(tmp_path)
    assert main(["eval", "--pred", pred, "--gt", gt, *extra]) == 2
    assert message in capsys.readouterr().err


def test_cli_missing_gt_scene_and_wrong_vertex_count(tmp_path, capsys):
    pred, gt = make_case(tmp_path)
    write_gt(tmp_path / "gt2", "other", gt_ids())
    assert main(["eval", "--pred", pred, "--gt", str(tmp_path / "gt2")]) == 2
    assert "no GT file for scene 's'" in capsys.readouterr().err
    write_gt(tmp_path / "gt3", "s", gt_ids()[:500])
    assert main(["eval", "--pred", pred, "--gt", str(tmp_path / "gt3")]) == 2
    assert "has 600 lines, the scene's GT has 500 vertices" in capsys.readouterr().err


def test_empty_prediction_file_counts_its_scene(tmp_path):
    write_gt(tmp_path / "gt", "s", gt_ids())
    write_predictions(tmp_path / "pred", "s", [], SCANNET200)
    preds = read_predictions(tmp_path / "pred", SCANNET200)
    assert preds == {"s": []}
    result = evaluate(preds, read_gt_dir(tmp_path / "gt"), SCANNET200)
    assert result["all"]["ap"] == 0.0 and not math.isnan(result["classes"]["chair"]["ap25"])
