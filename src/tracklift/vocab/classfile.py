"""User-supplied class files: JSON `{"<id>": "<name>"}` or TSV lines `id<TAB>name` (optional header)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tracklift.vocab.vocabulary import Vocabulary


def read_class_file(path: str | os.PathLike) -> Vocabulary:
    """A Vocabulary from a class file; every listed class is evaluated.

    A `.json` file holds one object mapping label ids (as strings) to names. Any other file is read as
    tab-separated `id<TAB>name` lines; a first line whose id is not an integer is taken as a header,
    blank lines and lines starting with `#` are skipped. Errors name the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"class file {path} does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"class file {path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    if path.suffix.lower() == ".json":
        pairs = _json_pairs(path, text)
    else:
        pairs = _tsv_pairs(path, text)
    if not pairs:
        raise ValueError(f"class file {path}: no classes found")
    seen: dict[int, int] = {}
    for lineno, (label_id, _) in enumerate(pairs, 1):
        if label_id in seen:
            raise ValueError(f"class file {path}: label id {label_id} is listed twice")
        seen[label_id] = lineno
    ids = tuple(i for i, _ in pairs)
    names = tuple(n for _, n in pairs)
    try:
        return Vocabulary(path.stem, ids, names)
    except ValueError as err:
        raise ValueError(f"class file {path}: {err}") from None


def _json_pairs(path: Path, text: str) -> list[tuple[int, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"class file {path}: invalid JSON at line {err.lineno}: {err.msg}") from None
    except RecursionError:
        raise ValueError(f"class file {path}: invalid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise ValueError(f'class file {path}: expected an object {{"<id>": "<name>"}}, found {type(data).__name__}')
    pairs = []
    for key, name in data.items():
        try:
            label_id = int(key)
        except ValueError:
            raise ValueError(f"class file {path}: key {key!r} is not an integer label id") from None
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"class file {path}: the name of id {key} must be a non-empty string, found {name!r}")
        pairs.append((label_id, name.strip()))
    return pairs


def _tsv_pairs(path: Path, text: str) -> list[tuple[int, str]]:
    pairs = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != 2 or not cells[1].strip():
            raise ValueError(f"class file {path} line {lineno}: expected 'id<TAB>name', found {line!r}")
        try:
            label_id = int(cells[0])
        except ValueError:
            if not pairs and lineno == 1:
                continue  # a header line
            raise ValueError(f"class file {path} line {lineno}: id {cells[0]!r} is not an integer") from None
        pairs.append((label_id, cells[1].strip()))
    return pairs
