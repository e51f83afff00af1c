"""Synthetic scenes and their corrupted masks, generated once and cached (generation is not timed)."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.suite import Suite

_DONE = ".complete"


def _build(target: Path, make) -> Path:
    """Run `make(tmp_dir)` and move the result into place, so a crash never leaves a half-built cache."""
    if (target / _DONE).exists():
        return target
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    tmp.mkdir(parents=True)
    make(tmp)
    (tmp / _DONE).touch()
    tmp.rename(target)
    return target
