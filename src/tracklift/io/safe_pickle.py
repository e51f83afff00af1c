"""Read downloaded pickles without running their code: plain containers and numpy arrays only.

`pickle.load` calls whatever global a file names (`os.system`, any class's constructor), so a pickle from
the internet is a program. `load_pickle` resolves globals through a short allow-list instead:

* containers and scalars: dict, list, tuple, set, frozenset, str, bytes, int, float, bool, None. The
  opcodes build them without globals, except in protocol ≤ 2: `__builtin__.set` / `frozenset`, and bytes
  as `__builtin__.bytes(_codecs.encode(text, 'latin1'))`, accepted in exactly that use;
* numpy arrays, dtypes and scalars: `ndarray`, `dtype`, `multiarray._reconstruct`, `multiarray.scalar`
  and `numeric._frombuffer` (protocol 5), under both `numpy.core` (numpy 1 writes it) and `numpy._core`
  (numpy 2) — resolved from whichever the installed numpy has, without importing the deprecated alias.

Anything else raises `ForbiddenGlobalError` naming the file and the global, before it is called.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any, Callable

import numpy as np


class ForbiddenGlobalError(pickle.UnpicklingError):
    """A pickle names a global outside the allow-list."""


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """`_codecs.encode` as protocol ≤ 2 pickles use it for bytes: str -> bytes via latin-1, nothing else."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode is allowed only as latin-1 bytes, got encoding {encoding!r}")
    return text.encode("latin1")


def _bytes(data: bytes = b"") -> bytes:
    """`bytes` as protocol ≤ 2 pickles call it (on `_codecs.encode`'s result), never `bytes(n)`."""
    if not isinstance(data, bytes):
        raise pickle.UnpicklingError(f"bytes() is allowed only on bytes, got {type(data).__name__}")
    return data


def _numpy_core(module: str) -> Any:
    """`numpy._core.<module>` (numpy 2) or `numpy.core.<module>` (numpy 1)."""
    import importlib

    try:
        return importlib.import_module(f"numpy._core.{module}")
    except ImportError:
        return importlib.import_module(f"numpy.core.{module}")


def _allowed() -> dict[tuple[str, str], Callable[[], Any]]:
    numpy_names = {
        ("multiarray", "_reconstruct"): lambda: _numpy_core("multiarray")._reconstruct,
        ("multiarray", "scalar"): lambda: _numpy_core("multiarray").scalar,
        ("numeric", "_frombuffer"): lambda: _numpy_core("numeric")._frombuffer,
    }
    table: dict[tuple[str, str], Callable[[], Any]] = {
        ("builtins", "set"): lambda: set,
        ("builtins", "frozenset"): lambda: frozenset,
        # protocol ≤ 2 names the module as Python 2 did (the default find_class maps it back; ours is exact)
        ("__builtin__", "set"): lambda: set,
        ("__builtin__", "frozenset"): lambda: frozenset,
        ("__builtin__", "bytes"): lambda: _bytes,
        ("_codecs", "encode"): lambda: _latin1_encode,
        ("numpy", "ndarray"): lambda: np.ndarray,
        ("numpy", "dtype"): lambda: np.dtype,
    }
    for prefix in ("numpy.core", "numpy._core"):
        for (module, name), get in numpy_names.items():
            table[(f"{prefix}.{module}", name)] = get
    return table


ALLOWED_GLOBALS = _allowed()


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, where: str) -> None:
        super().__init__(file)
        self.where = where

    def find_class(self, module: str, name: str) -> Any:
        get = ALLOWED_GLOBALS.get((module, name))
        if get is None:
            raise ForbiddenGlobalError(
                f"{self.where}: refusing to load global {module}.{name} (only plain containers and numpy arrays)"
            )
        return get()

    def persistent_load(self, pid: Any) -> Any:
        raise ForbiddenGlobalError(f"{self.where}: refusing persistent id {pid!r}")


def loads_pickle(data: bytes, where: str = "<bytes>") -> Any:
    """Unpickle `data` through the allow-list; `where` names the source in errors."""
    try:
        return _RestrictedUnpickler(io.BytesIO(data), where).load()
    except ForbiddenGlobalError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise pickle.UnpicklingError(f"{where}: not a readable pickle ({type(err).__name__}: {err})") from None


def load_pickle(path: str | os.PathLike) -> Any:
    """The object stored in the pickle file at `path` (plain containers and numpy arrays only).

    Raises FileNotFoundError, ForbiddenGlobalError (a global outside the allow-list, named with the file)
    or pickle.UnpicklingError (a damaged file, named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such pickle file")
    return loads_pickle(path.read_bytes(), str(path))
