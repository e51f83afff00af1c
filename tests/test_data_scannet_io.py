"""ScanNet ground truth: segs/aggregation -> per-vertex ids, labels TSV, GT text round trips."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.io.scannet import (
    SegGroup,
    read_aggregation,
    read_gt_txt,
    read_labels_tsv,
    read_scannet_gt,
    write_aggregation,
    write_gt_txt,
)
from tracklift.io.segs import read_segs, write_segs

# 8 vertices over superpoints 0, 1, 2, 3, 5; superpoint 5 belongs to no object
SEG = np.array([0, 0, 1, 1, 2, 2, 3, 5])
GROUPS = [
    SegGroup(0, "chair", (0, 1)),
    SegGroup(1, "table", (2,)),
    SegGroup(2, "flux capacitor", (3,)),
    SegGroup(3, "chair", (4,)),  # superpoint 4 has no vertex: the object is empty
]
TSV = (
    "id\traw_category\tcategory\tcount\tnyu40id\n"
    "2\tchair\tchair\t100\t5\n4\ttable\ttable\t50\t7\n7\tflux capacitor\tthing\t1\t40\n"
)


def _write_scene(tmp_path, groups=GROUPS):
    write_segs(tmp_path / "s.segs.json", SEG, "scene0000_00")
    write_aggregation(tmp_path / "s.aggregation.json", groups, "scene0000_00", "s.segs.json")
    return tmp_path / "s.segs.json", tmp_path / "s.aggregation.json"


def test_gt_from_scannet200_vocabulary_with_unknown_label_warning(tmp_path, caplog):
    segs, agg = _write_scene(tmp_path)
    with caplog.at_level(logging.WARNING, logger="tracklift.io.scannet"):
        ids = read_scannet_gt(segs, agg)
    # chair = 2, table = 4 in ScanNet200; instance = objectId + 1; unknown label and ungrouped -> 0
    np.testing.assert_array_equal(ids, [2001, 2001, 2001, 2001, 4002, 4002, 0, 0])
    assert ids.dtype == np.int64
    assert any("1 of 4 objects" in r.getMessage() and "flux capacitor" in r.getMessage() for r in caplog.records)


def test_gt_from_labels_tsv(tmp_path):
    segs, agg = _write_scene(tmp_path)
    (tmp_path / "labels.tsv").write_text(TSV)
    ids = read_scannet_gt(segs, agg, labels_tsv=tmp_path / "labels.tsv")
    np.testing.assert_array_equal(ids, [2001, 2001, 2001, 2001, 4002, 4002, 7003, 0])


def test_labels_tsv_errors(tmp_path):
    (tmp_path / "a.tsv").write_text("name\tid\nchair\t2\n")
    with pytest.raises(ValueError, match="a.tsv: missing columns \\['raw_category'\\]"):
        read_labels_tsv(tmp_path / "a.tsv")
    (tmp_path / "b.tsv").write_text("id\traw_category\nx\tchair\n")
    with pytest.raises(ValueError, match="b.tsv line 2: 'id' must be an integer"):
        read_labels_tsv(tmp_path / "b.tsv")
    assert read_labels_tsv(_tsv(tmp_path)) == {"chair": 2, "table": 4, "flux capacitor": 7}


def _tsv(tmp_path):
    (tmp_path / "c.tsv").write_text(TSV)
    return tmp_path / "c.tsv"


def test_instance_number_must_fit(tmp_path):
    segs, agg = _write_scene(tmp_path, [SegGroup(999, "chair", (0,))])
    with pytest.raises(ValueError, match="objectId 999"):
        read_scannet_gt(segs, agg)


def test_aggregation_round_trip_and_errors(tmp_path):
    _, agg = _write_scene(tmp_path)
    assert read_aggregation(agg) == GROUPS
    (tmp_path / "bad.json").write_text(json.dumps({"segGroups": [{"objectId": 0, "label": "chair"}]}))
    with pytest.raises(ValueError, match="bad.json: segGroups\\[0\\]"):
        read_aggregation(tmp_path / "bad.json")
    (tmp_path / "bad2.json").write_text("{")
    with pytest.raises(ValueError, match="bad2.json: invalid JSON"):
        read_aggregation(tmp_path / "bad2.json")


def test_segs_round_trip_and_errors(tmp_path):
    write_segs(tmp_path / "a.segs.json", SEG, "scene0000_00")
    data = json.loads((tmp_path / "a.segs.json").read_text())
    assert data["sceneId"] == "scene0000_00"
    np.testing.assert_array_equal(read_segs(tmp_path / "a.segs.json"), SEG)
    with pytest.raises(ValueError, match="a.segs.json: 8 segIndices for a mesh of 9 vertices"):
        read_segs(tmp_path / "a.segs.json", num_vertices=9)
    for bad in ([1, "x"], [1, 1.5], [True]):
        (tmp_path / "b.segs.json").write_text(json.dumps({"segIndices": bad}))
        with pytest.raises(ValueError, match="b.segs.json: 'segIndices' must be integers"):
            read_segs(tmp_path / "b.segs.json")
    (tmp_path / "c.segs.json").write_text(json.dumps({"sceneId": "x"}))
    with pytest.raises(ValueError, match="c.segs.json: expected an object with a 'segIndices' list"):
        read_segs(tmp_path / "c.segs.json")
    with pytest.raises(ValueError, match="integer"):
        write_segs(tmp_path / "d.segs.json", np.array([0.5]), "x")
    with pytest.raises(FileNotFoundError):
        read_segs(tmp_path / "nope.segs.json")


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 2**40), max_size=50))
def test_gt_txt_round_trip(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("gt") / "scene.txt"
    ids = np.array(values, dtype=np.int64)
    write_gt_txt(path, ids)
    back = read_gt_txt(path)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, ids)


def test_gt_txt_errors_name_file_and_line(tmp_path):
    (tmp_path / "gt.txt").write_text("2001\n0\nchair\n")
    with pytest.raises(ValueError, match="gt.txt line 3: expected one integer, found 'chair'"):
        read_gt_txt(tmp_path / "gt.txt")
    with pytest.raises(ValueError, match="integer"):
        write_gt_txt(tmp_path / "x.txt", np.zeros((2, 2), np.int64))
    with pytest.raises(FileNotFoundError):
        read_gt_txt(tmp_path / "nope.txt")


def test_gt_txt_write_is_one_integer_per_line(tmp_path):
    write_gt_txt(tmp_path / "gt.txt", np.array([2001, 0, 4002], np.int64))
    assert (tmp_path / "gt.txt").read_text() == "2001\n0\n4002\n"
