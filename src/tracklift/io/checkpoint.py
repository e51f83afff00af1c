"""Checkpoints of a long run, so a crash or a Ctrl-C does not lose it (generic part; the pipeline's mapping
state and `splat lift`'s phases use it).

Every `every` steps (frames, views), at phase ends, and when SIGINT or SIGTERM arrives, a run's state is written
atomically to one file; a run with `resume` continues after the last checkpointed step and, fed the same
inputs, ends in the same state as a run that never stopped — so its outputs are the same bytes.

The file is a pickle of our own objects. It is read back through an allow-list (numpy arrays, plain containers
and the classes of the modules the caller names as holding state) so a checkpoint from elsewhere cannot run
code, and it names the settings it was made with: resuming with other settings is an error, not a silent mix.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import pickle
import signal
from pathlib import Path
from typing import Any

from tracklift.io.atomic import atomic_write_bytes
from tracklift.io.safe_pickle import ALLOWED_GLOBALS, ForbiddenGlobalError

VERSION = 1


def settings_key(settings: dict) -> str:
    """A short digest of the settings a run's result depends on (inputs, every option)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Checkpointer:
    """Writes a state to `path` every `every` steps, when asked (`save`), and on SIGINT/SIGTERM (then stops the
    run with KeyboardInterrupt / SystemExit(128 + signal) as the signal would have). Use as a context manager
    around the loop of steps: it installs the signal handlers inside and restores the previous ones after."""

    def __init__(self, path: str | os.PathLike, key: str, every: int = 100, unit: str = "frame") -> None:
        if every < 1:
            raise ValueError(f"checkpoint interval must be ≥ 1 {unit}, got {every}")
        self.path, self.key, self.every = Path(path), key, every
        self.signal: int | None = None
        self._since = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Checkpointer:
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[signum] = signal.signal(signum, self._on_signal)
            except ValueError:  # not the main thread: signals cannot be caught here, periodic saves still run
                pass
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _on_signal(self, signum: int, _frame) -> None:
        self.signal = signum  # saved and acted on between steps, never in the middle of one

    def after_frame(self, state: dict) -> None:
        """Called after each step with the state to save (see `save`); saves when due, and on a pending
        signal saves and stops."""
        self._since += 1
        if self._since >= self.every or self.signal is not None:
            self.save(state)
        if self.signal is not None:
            signum, self.signal = self.signal, None
            if signum == signal.SIGINT:
                raise KeyboardInterrupt(f"interrupted; checkpoint written to {self.path}")
            raise SystemExit(128 + signum)

    def save(self, state: dict) -> None:
        """state: a dict of picklable objects (e.g. {"next_frame": index to continue at, …}); written atomically."""
        self._since = 0
        document = {"version": VERSION, "key": self.key, **state}
        atomic_write_bytes(self.path, pickle.dumps(document, protocol=pickle.HIGHEST_PROTOCOL))


def checkpoint_path(folder: str | os.PathLike | None, name: str, resume: bool) -> Path | None:
    """`folder / name` for a CLI's `--checkpoint DIR` (the folder created), None without one; ValueError for
    `--resume` without `--checkpoint`, or a DIR that is a file."""
    if folder is None:
        if resume:
            raise ValueError("--resume needs --checkpoint DIR (where the checkpoint was written)")
        return None
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--checkpoint {folder}: not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def load_checkpoint(
    path: str | os.PathLike, key: str, modules: tuple[str, ...], differ: str = "inputs or options differ"
) -> dict | None:
    """The state saved at `path` (None when there is none); ValueError when it was made with other settings
    (`differ` says which) or cannot be read. modules: see `read_checkpoint`."""
    document = read_checkpoint(path, modules)
    if document is not None and document.get("key") != key:
        raise ValueError(f"{path}: made with other settings ({differ}); delete it or run without --resume")
    return document


def read_checkpoint(path: str | os.PathLike, modules: tuple[str, ...]) -> dict | None:
    """The document at `path`, whatever its settings (None when there is none). modules: names (or prefixes
    ending in ".") of the modules whose classes the state may hold, besides numpy arrays and containers."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        document = _StateUnpickler(io.BytesIO(path.read_bytes()), str(path), modules).load()
    except ForbiddenGlobalError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        ModuleNotFoundError,
    ) as err:
        raise ValueError(
            f"{path}: not a readable checkpoint ({type(err).__name__}: {err}); delete it to start over"
        ) from None
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise ValueError(f"{path}: not a tracklift checkpoint of version {VERSION}; delete it to start over")
    return document


class _StateUnpickler(pickle.Unpickler):
    def __init__(self, file, where: str, modules: tuple[str, ...]) -> None:
        super().__init__(file)
        self.where, self.modules = where, modules

    def find_class(self, module: str, name: str) -> Any:
        allowed = ALLOWED_GLOBALS.get((module, name))
        if allowed is not None:
            return allowed()
        if module.startswith(self.modules) or module in self.modules:
            found = getattr(importlib.import_module(module), name, None)
            if isinstance(found, type):
                return found
        raise ForbiddenGlobalError(f"{self.where}: refusing to load global {module}.{name} (not run state)")

    def persistent_load(self, pid: Any) -> Any:
        raise ForbiddenGlobalError(f"{self.where}: refusing persistent id {pid!r}")
