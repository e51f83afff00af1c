"""Mask features for visual association: the FeatureExtractor protocol, the weight-free descriptor and DINOv2,
chosen by spec (`make_features("handcrafted")`)."""

from tracklift.core.lazy import lazy_exports

__all__ = ["FeatureExtractor", "make_features"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "make_features": "tracklift.features.factory",
        "FeatureExtractor": "tracklift.features.protocol",
    },
)
