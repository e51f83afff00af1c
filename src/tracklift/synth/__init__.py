"""Procedural indoor scenes with exact ground truth, ray-cast RGB-D rendering, and 2D mask corruption.

`generate_scene(out_dir, SynthConfig(...))` writes a ScanNet-layout scene; `corrupt.corrupt_frame`
turns its 2D ground truth into segmenter-like masks. Submodules load lazily (no cv2 on import).
"""

from __future__ import annotations

from typing import Any

__all__ = ["SynthConfig", "generate_scene"]


def __getattr__(name: str) -> Any:
    if name == "SynthConfig":
        from tracklift.synth.config import SynthConfig

        return SynthConfig
    if name == "generate_scene":
        from tracklift.synth.generate import generate_scene

        return generate_scene
    raise AttributeError(f"module 'tracklift.synth' has no attribute {name!r}")
