"""A multimodal LLM run locally through transformers (Qwen2-VL / Qwen2.5-VL, LLaVA, ... any model that
`AutoModelForImageTextToText` and `AutoProcessor` load and whose processor has a chat template).

Greedy decoding, so the same prompt and images give the same answer (and the response cache is exact).
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np


class LocalVLMChat:
    def __init__(self, path: str | os.PathLike, max_new_tokens: int = 64, device: str = "cpu") -> None:
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        from tracklift.core.models import load_pretrained, load_pretrained_model

        self.processor = load_pretrained(AutoProcessor, path, "local VLM processor")
        if getattr(self.processor, "chat_template", None) is None:
            raise ValueError(f"{path}: the processor has no chat template; cannot build prompts for it")
        self.model = load_pretrained_model(AutoModelForImageTextToText, path, "local VLM", device)
        self.model_id = f"local:{os.fspath(path)}"
        self.max_new_tokens = max_new_tokens
        self.device = device
        self._torch = torch

    def chat(self, prompt: str, images: Sequence[np.ndarray]) -> str:
        from PIL import Image

        content = [{"type": "image"} for _ in images] + [{"type": "text", "text": prompt}]
        text = self.processor.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
        )
        pil = [Image.fromarray(np.ascontiguousarray(im)) for im in images]
        inputs = self.processor(text=[text], images=pil or None, return_tensors="pt").to(self.device)
        with self._torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new_tokens = out[:, inputs["input_ids"].shape[1] :]
        return self.processor.batch_decode(new_tokens, skip_special_tokens=True)[0]
