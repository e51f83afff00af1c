"""The types every stage shares (a frame's 2D masks, a 3D instance) and the typed-config helpers."""

from tracklift.core.config import config, option
from tracklift.core.instance import Instance3D
from tracklift.core.masks import FrameMasks

__all__ = ["FrameMasks", "Instance3D", "config", "option"]
