"""OWLv2 text-prompted box detection through transformers (`Owlv2ForObjectDetection` + `Owlv2Processor`).

Each vocabulary entry is one text query ("a photo of a chair"). OWLv2 scores every query against every
box independently, so queries are run in batches of `prompt_batch` and their logits concatenated: the
same as one forward with all queries, with bounded memory. The processor pads the image to a square at
the bottom/right, so normalised boxes scale by the longer side.
"""

from __future__ import annotations

import numpy as np

from tracklift.segment2d.boxes import Detections, center_to_corners


class Owlv2Detector:
    """color [H, W, 3] uint8 RGB + vocabulary -> Detections above `threshold` (labels index the vocabulary)."""

    def __init__(
        self,
        model: str,
        device: str = "cpu",
        dtype: str = "float32",
        template: str = "a photo of a {}",
        prompt_batch: int = 64,
    ):
        from transformers import Owlv2ForObjectDetection, Owlv2Processor

        from tracklift.core.models import load_pretrained, load_pretrained_model

        if prompt_batch < 1:
            raise ValueError(f"prompt_batch must be >= 1, got {prompt_batch}")
        self.model = load_pretrained_model(Owlv2ForObjectDetection, model, "OWLv2", device, dtype)
        self.processor = load_pretrained(Owlv2Processor, model, "OWLv2 processor")
        self.device, self.template, self.prompt_batch = device, template, prompt_batch

    def __call__(self, color: np.ndarray, vocabulary: list[str], threshold: float) -> Detections:
        import torch

        h, w = color.shape[:2]
        pixels = self.processor.image_processor(images=color, return_tensors="pt").pixel_values
        pixels = pixels.to(device=self.device, dtype=self.model.dtype)
        queries = [self.template.format(name) for name in vocabulary]
        logits, boxes = [], None
        with torch.inference_mode():
            for start in range(0, len(queries), self.prompt_batch):
                text = self.processor.tokenizer(
                    queries[start : start + self.prompt_batch],
                    padding="max_length",
                    truncation=True,
                    return_tensors="pt",
                ).to(self.device)
                out = self.model(input_ids=text.input_ids, attention_mask=text.attention_mask, pixel_values=pixels)
                logits.append(out.logits[0].float())  # [boxes, queries in batch]
                boxes = out.pred_boxes[0].float()  # depends on the image only
        probs = torch.sigmoid(torch.cat(logits, dim=-1)).cpu().numpy()
        labels = probs.argmax(axis=1)
        scores = probs[np.arange(len(labels)), labels]
        corners = center_to_corners(boxes.cpu().numpy()) * max(h, w)
        corners = np.clip(corners, 0, [w, h, w, h])
        keep = scores > threshold
        return Detections(
            corners[keep].astype(np.float32), scores[keep].astype(np.float32), labels[keep].astype(np.int64)
        )
