"""Faults the tests inject: files the user may not read (tests run as root, so permissions are simulated
at the `open`/listing calls Python makes), symlink loops, deeply nested JSON, non-UTF-8 names."""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

# a JSON document nested deeper than Python's recursion limit
DEEP_JSON = "[" * 100_000 + "]" * 100_000
# a file or folder name that is not UTF-8 (byte 0xff, as os.fsdecode presents it)
NON_UTF8 = "sc\udcffene"


def deny(monkeypatch, *paths: Path) -> None:
    """Make opening or listing any of `paths` (or anything below them) raise PermissionError, as for a
    non-root user without read permission."""
    denied = [os.path.abspath(p) for p in paths]

    def check(target) -> None:
        if isinstance(target, int):
            return
        name = os.path.abspath(os.fsdecode(target))
        if any(name == d or name.startswith(d + os.sep) for d in denied):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)

    def guard(real):
        def wrapped(target=".", *args, **kwargs):
            check(target)
            return real(target, *args, **kwargs)

        return wrapped

    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", guard(real_open))
    monkeypatch.setattr(io, "open", guard(real_open))
    monkeypatch.setattr(os, "scandir", guard(os.scandir))
    monkeypatch.setattr(os, "listdir", guard(os.listdir))


def symlink_loop(path: Path) -> None:
    """Make `path` a symlink that points at itself through a second link."""
    other = path.with_name(path.name + ".loop")
    os.symlink(other.name, path)
    os.symlink(path.name, other)


def write_frame_masks(masks_dir: Path, names: list[str], shape: tuple[int, int] = (48, 64)) -> None:
    """Two labelled masks (chair, table) for each frame of `names`, PNG and NPZ files alternating, so a
    `--segmenter precomputed` run has something to segment."""
    import numpy as np

    from tracklift.core.masks import FrameMasks
    from tracklift.segment2d.precomputed import write_masks

    h, w = shape
    masks = np.zeros((2, h, w), bool)
    masks[0, h // 10 : h * 6 // 10, w // 12 : w // 2] = True
    masks[1, h * 6 // 10 : h * 9 // 10, w // 2 : w * 9 // 10] = True
    for k, name in enumerate(names):
        write_masks(
            masks_dir,
            name,
            FrameMasks(masks, ["chair", "table"], np.array([0.9, 0.8], np.float32)),
            format="png" if k % 2 == 0 else "npz",
        )
