"""Box-prompted masks with SAM through transformers (`SamModel` + `SamProcessor`).

The image is encoded once; boxes are decoded in batches of `box_batch` (one mask per box,
`multimask_output=False`), and the processor upsamples the low-resolution masks back to the frame.
"""

from __future__ import annotations

import numpy as np


class SamBoxPrompter:
    """color [H, W, 3] uint8 + boxes [M, 4] (x0, y0, x1, y1) pixels -> masks [M, H, W] bool and SAM's IoU estimates "
    "[M]."""

    def __init__(self, model: str, device: str = "cpu", dtype: str = "float32", box_batch: int = 16):
        from transformers import SamModel, SamProcessor

        from tracklift.core.models import load_pretrained, load_pretrained_model

        if box_batch < 1:
            raise ValueError(f"box_batch must be >= 1, got {box_batch}")
        self.model = load_pretrained_model(SamModel, model, "SAM", device, dtype)
        self.processor = load_pretrained(SamProcessor, model, "SAM processor")
        self.device, self.box_batch = device, box_batch

    def __call__(self, color: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        h, w = color.shape[:2]
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"boxes must be [M, 4], got {boxes.shape}")
        if len(boxes) == 0:
            return np.zeros((0, h, w), bool), np.zeros(0, np.float32)
        inputs = self.processor(images=color, input_boxes=[boxes.tolist()], return_tensors="pt")
        masks, ious = [], []
        with torch.inference_mode():
            embeddings = self.model.get_image_embeddings(inputs.pixel_values.to(self.device, self.model.dtype))
            for start in range(0, len(boxes), self.box_batch):
                prompt = inputs.input_boxes[:, start : start + self.box_batch].to(self.device, self.model.dtype)
                out = self.model(image_embeddings=embeddings, input_boxes=prompt, multimask_output=False)
                full = self.processor.post_process_masks(
                    out.pred_masks.float().cpu(), inputs.original_sizes, inputs.reshaped_input_sizes
                )[0]
                masks.append(full[:, 0].numpy().astype(bool))
                ious.append(out.iou_scores[0, :, 0].float().cpu().numpy())
        return np.concatenate(masks), np.concatenate(ious).astype(np.float32)
