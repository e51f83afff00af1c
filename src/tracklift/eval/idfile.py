"""Files of one integer per line: GT vertex ids and benchmark mask files.

`read_ids` takes a fast path for the common mask file (one digit per line) and otherwise parses
line by line; `read_ids_plain` is the plain reader both paths must agree with.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tracklift.io.textfile import read_text

_NEWLINE, _ZERO, _NINE = 10, 48, 57
INT64_MIN, INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


def read_ids_plain(path: str | os.PathLike) -> np.ndarray:
    """[N] int64, one per line of the file; ValueError naming the file and the first bad line."""
    path = Path(path)
    lines = read_text(path).splitlines()
    try:
        return np.array(lines, dtype=np.int64).reshape(-1)
    except (ValueError, OverflowError):
        pass
    for lineno, line in enumerate(lines, 1):
        try:
            value = int(line)
        except ValueError:
            raise ValueError(f"{path} line {lineno}: expected one integer, found {line!r}") from None
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"{path} line {lineno}: integer {line.strip()} is out of range")
    raise ValueError(f"{path}: integers out of range")  # int() and the range check accepted all lines


def read_ids(path: str | os.PathLike) -> np.ndarray:
    """[N] int64, one per line; the same result as read_ids_plain, faster for one-digit lines."""
    path = Path(path)
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data += b"\n"
    raw = np.frombuffer(data, np.uint8)
    if len(raw) % 2 == 0:
        digits, ends = raw[0::2], raw[1::2]
        if np.all(ends == _NEWLINE) and np.all((digits >= _ZERO) & (digits <= _NINE)):
            return (digits - _ZERO).astype(np.int64)
    return read_ids_plain(path)


def mask_to_bytes(mask: np.ndarray) -> bytes:
    """mask: [V] bool -> the benchmark mask file: one `0` or `1` line per vertex."""
    out = np.full(2 * len(mask), _NEWLINE, np.uint8)
    out[0::2] = _ZERO + np.asarray(mask, bool)
    return out.tobytes()
