"""Vocabularies: packaged ScanNet200 / ScanNet20 / Replica, splits, and user class files."""

from __future__ import annotations

import json

import pytest

from tracklift.vocab import Vocabulary, load_vocabulary, read_class_file


def test_scannet200_ids_names_and_evaluated_classes():
    v = load_vocabulary("scannet200")
    assert len(v.ids) == 200 and len(v.evaluated) == 198
    assert v.id_of("wall") == 1 and v.id_of(" Office Chair ") == 10 and v.name_of(1191) == "mattress"
    assert 1 not in v.evaluated and 3 not in v.evaluated  # wall, floor
    assert 1 in v and 12 not in v and "chair" not in v


def test_scannet200_splits_partition_the_evaluated_classes():
    v = load_vocabulary("scannet200")
    head, common, tail = v.splits["head"], v.splits["common"], v.splits["tail"]
    # the benchmark's lists have 66 / 68 / 66 names; wall and floor (head) are not evaluated
    assert (len(head), len(common), len(tail)) == (64, 68, 66)
    assert head | common | tail == set(v.evaluated) and not (head & common or head & tail or common & tail)
    assert v.id_of("chair") in head and v.id_of("cushion") in common and v.id_of("luggage") in tail


def test_scannet20_has_the_18_benchmark_instance_classes():
    v = load_vocabulary("scannet20")
    assert len(v.evaluated) == 18
    assert [v.name_of(i) for i in v.evaluated][:3] == ["cabinet", "bed", "chair"]
    assert v.id_of("otherfurniture") == 39 and v.id_of("shower curtain") == 28


def test_replica_has_48_classes_without_structure():
    v = load_vocabulary("replica")
    assert len(v.evaluated) == 48
    assert v.id_of("basket") == 3 and v.id_of("rug") == 98 and v.id_of("tv-screen") == 87
    for skipped in ("undefined", "floor", "ceiling", "wall"):
        with pytest.raises(KeyError):
            v.id_of(skipped)


def test_unknown_names_raise_key_error():
    v = load_vocabulary("scannet200")
    with pytest.raises(KeyError, match="'sofa bed' is not in vocabulary 'scannet200'"):
        v.id_of("sofa bed")
    with pytest.raises(KeyError, match="label id 12 is not in vocabulary"):
        v.name_of(12)
    with pytest.raises(KeyError, match="unknown vocabulary 'nyu40'"):
        load_vocabulary("nyu40")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ids": (1, 2), "names": ("a",)}, "2 ids but 1 names"),
        ({"ids": (1, 1), "names": ("a", "b")}, "duplicate label ids"),
        ({"ids": (1, 2), "names": ("a", "A ")}, "duplicate class names"),
        ({"ids": (1, 2), "names": ("a", "b"), "evaluated": (3,)}, r"evaluated ids \[3\]"),
        (
            {"ids": (1, 2), "names": ("a", "b"), "evaluated": (1,), "splits": {"head": frozenset({2})}},
            r"split 'head' has ids \[2\]",
        ),
    ],
)
def test_vocabulary_rejects_inconsistent_tables(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Vocabulary("toy", **kwargs)


def test_json_class_file(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"5": "Chair", "7": "big table"}))
    v = read_class_file(path)
    assert v.name == "mine" and v.ids == (5, 7) and v.evaluated == (5, 7)
    assert v.id_of("chair") == 5 and v.name_of(7) == "big table"


def test_tsv_class_file_with_header_and_comments(tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text("id\tname\n# objects\n3\tlamp\n\n9\tpotted plant\n")
    v = read_class_file(path)
    assert v.ids == (3, 9) and v.names == ("lamp", "potted plant")


@pytest.mark.parametrize(
    ("filename", "text", "message"),
    [
        ("c.tsv", "1\tlamp\n2 chair\n", r"c\.tsv line 2: expected 'id<TAB>name'"),
        ("c.tsv", "1\tlamp\nx\tchair\n", r"c\.tsv line 2: id 'x' is not an integer"),
        ("c.tsv", "1\tlamp\n1\tchair\n", "label id 1 is listed twice"),
        ("c.tsv", "1\tlamp\n2\tLamp\n", "duplicate class names"),
        ("c.tsv", "id\tname\n", "no classes found"),
        ("c.json", '{"1": "lamp",', r"c\.json: invalid JSON at line 1"),
        ("c.json", '["lamp"]', "expected an object"),
        ("c.json", '{"one": "lamp"}', "key 'one' is not an integer"),
        ("c.json", '{"1": 5}', "the name of id 1 must be a non-empty string"),
    ],
    ids=[
        "tsv-fields",
        "tsv-id",
        "tsv-dup-id",
        "tsv-dup-name",
        "tsv-empty",
        "json-syntax",
        "json-list",
        "json-key",
        "json-name",
    ],
)
def test_bad_class_files_name_file_and_problem(tmp_path, filename, text, message):
    path = tmp_path / filename
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_class_file(path)


def test_missing_class_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_class_file(tmp_path / "none.json")
