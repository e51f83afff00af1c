"""The open-vocabulary benchmark suite: labelling variants, the perfect case, results and their markdown."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.openvocab import (
    QUERY_RANKINGS,
    VARIANTS,
    ExactVoteClassifier,
    classifiers,
    markdown_section,
    open_room,
    pooled_queries,
    run_suite,
    score_instances,
)
from benchmarks.scenes import ensure_scene
from benchmarks.suite import Suite
from tracklift.classify.label import classify_instances
from tracklift.core.instance import Instance3D
from tracklift.eval import evaluate, result_to_json
from tracklift.io.ply import read_ply
from tracklift.vocab import load_vocabulary

TINY = Suite("tiny_openvocab", seeds=(0,), frames=4, width=64, height=48, objects=5, presets=("oracle",), repeats=1)
VOCAB = load_vocabulary("scannet200")


def voted(votes: dict[str, float]) -> Instance3D:
    return Instance3D(id=0, points=np.zeros((2, 3), np.float32), label_votes=votes, score=0.8)


def test_exact_votes_ignore_names_outside_the_vocabulary_and_text_maps_them():
    # "sofa" is not a ScanNet200 name but an alias of "couch": exact voting falls back on the minority
    # "chair"; the vote classifier maps "sofa" (alias, no embedding needed) and picks couch.
    exact, text = voted({"sofa": 5.0, "chair": 2.0}), voted({"sofa": 5.0, "chair": 2.0})
    classify_instances([exact], ExactVoteClassifier(), VOCAB)
    classify_instances([text], classifiers()["text"], VOCAB)
    assert exact.label == "chair" and text.label == "couch"


def test_exact_votes_without_any_vocabulary_name_give_the_fallback_class():
    inst = voted({"sofa": 5.0, "settee": 1.0})
    probs = ExactVoteClassifier().classify(inst, [], VOCAB.names)
    np.testing.assert_allclose(probs, np.full(len(VOCAB.names), 1 / len(VOCAB.names)))
    classify_instances([inst], ExactVoteClassifier(), VOCAB)
    assert inst.label == "object"


def test_exact_vote_distribution_and_query_score_hand_computed():
    inst = voted({"Chair ": 3.0, "table": 1.0, "sofa": 4.0})  # case and spaces ignored, "sofa" dropped
    names = ["chair", "table", "lamp", "couch"]
    probs = ExactVoteClassifier(smoothing=0.2).classify(inst, [], names)
    np.testing.assert_allclose(probs, 0.8 * np.array([0.75, 0.25, 0, 0]) + 0.2 * 0.25)
    assert ExactVoteClassifier().score_query(inst, [], "chair") == pytest.approx(3 / 8)
    assert ExactVoteClassifier().score_query(voted({}), [], "chair") == 0.0


def test_score_instances_rejects_masks_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"masks must be \[I, V\]"):
        score_instances(
            [voted({"chair": 1.0})],
            np.zeros((2, 10), bool),
            np.zeros(10, np.int64),
            VOCAB,
            {"exact": ExactVoteClassifier()},
        )


def test_pooled_queries_hand_computed():
    rows = [
        {"kind": "class", "top1": 1.0, "recall_at_r": 1.0, "ap": 1.0},
        {"kind": "class", "top1": 0.0, "recall_at_r": 0.5, "ap": 0.25},
        {"kind": "functional", "top1": 1.0, "recall_at_r": 0.5, "ap": 0.5},
    ]
    out = pooled_queries(rows)
    assert out["queries"] == 3 and out["top1"] == pytest.approx(2 / 3) and out["ap"] == pytest.approx(1.75 / 3)
    assert out["by_kind"]["class"] == {"queries": 2, "top1": 0.5, "recall_at_r": 0.75, "ap": 0.625}
    assert out["by_kind"]["synonym"] == {"queries": 0, "top1": None, "recall_at_r": None, "ap": None}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    pytest.importorskip("sentence_transformers")  # text mapping and queries use the bundled MiniLM
    cache = tmp_path_factory.mktemp("openvocab_cache")
    return cache, run_suite(TINY, cache, progress=False)


@pytest.mark.models
def test_suite_smoke_result_structure(tiny_run):
    _, doc = tiny_run
    assert doc["kind"] == "openvocab" and doc["suite"]["name"] == TINY.name
    result = doc["presets"]["oracle"]
    assert set(result["variants"]) == set(VARIANTS)
    for v in result["variants"].values():
        for kind in ("semantic", "agnostic"):
            assert set(v[kind]) == {"ap", "ap50", "ap25"}
            assert all(np.isnan(x) or 0.0 <= x <= 1.0 for x in v[kind].values())
    assert set(result["queries"]) == set(QUERY_RANKINGS)
    for q in result["queries"].values():
        assert q["queries"] > 0 and set(q["by_kind"]) == {"class", "synonym", "functional"}
        assert 0.0 <= q["top1"] <= 1.0
    asked = {q["query"] for rows in result["per_query"].values() for q in rows}
    assert asked and not asked & {"wall", "floor", "ceiling"}  # the masks never show structure
    assert len(result["pipeline_seconds"]) == len(TINY.seeds)
    json.loads(result_to_json(doc))  # serialisable, NaN as null
    section = markdown_section(doc)
    assert all(f"| oracle | {v} |" in section for v in VARIANTS)


@pytest.mark.models
def test_perfect_masks_and_labels_score_semantic_ap50_one(tiny_run):
    cache, _ = tiny_run
    room = open_room(ensure_scene(cache, TINY.seeds[0], TINY))  # generated by the run
    vertices = read_ply(room.scene.mesh_path).vertices
    ids = [g for g in np.unique(room.gt) if g >= 1000 and g // 1000 in VOCAB.evaluated]
    masks = np.stack([room.gt == g for g in ids])
    instances = [
        Instance3D(id=k, points=vertices[m], label_votes={VOCAB.name_of(g // 1000): 2.0}, score=0.9)
        for k, (g, m) in enumerate(zip(ids, masks))
    ]
    preds, named = score_instances(instances, masks, room.superpoints, VOCAB, classifiers())
    for variant in ("exact", "text"):
        result = evaluate({room.scene.name: preds[variant]}, {room.scene.name: room.gt}, VOCAB)["all"]
        assert result["ap50"] == pytest.approx(1.0), variant
    assert all(i.label is None for i in instances)  # the inputs were named through copies
    assert [i.label for i in named["text"]] == [VOCAB.name_of(g // 1000) for g in ids]


def test_benchmarks_page_renders_the_openvocab_section(tiny_run, tmp_path):
    from benchmarks.run import render
    from tracklift.eval.report import result_to_json

    _, doc = tiny_run
    (tmp_path / "openvocab.json").write_text(result_to_json(doc))
    page = render(tmp_path)
    assert page.startswith("# Benchmarks") and markdown_section(doc) in page
