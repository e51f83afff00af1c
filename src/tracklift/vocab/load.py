"""`load_vocabulary`: a packaged vocabulary by name, or a user's class file by path."""

from __future__ import annotations

import os

from tracklift.vocab.classfile import read_class_file
from tracklift.vocab.vocabulary import PACKAGED, PACKAGED_LOADERS, Vocabulary


class UnknownVocabularyError(KeyError, ValueError):
    """A vocabulary name that is neither packaged nor a class file. A ValueError too, so that the command
    line reports it as bad input in one line; str() is the message itself (KeyError's would quote it)."""

    def __str__(self) -> str:
        return str(self.args[0])


def load_vocabulary(name: str) -> Vocabulary:
    """A packaged vocabulary by name ('scannet200', 'scannet20' or 'replica'), or the class file at the path
    `name` (see `read_class_file`) when it names one (a path with a folder or a .json/.tsv/.txt suffix)."""
    if name in PACKAGED_LOADERS:
        return PACKAGED_LOADERS[name]()
    if os.sep in name or "/" in name or name.lower().endswith((".json", ".tsv", ".txt")):
        return read_class_file(name)
    raise UnknownVocabularyError(
        f"unknown vocabulary {name!r}; packaged: {', '.join(PACKAGED)}, or the path of a class file (.json/.tsv)"
    )
