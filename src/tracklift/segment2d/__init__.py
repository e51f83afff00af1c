"""Frame → 2D masks: the Segmenter protocol, precomputed masks, the weight-free RGB-D segmenter and the
transformers backends, chosen by spec (`make_segmenter("rgbd")`)."""

from tracklift.core.lazy import lazy_exports

__all__ = ["PrecomputedSegmenter", "Segmenter", "make_segmenter"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "make_segmenter": "tracklift.segment2d.factory",
        "Segmenter": "tracklift.segment2d.protocol",
        "PrecomputedSegmenter": "tracklift.segment2d.precomputed",
    },
)
