"""Checkpoints of a long `segment` run: the Mapper's whole state (voxel maps, tracks, the tracing table,
counters) and whatever else the run keeps per frame (the growth recorder), saved every `every` mapped frames,
after the last frame and on SIGINT/SIGTERM to `<dir>/<scene>.ckpt` (the machinery: `tracklift.io.checkpoint`).
Read back, only the classes of the modules that hold mapping state are allowed.
"""

from __future__ import annotations

import os

from tracklift.io import checkpoint as _generic
from tracklift.io.checkpoint import Checkpointer, settings_key

__all__ = ["STATE_MODULES", "Checkpointer", "load_checkpoint", "read_checkpoint", "settings_key"]

# Modules whose classes a checkpoint may hold: the mapper, the tracker's state and what it is built from.
STATE_MODULES = (
    "tracklift.pipeline.mapper",
    "tracklift.track.",
    "tracklift.trace.",
    "tracklift.lift.",
    "tracklift.core.",
    "tracklift.superpoints.snap",
    "tracklift.outputs.history",
)


def load_checkpoint(path: str | os.PathLike, key: str) -> dict | None:
    """The mapping state saved at `path` (None when there is none); ValueError when it was made with other
    settings or cannot be read."""
    return _generic.load_checkpoint(path, key, STATE_MODULES, "scene, masks or options differ")


def read_checkpoint(path: str | os.PathLike) -> dict | None:
    """The document at `path`, whatever its settings (None when there is none)."""
    return _generic.read_checkpoint(path, STATE_MODULES)
