"""Frames and streams: `open_scene(path)` detects the layout and reads frames lazily (`scene.stream`)."""

from tracklift.data.frame import BadFrameError, Frame
from tracklift.data.scene import Scene, open_scene

__all__ = ["BadFrameError", "Frame", "Scene", "open_scene"]
