"""Build a classifier from a short spec string (CLI and config use this).

    vote                  label votes of the 2D segmenter, mapped with MiniLM (no weights needed)
    clip:<path-or-id>     CLIPModel through transformers
    siglip:<path-or-id>   SiglipModel through transformers
    llm:<http(s)://url>   OpenAI-compatible endpoint; model from TRACKLIFT_LLM_MODEL, key from TRACKLIFT_LLM_API_KEY
    llm:<path-or-id>      local multimodal LLM through transformers
    llm                   endpoint from TRACKLIFT_LLM_URL

With `cache_dir`, LLM answers and CLIP text embeddings are cached there. An LLM classifier gets the label
vote as its prior (it picks among the vote's shortlist when the instance has votes).
"""

from __future__ import annotations

import os
from pathlib import Path

from tracklift.classify.protocol import Classifier


def make_classifier(spec: str, cache_dir: str | Path | None = None) -> Classifier:
    kind, _, arg = spec.partition(":")
    if kind == "vote" and not arg:
        from tracklift.classify.vote import VoteClassifier

        return VoteClassifier()
    if kind in ("clip", "siglip"):
        if not arg:
            raise ValueError(f"classifier {spec!r}: give a model folder or id, e.g. {kind}:/models/{kind}")
        from tracklift.classify.clip import ClipClassifier, ClipConfig

        classifier = ClipClassifier(arg, ClipConfig(cache_dir=None if cache_dir is None else str(cache_dir)))
        if classifier.kind != kind:
            raise ValueError(f"classifier {spec!r}: {arg} holds a {classifier.kind} model")
        return classifier
    if kind == "llm":
        from tracklift.classify.chat import CachedChat
        from tracklift.classify.llm import LLMClassifier

        target = arg or os.environ.get("TRACKLIFT_LLM_URL", "")
        if target.startswith(("http://", "https://")) or not arg:
            from tracklift.classify.openai_chat import OpenAIChat, OpenAIChatConfig

            backend = OpenAIChat(OpenAIChatConfig.from_env(url=target or None))
        else:
            from tracklift.classify.local_vlm import LocalVLMChat

            backend = LocalVLMChat(target)
        from tracklift.classify.vote import VoteClassifier

        chat = CachedChat(backend, cache_dir) if cache_dir is not None else backend
        return LLMClassifier(chat, prior=VoteClassifier())
    raise ValueError(f"unknown classifier {spec!r}: expected vote, clip:<path>, siglip:<path> or llm[:<url-or-path>]")
