"""The LLM endpoint's API key: read from the environment, sent only in the Authorization header, and
never written to the response cache, the logs or the classifier's outputs (issue 16, security)."""

from __future__ import annotations

import logging

import numpy as np

from tests.test_classify_llm import INST, VOCAB, FakeServer, make_views
from tracklift.classify.backends import make_classifier
from tracklift.classify.openai_chat import ENV_KEY, OpenAIChatConfig

KEY = "sk-test-9f3c1e7a0b2d4c6e8f1a3b5c"


def test_api_key_from_env_is_sent_but_never_stored_or_logged(tmp_path, monkeypatch, caplog):
    server = FakeServer()
    try:
        monkeypatch.setenv(ENV_KEY, KEY)
        monkeypatch.setenv("TRACKLIFT_LLM_MODEL", "tiny-vlm")
        # one failure (retried, logged) then an answer, then a request that fails for good (logged as an error)
        server.script = [("status", 500), ("ok", '{"label": "lamp", "confidence": 0.9}')]
        cache = tmp_path / "cache"
        classifier = make_classifier(f"llm:{server.url}", cache)
        classifier.prior = None  # ask the model alone: its answer is the output
        classifier.backend.backend.config = OpenAIChatConfig(
            **{**vars(classifier.backend.backend.config), "retries": 1, "backoff": 0.01, "timeout": 2.0}
        )
        with caplog.at_level(logging.DEBUG):
            first = classifier.classify(INST, make_views(), VOCAB)
            server.script = [("status", 404)]
            other = classifier.score_query(INST, make_views(2), "something to sit on")
    finally:
        server.close()
    assert VOCAB[int(np.argmax(first))] == "lamp" and other == 0.5
    assert [h.get("Authorization") for h in server.headers] == [f"Bearer {KEY}"] * 3
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "HTTP 500" in logged and "HTTP 404" in logged  # the failures were logged ...
    assert KEY not in logged  # ... without the key
    cached = list(cache.rglob("*"))
    assert any(p.is_file() for p in cached)
    for path in cached:
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
        assert KEY not in path.name
    assert KEY not in repr(classifier.backend.backend.config) and KEY not in str(vars(classifier))
    assert KEY not in repr(first.tolist()) + classifier.name


def test_from_env_reads_the_key_only_from_the_environment(monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    config = OpenAIChatConfig.from_env(url="http://127.0.0.1:9/v1", model="m")
    assert config.api_key is None
    monkeypatch.setenv(ENV_KEY, KEY)
    assert OpenAIChatConfig.from_env(url="http://127.0.0.1:9/v1", model="m").api_key == KEY
