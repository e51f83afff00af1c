"""CLIP / SigLIP zero-shot classifier through transformers (local folder or hub id).

Image side: every view is cropped at several context scales with the instance highlighted; the crop
embeddings are averaged, weighted by view quality, and renormalised. Text side: each class name is put
into a prompt ensemble, the prompt embeddings are averaged and renormalised; the resulting [C, D] table is
cached in memory and on disk, keyed by the model and a hash of the vocabulary and prompts.

Class probabilities are the softmax of the model's scaled cosine logits. Query scores: SigLIP's own
sigmoid probability; for CLIP (whose logits are only relative) the softmax share of the query against a
few neutral prompts ("an object", ...).
"""

from __future__ import annotations

import os
from dataclasses import field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tracklift.classify.cache import cached_array, content_hash
from tracklift.classify.crops import CropConfig, crop_views
from tracklift.classify.views import View
from tracklift.core.config import config, option
from tracklift.core.instance import Instance3D

PROMPTS = (
    "a photo of a {}.",
    "a photo of a {} in a room.",
    "a {} in a room.",
    "a cropped photo of a {}.",
    "a close-up photo of the {}.",
    "a photo of a {} outlined in red.",
)
NEUTRAL = ("an object.", "a photo of something.", "a photo of a room.")


@config
class ClipConfig:
    crop: CropConfig = field(default_factory=CropConfig)
    prompts: tuple[str, ...] = option(PROMPTS, "prompt templates, '{}' is the class name")
    batch_size: int = option(32, "crops or prompts per forward pass", low=1, high=4096)
    cache_dir: str | None = option(None, "on-disk text-embedding cache; None = memory only")
    device: str = option("cpu", "torch device")


class ClipClassifier:
    """A CLIPModel or SiglipModel with its processor, loaded from `path` (folder or hub id)."""

    needs_views = True

    def __init__(self, path: str | os.PathLike, config: ClipConfig = ClipConfig()) -> None:
        import torch
        from transformers import AutoModel, AutoProcessor

        from tracklift.core.models import load_pretrained, load_pretrained_model

        self.config = config
        self.model = load_pretrained_model(AutoModel, path, "CLIP/SigLIP", config.device)
        self.processor = load_pretrained(AutoProcessor, path, "CLIP/SigLIP processor")
        model_type = self.model.config.model_type
        if model_type not in ("clip", "siglip", "siglip2"):
            raise ValueError(f"{path}: expected a CLIP or SigLIP model, found model_type {model_type!r}")
        self.kind = "clip" if model_type == "clip" else "siglip"
        self.name = f"{self.kind}:{path}"
        self._model_key = _model_key(path, self.model.config.to_json_string())
        self._memory: dict[str, np.ndarray] = {}
        self._torch = torch

    def text_embeddings(self, names: Sequence[str]) -> np.ndarray:
        """[C] names -> [C, D] float32 prompt-ensemble embeddings, rows L2-normalised (cached)."""
        digest = content_hash(self._model_key, content_hash(*self.config.prompts), *names)[:32]
        key = f"{self.kind}_text_{digest}"
        if key not in self._memory:
            self._memory[key] = cached_array(self.config.cache_dir, key, lambda: self._ensemble(names))
        return self._memory[key]

    def image_embedding(self, views: Sequence[View]) -> np.ndarray | None:
        """[D] float32 L2-normalised quality-weighted mean of all crops of all views; None without views."""
        if not views:
            return None
        crops, weights = crop_views(list(views), self.config.crop)
        step = self.config.batch_size
        feats = np.concatenate([self._encode_images(crops[i : i + step]) for i in range(0, len(crops), step)])
        weights = weights if weights.sum() > 0 else np.ones_like(weights)
        return _normalise((weights[:, None] * feats).sum(0))

    def classify(self, instance: Instance3D, views: Sequence[View], vocabulary: Sequence[str]) -> np.ndarray:
        """[C] float64 softmax over the scaled cosine logits; uniform without views."""
        image = self.image_embedding(views)
        if image is None:
            return np.full(len(vocabulary), 1.0 / len(vocabulary))
        logits = self._logits(self.text_embeddings(vocabulary) @ image)
        return _softmax(logits)

    def score_query(self, instance: Instance3D, views: Sequence[View], query: str) -> float:
        image = self.image_embedding(views)
        if image is None:
            return 0.0
        if self.kind == "siglip":
            return float(1.0 / (1.0 + np.exp(-self._logits(self.text_embeddings([query]) @ image)[0])))
        table = np.concatenate([self.text_embeddings([query]), self._neutral()])
        return float(_softmax(self._logits(table @ image))[0])

    def _neutral(self) -> np.ndarray:
        key = f"neutral_{self._model_key}"
        if key not in self._memory:
            self._memory[key] = self._encode_texts(list(NEUTRAL))
        return self._memory[key]

    def _logits(self, cosine: np.ndarray) -> np.ndarray:
        scale = float(self.model.logit_scale.detach().exp())
        bias = float(self.model.logit_bias.detach()) if self.kind == "siglip" else 0.0
        return scale * np.asarray(cosine, np.float64) + bias

    def _ensemble(self, names: Sequence[str]) -> np.ndarray:
        prompts = [p.format(n) for n in names for p in self.config.prompts]
        step = self.config.batch_size
        feats = np.concatenate([self._encode_texts(prompts[i : i + step]) for i in range(0, len(prompts), step)])
        feats = feats.reshape(len(names), len(self.config.prompts), -1).mean(1)
        return _normalise(feats)

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        if self.kind == "siglip":
            # SigLIP was trained on max-length padded text; other padding changes its embeddings.
            length = self.model.config.text_config.max_position_embeddings
            inputs = self.processor(
                text=texts, padding="max_length", max_length=length, truncation=True, return_tensors="pt"
            )
        else:
            inputs = self.processor(text=texts, padding=True, truncation=True, return_tensors="pt")
        with self._torch.no_grad():
            out = self.model.get_text_features(**inputs.to(self.config.device))
        return _normalise(_features(out))

    def _encode_images(self, images: list[np.ndarray]) -> np.ndarray:
        inputs = self.processor(images=images, return_tensors="pt")
        with self._torch.no_grad():
            out = self.model.get_image_features(**inputs.to(self.config.device))
        return _normalise(_features(out))


def _features(out: Any) -> np.ndarray:
    # transformers 5 returns a model output whose pooler_output holds the projected features; 4.x a tensor.
    tensor = out if hasattr(out, "detach") else out.pooler_output
    return tensor.detach().float().cpu().numpy()


def _model_key(path: str | os.PathLike, config_json: str) -> str:
    """Identify the weights: the path, the config and, for a local folder, the weight files' sizes and times."""
    stats = []
    folder = Path(path)
    if folder.is_dir():
        for f in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
            st = f.stat()
            stats.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
    return content_hash(str(path), config_json, *stats)[:32]


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()
