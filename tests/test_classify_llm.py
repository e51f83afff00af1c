"""Multimodal LLM classifier: answer parsing, the OpenAI-compatible HTTP client against a real local
server, the response cache, and a tiny random local VLM loaded through the real loading code."""

from __future__ import annotations

import base64
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.classify.answers import parse_label_answer, parse_query_answer
from tracklift.classify.backends import make_classifier
from tracklift.classify.chat import CachedChat, LLMError, encode_png
from tracklift.classify.crops import CropConfig
from tracklift.classify.llm import NEUTRAL_SCORE, LLMClassifier, LLMConfig
from tracklift.classify.openai_chat import OpenAIChat, OpenAIChatConfig, completions_url
from tracklift.classify.protocol import Classifier
from tracklift.classify.text import TextEmbedder
from tracklift.classify.views import View
from tracklift.core.instance import Instance3D
from tracklift.vocab import load_vocabulary

VOCAB = ["chair", "couch", "tv", "table", "trash can", "lamp"]
INST = Instance3D(id=4, points=np.zeros((2, 3)))
SMALL = LLMConfig(n_views=2, crop=CropConfig(size=32))


def make_views(n: int = 3) -> list[View]:
    rng = np.random.default_rng(0)
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    return [
        View(
            frame=i,
            visible_fraction=1.0,
            area_fraction=0.1,
            quality=0.3,
            bbox=(5, 5, 15, 15),
            patch=rng.integers(0, 255, (20, 20, 3), dtype=np.uint8),
            patch_origin=(0, 0),
            mask=mask,
        )
        for i in range(n)
    ]


# --- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, label, confidence",
    [
        ('{"label": "chair", "confidence": 0.8}', "chair", 0.8),
        ('Sure! ```json\n{"Label": "Couch", "Confidence": "90%"}\n```', "couch", 0.9),
        ("The object is a TABLE.", "table", 0.7),
        ("chairs", "chair", 0.7),
        ("It looks like a sofa to me", "couch", 0.7),
        ('{"label": "television", "confidence": 1}', "tv", 1.0),
        ("Trash Can", "trash can", 0.7),
    ],
)
def test_parse_label_answer(answer, label, confidence):
    index, conf = parse_label_answer(answer, VOCAB)
    assert VOCAB[index] == label
    assert conf == pytest.approx(confidence)


def test_parse_label_answer_embedding_fallback_scales_confidence():
    index, conf = parse_label_answer("garbage", VOCAB)
    assert VOCAB[index] == "trash can" and 0.3 < conf < 0.7


@pytest.mark.parametrize("answer", ["", "   ", "%$#@!", "xqzv blorp", "{not json", '{"label": 5}', "\x00\x01\x02"])
def test_parse_label_answer_garbage_is_no_label(answer):
    assert parse_label_answer(answer, VOCAB) == (-1, 0.0)


class HashModel:
    """Cheap deterministic sentence "embeddings" (the property below is about parsing, not MiniLM)."""

    def encode(self, texts, **kwargs):
        out = np.stack([np.random.default_rng(zlib.crc32(t.encode())).normal(size=8) for t in texts]).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def get_sentence_embedding_dimension(self):
        return 8


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=60))
def test_parsers_never_raise_on_arbitrary_text(text):
    index, conf = parse_label_answer(text, VOCAB, TextEmbedder(HashModel(), name="hash"), floor=0.3)
    assert -1 <= index < len(VOCAB) and 0.0 <= conf <= 1.0
    assert (index == -1) == (conf == 0.0)
    score = parse_query_answer(text)
    assert score is None or 0.0 <= score <= 1.0


@pytest.mark.parametrize(
    "answer, score",
    [
        ('{"answer": "yes", "confidence": 0.8}', 0.8),
        ('{"answer": "no", "confidence": 0.8}', pytest.approx(0.2)),
        ('{"answer": "No", "confidence": 0.3}', 0.3),
        ('{"score": 0.65}', 0.65),
        ('{"match": true}', 0.9),
        ("Yes, it is a chair.", 0.9),
        ("no.", 0.1),
        ("0.35", 0.35),
        ("85%", 0.85),
        ("I'd say 7 out of 10", None),
        ("blorp", None),
        ("", None),
    ],
)
def test_parse_query_answer(answer, score):
    assert parse_query_answer(answer) == score


# --- a real OpenAI-compatible server on 127.0.0.1 ----------------------------------------------


class FakeServer:
    """Answers POST /v1/chat/completions from a script of behaviours, one per request:
    ("ok", text) | ("slow", seconds, text) | ("malformed",) | ("truncated",) | ("status", code)."""

    def __init__(self):
        self.script: list[tuple] = []
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                outer.headers.append(dict(self.headers))
                action = outer.script.pop(0) if outer.script else ("ok", "chair")
                try:
                    if action[0] == "status":
                        self.send_error(action[1])
                        return
                    if action[0] == "slow":
                        time.sleep(action[1])
                        action = ("ok", action[2])
                    payload = (
                        b'{"choices": [{"message": '
                        if action[0] in ("malformed", "truncated")
                        else json.dumps(
                            {"choices": [{"message": {"role": "assistant", "content": action[1]}}]}
                        ).encode()
                    )
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    # "truncated" promises more bytes than it sends, then closes the connection
                    self.send_header("Content-Length", str(len(payload) + 50 * (action[0] == "truncated")))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture()
