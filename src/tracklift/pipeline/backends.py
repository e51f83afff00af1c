"""Backends by name: the CLI's `--segmenter` and `--features` specs resolved to objects, importing a backend
(and torch/transformers with it) only when it is chosen."""

from __future__ import annotations

from pathlib import Path

from tracklift.features.protocol import FeatureExtractor


def make_segmenter(name: str, masks_dir: str | Path | None = None, vocabulary: list[str] | None = None):
    """A Segmenter from a spec of `tracklift.segment2d.factory.make_segmenter` ('precomputed:<dir>',
    'rgbd[:options]', 'hf:...'); a bare 'precomputed' takes its folder from `masks_dir`. `vocabulary` (class
    names) prompts the open-vocabulary 'hf:' segmenters."""
    if name == "precomputed":
        if masks_dir is None:
            raise ValueError("segmenter 'precomputed' needs a masks folder (--masks DIR)")
        name = f"precomputed:{masks_dir}"
    from tracklift.segment2d import factory

    return factory.make_segmenter(name, vocabulary)


def make_features(name: str | None) -> FeatureExtractor | None:
    """'none' (no features: spatial association), or a spec of `tracklift.features.factory.make_features`:
    'handcrafted' (weight-free) or 'dinov2:<model>' (transformers)."""
    if name in (None, "", "none"):
        return None
    from tracklift.features import factory

    return factory.make_features(name)
