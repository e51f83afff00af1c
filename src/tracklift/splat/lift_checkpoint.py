"""The resumable state of a `splat lift` run (`--checkpoint DIR [--checkpoint-every N] --resume`).

A lift runs in phases: mask correction, split/prune, refit, then the lifting itself. Correction, split/prune,
refit and contrastive lifting are whole-scene computations (several tracing passes or optimisation steps over
all views at once), so each is checkpointed when it ends, with its result. The closed-form lift's tracing pass
is per view, and is checkpointed every N views and on SIGINT/SIGTERM; what follows it (association and the
vote) is one fast whole-scene step. A resumed run skips the finished phases, continues the tracing pass at
its next view, and writes the same bytes as a run that never stopped (the machinery: `tracklift.io.checkpoint`).

Gaussians are kept as numpy arrays (the checkpoint reader accepts no torch objects); the classes a checkpoint
may hold are those of the tracing table, the masks and the traced-views record.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, ContextManager

import numpy as np
import torch

from tracklift.io.checkpoint import Checkpointer, load_checkpoint, settings_key
from tracklift.splat.render.gaussians import Gaussians
from tracklift.splat.trace3d.tracing import TracedViews

STATE_MODULES = ("tracklift.trace.table", "tracklift.core.masks", "tracklift.splat.trace3d.tracing")
TRACING = "tracing"  # the phase saved view by view


def gaussians_state(g: Gaussians) -> dict[str, np.ndarray]:
    """g's five tensors as numpy arrays (field name -> array), exact copies."""
    return {f.name: getattr(g, f.name).detach().numpy().copy() for f in fields(g)}


def gaussians_from_state(state: dict[str, np.ndarray]) -> Gaussians:
    """The Gaussians `gaussians_state` saved, bit for bit."""
    return Gaussians(**{f.name: torch.from_numpy(np.array(state[f.name])) for f in fields(Gaussians)})


def inputs_key(model_dir: Path, masks_dir: Path, options: dict) -> str:
    """The settings a lift's result depends on: its options, and the model's and masks' files (names, sizes,
    modification times; a retrained model or rewritten masks make an old checkpoint stale)."""
    model_files = [model_dir / name for name in ("point_cloud.ply", "cameras.json")]
    mask_files = sorted(p for p in masks_dir.iterdir() if p.is_file())
    return settings_key(
        {
            "model": str(model_dir.resolve()),
            "masks": str(masks_dir.resolve()),
            "files": [
                (str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns)
                for p in model_files + mask_files
                if p.is_file()
            ],
            **options,
        }
    )


class LiftCheckpoint:
    """The phases a lift has finished (name -> result) and its tracing pass so far; saved to `path` when a
    phase ends and every `every` traced views. With `path` None nothing is saved or resumed."""

    def __init__(self, path: str | os.PathLike | None, key: str = "", every: int = 10, resume: bool = False) -> None:
        self.checkpointer = None if path is None else Checkpointer(path, key, every, unit="view")
        document = load_checkpoint(path, key, STATE_MODULES) if path is not None and resume else None
        self.phases: dict[str, Any] = dict(document["phases"]) if document else {}

    def done(self, phase: str) -> Any | None:
        """The result a finished phase saved (None when it has not run)."""
        return self.phases.get(phase)

    def finish(self, phase: str, result: Any) -> None:
        """Record `phase` as finished with `result` (numpy arrays, containers, masks) and save."""
        self.phases[phase] = result
        if self.checkpointer is not None:
            self.checkpointer.save({"phases": self.phases})

    def traced(self) -> TracedViews | None:
        """The tracing pass as far as it got (None: start at the first view)."""
        return self.phases.get(TRACING)

    def after_view(self) -> Callable[[TracedViews], None] | None:
        """The callback of the tracing pass: saves every N views and on a signal (then stops the run)."""
        if self.checkpointer is None:
            return None
        return lambda traced: self.checkpointer.after_frame({"phases": {**self.phases, TRACING: traced}})

    def catching_signals(self) -> ContextManager:
        """Around the tracing pass: SIGINT/SIGTERM save the pass so far before the run stops."""
        return nullcontext() if self.checkpointer is None else self.checkpointer

    def remove(self) -> None:
        """The outputs are written: nothing is left to resume."""
        if self.checkpointer is not None:
            self.checkpointer.path.unlink(missing_ok=True)
