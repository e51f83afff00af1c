"""Synthetic scenes and their corrupted masks, generated once and cached (generation is not timed)."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path
from typing import Callable

from benchmarks.suite import Suite

_DONE = ".complete"


def build_cached(target: Path, make: Callable[[Path], None]) -> Path:
    """Run `make(folder)` in a scratch folder of the same name and move it into place when it succeeds,
    so a crash never leaves a half-built cache entry (the synthetic scene takes its name from its folder)."""
    if (target / _DONE).exists():
        return target
    scratch = target.parent / ".partial" / target.name
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    scratch.parent.mkdir(parents=True, exist_ok=True)
    make(scratch)
    (scratch / _DONE).touch()
    scratch.rename(target)
    return target


def ensure_scene(cache: Path, seed: int, suite: Suite) -> Path:
    """The synthetic scene of `seed` at the suite's size and realism (exact | scan), generated on first use."""
    from tracklift.synth import SynthConfig, generate_scene

    config = SynthConfig(
        seed=seed,
        frames=suite.frames,
        width=suite.width,
        height=suite.height,
        objects=suite.objects,
        realism=suite.realism,
    )
    name = f"synth_s{seed}_f{suite.frames}_{suite.width}x{suite.height}_o{suite.objects}"
    if suite.realism != "exact":  # exact keeps its old cache name, so existing caches stay valid
        name += f"_{suite.realism}"
    return build_cached(cache / "scenes" / name, lambda folder: generate_scene(folder, config, progress=False))


def ensure_masks(cache: Path, scene: Path, preset: str, seed: int) -> Path:
    """The scene's 2D masks through corruption `preset` (`tracklift synth-masks`), generated on first use."""
    from tracklift.cli import main

    def make(folder: Path) -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # its summary line would break the progress display
            code = main(
                ["synth-masks", str(scene), "--out", str(folder), "--preset", preset, "--seed", str(seed), "--quiet"]
            )
        if code != 0:
            raise RuntimeError(f"tracklift synth-masks failed on {scene} ({preset})")

    return build_cached(cache / "masks" / f"{scene.name}_{preset}_m{seed}", make)
