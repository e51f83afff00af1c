"""Chat backends for multimodal LLMs: one prompt plus images in, text out; and a disk cache in front of any.

A backend is anything with `model_id: str` and `chat(prompt, images) -> str`; `OpenAIChat`
(`classify.openai_chat`) and `LocalVLMChat` (`classify.local_vlm`) are the two provided.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import cv2
import numpy as np

from tracklift.classify.cache import ResponseCache, content_hash


class LLMError(RuntimeError):
    """The model could not be reached or gave no usable response (after retries)."""


@runtime_checkable
class ChatBackend(Protocol):
    """images: RGB [H, W, 3] uint8 arrays, shown before the prompt text."""

    model_id: str

    def chat(self, prompt: str, images: Sequence[np.ndarray]) -> str: ...


def encode_png(image: np.ndarray) -> bytes:
    """[H, W, 3] uint8 RGB -> PNG bytes (lossless and deterministic, so cache keys are stable)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be [H, W, 3] uint8 RGB, got {image.shape} {image.dtype}")
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


class CachedChat:
    """Wraps a backend; answers are stored under `cache_dir`, keyed by model id + prompt + image bytes."""

    def __init__(self, backend: ChatBackend, cache_dir: str | Path) -> None:
        self.backend = backend
        self.model_id = backend.model_id
        self.cache = ResponseCache(cache_dir)
        self.hits = 0
        self.misses = 0

    def chat(self, prompt: str, images: Sequence[np.ndarray]) -> str:
        key = content_hash(self.model_id, prompt, *(encode_png(im) for im in images))
        cached = self.cache.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        response = self.backend.chat(prompt, images)
        self.cache.put(key, response)
        return response
