"""Mask-pooled DINOv2 patch features through transformers (`AutoModel` -> `Dinov2Model`).

One forward per frame: the whole image (no centre crop, so every mask pixel is seen) is resized so
its shorter side is about `short_side` pixels and both sides are multiples of the patch size, then
normalised with the checkpoint's processor mean/std. Patch tokens (after the final layer norm,
without CLS and register tokens) are reshaped to the patch grid and pooled inside each mask with
area-weighted coverage (`features.pooling`), then L2-normalised.
"""

from __future__ import annotations

import cv2
import numpy as np

from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.features.pooling import patch_coverage, pool_normalised

MODEL_TYPES = ("dinov2", "dinov2_with_registers")


def patch_grid(height: int, width: int, short_side: int, patch: int) -> tuple[int, int]:
    """(gh, gw) patches for an image of height×width whose shorter side becomes ~short_side pixels."""
    scale = short_side / min(height, width)
    return max(1, round(height * scale / patch)), max(1, round(width * scale / patch))


class Dinov2Features:
    """`FeatureExtractor`: (frame, masks) -> [N, hidden_size] float32, rows L2-normalised."""

    def __init__(self, model: str, short_side: int = 448, device: str = "cpu", dtype: str = "float32"):
        """model: local folder or hub id; short_side: the image's shorter side as fed to the model, pixels;
        dtype: float32 | float16 | bfloat16."""
        from transformers import AutoImageProcessor, AutoModel

        from tracklift.core.models import load_pretrained, load_pretrained_model

        if not 14 <= short_side <= 4096:
            raise ValueError(f"DINOv2 short_side must be in 14..4096 pixels, got {short_side}")
        self.short_side, self.device = short_side, device
        name = model
        self.model = load_pretrained_model(AutoModel, name, "DINOv2", device, dtype)
        model_type = self.model.config.model_type
        if model_type not in MODEL_TYPES:
            raise ValueError(f"{name!r} is a {model_type!r} model, expected one of {MODEL_TYPES}")
        processor = load_pretrained(AutoImageProcessor, name, "DINOv2 image processor")
        self.mean = np.asarray(processor.image_mean, np.float32)
        self.std = np.asarray(processor.image_std, np.float32)
        self.patch = int(self.model.config.patch_size)
        self.skip = 1 + int(getattr(self.model.config, "num_register_tokens", 0))
        self.dim = int(self.model.config.hidden_size)

    def patch_tokens(self, color: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        """color: [H, W, 3] uint8 RGB -> tokens [gh·gw, C] float32 (row-major over the grid) and (gh, gw)."""
        import torch

        h, w = color.shape[:2]
        gh, gw = patch_grid(h, w, self.short_side, self.patch)
        size = (gw * self.patch, gh * self.patch)
        # Area resampling when shrinking avoids aliasing; cubic when enlarging, as the processor's bicubic.
        interpolation = cv2.INTER_AREA if size[0] < w else cv2.INTER_CUBIC
        image = cv2.resize(color, size, interpolation=interpolation).astype(np.float32) / 255.0
        image = (image - self.mean) / self.std
        pixels = torch.from_numpy(image.transpose(2, 0, 1)[None].copy())
        pixels = pixels.to(device=self.device, dtype=self.model.dtype)
        with torch.inference_mode():
            hidden = self.model(pixel_values=pixels).last_hidden_state
        tokens = hidden[0, self.skip :].float().cpu().numpy()
        if tokens.shape[0] != gh * gw:
            raise ValueError(f"model returned {tokens.shape[0]} patch tokens for a {gh}×{gw} grid")
        return tokens, (gh, gw)

    def __call__(self, frame: Frame, masks: FrameMasks) -> np.ndarray:
        if masks.shape != (frame.height, frame.width):
            raise ValueError(f"masks are {masks.shape}, frame {frame.name!r} is {(frame.height, frame.width)}")
        if len(masks) == 0:
            return np.zeros((0, self.dim), np.float32)
        tokens, grid = self.patch_tokens(frame.color)
        return pool_normalised(patch_coverage(masks.masks, grid), tokens)
