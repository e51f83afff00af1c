"""Procedural indoor scenes with exact ground truth, ray-cast RGB-D rendering, and 2D mask corruption.

`generate_scene(out_dir, SynthConfig(...))` writes a ScanNet-layout scene; `corrupt.corrupt_frame`
turns its 2D ground truth into segmenter-like masks. Submodules load lazily (no cv2 on import).
"""

from tracklift.core.lazy import lazy_exports

__all__ = ["SynthConfig", "generate_scene"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SynthConfig": "tracklift.synth.config",
        "generate_scene": "tracklift.synth.generate",
    },
)