def server():
    s = FakeServer()
    yield s
    s.close()


def client(server, **kw) -> OpenAIChat:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("retries", 2)
    kw.setdefault("backoff", 0.01)
    return OpenAIChat(OpenAIChatConfig(url=server.url, model="tiny-vlm", api_key="k123", **kw))


def test_http_request_format_and_wrong_case_synonym_answer(server):
    server.script = [("ok", "It is a SOFA.")]
    clf = LLMClassifier(client(server), SMALL)
    assert isinstance(clf, Classifier)
    probs = clf.classify(INST, make_views(), VOCAB)
    assert VOCAB[int(probs.argmax())] == "couch" and probs.max() == pytest.approx(0.7)
    (req,) = server.requests
    assert req["model"] == "tiny-vlm" and server.headers[0]["Authorization"] == "Bearer k123"
    parts = req["messages"][0]["content"]
    images = [p for p in parts if p["type"] == "image_url"]
    assert len(images) == 2  # n_views
    prefix = "data:image/png;base64,"
    assert images[0]["image_url"]["url"].startswith(prefix)
    assert base64.b64decode(images[0]["image_url"]["url"][len(prefix) :])[:4] == b"\x89PNG"
    assert "couch" in parts[-1]["text"] and parts[-1]["type"] == "text"


def test_http_malformed_and_truncated_bodies_are_retried(server):
    server.script = [("malformed",), ("truncated",), ("ok", '{"label": "lamp", "confidence": 0.6}')]
    chat = client(server)
    assert chat.chat("q", []) == '{"label": "lamp", "confidence": 0.6}'
    assert chat.requests == 3


def test_http_500_is_retried_then_succeeds(server):
    server.script = [("status", 500), ("status", 503), ("ok", "yes")]
    assert client(server).chat("q", []) == "yes"
    assert len(server.requests) == 3


def test_http_timeout_retry_then_success(server):
    server.script = [("slow", 0.6, "no"), ("ok", "yes")]
    assert client(server, timeout=0.2).chat("q", []) == "yes"


def test_http_exhausted_retries_raise_clear_error(server):
    server.script = [("status", 500)] * 3
    with pytest.raises(LLMError, match=r"no answer after 3 attempts; last error: HTTP 500"):
        client(server).chat("q", [])


def test_http_client_error_is_not_retried(server):
    server.script = [("status", 401)]
    with pytest.raises(LLMError, match="HTTP 401"):
        client(server).chat("q", [])
    assert len(server.requests) == 1


def test_classifier_turns_failures_into_no_information(server):
    server.script = [("status", 500)] * 6
    clf = LLMClassifier(client(server, retries=1), SMALL)
    np.testing.assert_allclose(clf.classify(INST, make_views(), VOCAB), np.full(6, 1 / 6))
    assert clf.score_query(INST, make_views(), "something to sit on") == NEUTRAL_SCORE
    assert clf.failures == 2


def test_query_through_http(server):
    server.script = [("ok", '{"answer": "yes", "confidence": 0.95}'), ("ok", "blorp")]
    clf = LLMClassifier(client(server), SMALL)
    assert clf.score_query(INST, make_views(), "something to sit on") == 0.95
    assert clf.score_query(INST, make_views(), "something to sit on") == NEUTRAL_SCORE
    assert clf.unparsed == 1
    assert "something to sit on" in server.requests[0]["messages"][0]["content"][-1]["text"]


def test_response_cache_second_run_sends_nothing(server, tmp_path):
    server.script = [("ok", "lamp")]
    first = LLMClassifier(CachedChat(client(server), tmp_path), SMALL)
    p1 = first.classify(INST, make_views(), VOCAB)
    assert len(server.requests) == 1
    second_chat = CachedChat(client(server), tmp_path)
    p2 = LLMClassifier(second_chat, SMALL).classify(INST, make_views(), VOCAB)
    np.testing.assert_array_equal(p1, p2)
    assert len(server.requests) == 1 and second_chat.hits == 1
    # Other images are another question.
    LLMClassifier(CachedChat(client(server), tmp_path), SMALL).classify(INST, make_views()[1:], VOCAB)
    assert len(server.requests) == 2
    assert not list(tmp_path.rglob("*.tmp"))


def test_no_views_asks_nothing(server):
    clf = LLMClassifier(client(server), SMALL)
    np.testing.assert_allclose(clf.classify(INST, [], VOCAB), np.full(6, 1 / 6))
    assert server.requests == []


