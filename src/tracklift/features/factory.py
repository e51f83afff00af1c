"""Feature extractors by spec string (the CLI's `--features`).

Grammar:
    handcrafted                     weight-free Lab colour + gradient texture descriptor
    dinov2:<folder-or-hub-id>       mask-pooled DINOv2 patch features (transformers)
"""

from __future__ import annotations

from tracklift.features.protocol import FeatureExtractor


def make_features(spec: str, device: str = "cpu", dtype: str = "float32") -> FeatureExtractor:
    """Build the extractor a spec names; device/dtype apply to learned backends."""
    kind, _, arg = spec.partition(":")
    if kind == "handcrafted" and not arg:
        from tracklift.features.handcrafted import HandcraftedFeatures

        return HandcraftedFeatures()
    if kind == "dinov2" and arg:
        from tracklift.features.dinov2 import Dinov2Features

        return Dinov2Features(arg, device=device, dtype=dtype)
    raise ValueError(f"unknown feature spec {spec!r}: expected 'handcrafted' or 'dinov2:<folder-or-hub-id>'")
