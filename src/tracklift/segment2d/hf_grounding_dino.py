"""Grounding DINO text-prompted box detection through transformers
(`GroundingDinoForObjectDetection` + `AutoProcessor`).

The vocabulary becomes prompts "chair. table. lamp." of at most the model's `max_text_len` tokens
(a long vocabulary such as ScanNet200 is split into several prompts, one forward each). The model
scores each query box against each prompt token; a class's score is the highest of its tokens'
probabilities (tokens found from the tokenizer's character offsets), the box takes its best class.
"""

from __future__ import annotations

import numpy as np

from tracklift.segment2d.boxes import Detections, center_to_corners


def prompt_chunks(vocabulary: list[str], token_counts: list[int], max_tokens: int) -> list[list[int]]:
    """Split class indices into consecutive groups whose prompt ("a. b. c.") fits `max_tokens` with [CLS]/[SEP].

    token_counts: tokens of each "name." (name plus its separating dot).
    """
    chunks: list[list[int]] = [[]]
    used = 2
    for index, count in enumerate(token_counts):
        if count + 2 > max_tokens:
            raise ValueError(
                f"class {vocabulary[index]!r} needs {count} tokens, the model reads at most {max_tokens - 2}"
            )
        if used + count > max_tokens:
            chunks.append([])
            used = 2
        chunks[-1].append(index)
        used += count
    return [c for c in chunks if c]


def class_token_map(prompt_spans: list[tuple[int, int]], offsets: np.ndarray) -> np.ndarray:
    """Class of each prompt token: [T] int64, -1 for special tokens and separators.

    prompt_spans: (start, end) character range of each class name in the prompt.
    offsets: [T, 2] character (start, end) of each token; (0, 0) for special tokens.
    """
    owner = np.full(len(offsets), -1, np.int64)
    for c, (start, end) in enumerate(prompt_spans):
        inside = (offsets[:, 0] >= start) & (offsets[:, 1] <= end) & (offsets[:, 1] > offsets[:, 0])
        owner[inside] = c
    return owner


class GroundingDinoDetector:
    """color [H, W, 3] uint8 RGB + vocabulary -> Detections above `threshold` (labels index the vocabulary)."""

    def __init__(self, model: str, device: str = "cpu", dtype: str = "float32"):
        from transformers import AutoProcessor, GroundingDinoForObjectDetection

        from tracklift.core.models import load_pretrained, load_pretrained_model

        self.model = load_pretrained_model(GroundingDinoForObjectDetection, model, "Grounding DINO", device, dtype)
        self.processor = load_pretrained(AutoProcessor, model, "Grounding DINO processor")
        self.device = device
        self.max_tokens = int(self.model.config.max_text_len)

    def __call__(self, color: np.ndarray, vocabulary: list[str], threshold: float) -> Detections:
        import torch

        h, w = color.shape[:2]
        tokenizer = self.processor.tokenizer
        image = self.processor.image_processor(images=color, return_tensors="pt").to(self.device)
        pixels = image.pixel_values.to(self.model.dtype)
        counts = [len(tokenizer(f"{name}.", add_special_tokens=False).input_ids) for name in vocabulary]
        parts = []
        for chunk in prompt_chunks(vocabulary, counts, self.max_tokens):
            spans, prompt = [], ""
            for index in chunk:
                spans.append((len(prompt), len(prompt) + len(vocabulary[index])))
                prompt += f"{vocabulary[index]}. "
            text = tokenizer(prompt.strip(), return_offsets_mapping=True, return_tensors="pt")
            owner = class_token_map(spans, text.pop("offset_mapping")[0].numpy())
            with torch.inference_mode():
                out = self.model(pixel_values=pixels, pixel_mask=image.pixel_mask, **text.to(self.device))
            probs = torch.sigmoid(out.logits[0, :, : len(owner)].float()).cpu().numpy()  # [queries, tokens]
            class_probs = np.stack([probs[:, owner == c].max(axis=1) for c in range(len(chunk))], axis=1)
            best = class_probs.argmax(axis=1)
            scores = class_probs[np.arange(len(best)), best]
            corners = np.clip(
                center_to_corners(out.pred_boxes[0].float().cpu().numpy()) * [w, h, w, h], 0, [w, h, w, h]
            )
            keep = scores > threshold
            labels = np.asarray(chunk, np.int64)[best[keep]]
            parts.append(Detections(corners[keep].astype(np.float32), scores[keep].astype(np.float32), labels))
        return Detections.concatenate(parts)
