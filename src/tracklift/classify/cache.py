"""On-disk caches keyed by content hashes: a rerun with the same inputs costs nothing.

Files are written atomically (temp file + rename), so a crash never leaves a torn entry and two runs
sharing a cache folder at worst compute the same entry twice.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Callable

import numpy as np

from tracklift.io.atomic import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)


def content_hash(*parts: str | bytes) -> str:
    """sha256 hex of the parts, each length-prefixed so ("ab", "c") and ("a", "bc") differ."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else bytes(part)
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def cached_array(cache_dir: str | Path | None, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """`compute()` once per key: [*] array stored as `<cache_dir>/<key>.npy`; no caching if cache_dir is None."""
    if cache_dir is None:
        return compute()
    path = Path(cache_dir) / f"{key}.npy"
    if path.exists():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:  # a foreign or damaged file: recompute and overwrite
            log.warning("ignoring unreadable cache file %s: %s", path, err)
    value = np.asarray(compute())
    buf = io.BytesIO()
    np.save(buf, value, allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())
    return value


class ResponseCache:
    """Text responses of a model, one JSON file per content hash under `root`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        path = self._path(key)
        try:
            return json.loads(path.read_text())["response"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning("ignoring unreadable cache file %s: %s", path, err)
            return None

    def put(self, key: str, response: str) -> None:
        atomic_write_text(self._path(key), json.dumps({"response": response}))