def test_config_from_env_and_urls(monkeypatch):
    monkeypatch.setenv("TRACKLIFT_LLM_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TRACKLIFT_LLM_MODEL", "qwen")
    monkeypatch.setenv("TRACKLIFT_LLM_API_KEY", "secret")
    cfg = OpenAIChatConfig.from_env()
    assert (cfg.url, cfg.model, cfg.api_key) == ("http://127.0.0.1:9/v1", "qwen", "secret")
    assert make_classifier("llm").name == "llm:qwen"
    monkeypatch.delenv("TRACKLIFT_LLM_MODEL")
    with pytest.raises(ValueError, match="TRACKLIFT_LLM_MODEL"):
        OpenAIChatConfig.from_env()
    assert completions_url("http://h:8000") == "http://h:8000/v1/chat/completions"
    assert completions_url("http://h:8000/v1/") == "http://h:8000/v1/chat/completions"
    assert completions_url("http://h/x/chat/completions") == "http://h/x/chat/completions"
    with pytest.raises(ValueError, match="http"):
        OpenAIChat(OpenAIChatConfig(url="ftp://h", model="m"))


def test_encode_png_checks_input():
    assert encode_png(np.zeros((4, 4, 3), np.uint8))[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((4, 4), np.float32))


# --- tiny random local VLM (LLaVA built from configs, byte-level tokenizer written here) --------


@pytest.fixture(scope="module")
def llava_dir(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    specials = ["<unk>", "<s>", "</s>", "<image>", "<pad>"]
    vocab = {tok: i for i, tok in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials)
    ids = {s: tok.token_to_id(s) for s in specials}
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>"
    )
    template = (
        "{% for m in messages %}{{ m['role'] | upper }}: {% for c in m['content'] %}"
        "{% if c['type'] == 'image' %}<image>\n{% else %}{{ c['text'] }}{% endif %}{% endfor %}\n{% endfor %}"
        "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
    )
    image_processor = transformers.CLIPImageProcessor(size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28})
    processor = transformers.LlavaProcessor(
        image_processor=image_processor,
        tokenizer=fast,
        chat_template=template,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
    )
    config = transformers.LlavaConfig(
        vision_config=transformers.CLIPVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=28,
            patch_size=14,
        ),
        text_config=transformers.LlamaConfig(
            vocab_size=tok.get_vocab_size(),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=4096,
            bos_token_id=ids["<s>"],
            eos_token_id=ids["</s>"],
            pad_token_id=ids["<pad>"],
        ),
        image_token_index=ids["<image>"],
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny_llava")
    transformers.LlavaForConditionalGeneration(config).save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.mark.models
def test_local_vlm_random_text_gives_valid_low_confidence_result(llava_dir, tmp_path):
    from tracklift.classify.local_vlm import LocalVLMChat

    chat = LocalVLMChat(llava_dir, max_new_tokens=8)
    answer = chat.chat("What is it?", [np.zeros((40, 30, 3), np.uint8)] * 2)
    assert isinstance(answer, str)
    assert chat.chat("What is it?", [np.zeros((40, 30, 3), np.uint8)] * 2) == answer  # greedy: deterministic
    vocab = load_vocabulary("scannet200").names
    clf = LLMClassifier(CachedChat(chat, tmp_path), SMALL)
    probs = clf.classify(INST, make_views(), vocab)
    assert probs.shape == (len(vocab),) and probs.sum() == pytest.approx(1.0)
    assert probs.max() <= 0.7 + 1e-9  # random text never earns more than an unqualified answer
    assert 0.0 <= clf.score_query(INST, make_views(), "a lamp next to the bed") <= 1.0


@pytest.mark.models
def test_make_classifier_local_llm(llava_dir, tmp_path):
    clf = make_classifier(f"llm:{llava_dir}", cache_dir=tmp_path)
    assert clf.name == f"llm:local:{llava_dir}" and clf.needs_views


def test_prior_shortlist_and_mixing(server):
    from tracklift.classify.vote import VoteClassifier

    vote = VoteClassifier(smoothing=0.0)
    inst = Instance3D(id=1, points=np.zeros((2, 3)), label_votes={"sofa": 3.0, "chair": 1.0})
    server.script = [("ok", '{"label": "chair", "confidence": 0.5}'), ("ok", "blorp")]
    clf = LLMClassifier(client(server), LLMConfig(n_views=1, crop=CropConfig(size=16), shortlist=2), prior=vote)
    probs = clf.classify(inst, make_views(), VOCAB)
    # 0.5 * onehot(chair) + 0.5 * prior(couch 0.75, chair 0.25)
    np.testing.assert_allclose(probs, [0.625, 0.375, 0, 0, 0, 0])
    offered = server.requests[0]["messages"][0]["content"][-1]["text"]
    assert "couch, chair" in offered and "lamp" not in offered
    np.testing.assert_allclose(clf.classify(inst, make_views(), VOCAB), [0.25, 0.75, 0, 0, 0, 0])  # garbage: prior
    # Without votes the prior is flat: the whole vocabulary is offered.
    clf.classify(Instance3D(id=2, points=np.zeros((2, 3))), make_views(), VOCAB)
    assert "lamp" in server.requests[-1]["messages"][0]["content"][-1]["text"]
