"""Feature extractors by spec string (the CLI's `--features`).

Grammar:
    handcrafted[:key=value,...]     weight-free Lab colour + gradient texture descriptor (`HandcraftedConfig`
                                    fields, e.g. handcrafted:max_pixels=0 describes every pixel)
    dinov2:<folder-or-hub-id>       mask-pooled DINOv2 patch features (transformers)
"""

from __future__ import annotations

from tracklift.features.protocol import FeatureExtractor


def make_features(spec: str, device: str = "cpu", dtype: str = "float32") -> FeatureExtractor:
    """Build the extractor a spec names; device/dtype apply to learned backends."""
    kind, _, arg = spec.partition(":")
    if kind == "handcrafted":
        from tracklift.core.config import config_from_spec
        from tracklift.features.handcrafted import HandcraftedConfig, HandcraftedFeatures

        return HandcraftedFeatures(config_from_spec(HandcraftedConfig, arg, "handcrafted features"))
    if kind == "dinov2" and arg:
        from tracklift.features.dinov2 import Dinov2Features

        return Dinov2Features(arg, device=device, dtype=dtype)
    raise ValueError(f"unknown feature spec {spec!r}: expected 'handcrafted' or 'dinov2:<folder-or-hub-id>'")
