"""Read text and JSON files from outside the program (sidecars, settings, annotations, id lists) with one
clear error naming the file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def read_text(path: str | os.PathLike) -> str:
    """The UTF-8 text of the file at `path`; ValueError naming the file when it is not UTF-8. OSError
    (missing, unreadable) passes through: it names the file already."""
    path = Path(path)
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def read_json(path: str | os.PathLike) -> Any:
    """The parsed JSON document at `path`.

    ValueError naming the file when it is not UTF-8 JSON or nests deeper than Python can parse (a
    document of thousands of nested brackets raises RecursionError inside `json`). OSError (missing,
    unreadable) passes through: it names the file already.
    """
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON ({err})") from None
    except RecursionError:
        raise ValueError(f"{path}: invalid JSON (nested too deeply)") from None


def check_text(value: str, path: str | os.PathLike, what: str) -> str:
    """`value` when it can be written as UTF-8; ValueError naming the file otherwise (JSON's "\\ud800"
    escapes decode to lone surrogates, which every later write of the text would fail on)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"{path}: {what} {value.encode('utf-8', 'backslashreplace').decode()!r} is not valid "
            "Unicode (a lone surrogate)"
        ) from None
    return value
