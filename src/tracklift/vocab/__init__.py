"""Class vocabularies: ids, names and evaluation splits (ScanNet200, ScanNet20, Replica, user files)."""

from tracklift.vocab.classfile import read_class_file
from tracklift.vocab.load import load_vocabulary
from tracklift.vocab.vocabulary import PACKAGED, Vocabulary

__all__ = ["PACKAGED", "Vocabulary", "load_vocabulary", "read_class_file"]
