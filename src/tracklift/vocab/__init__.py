"""Class vocabularies: ids, names and evaluation splits (ScanNet200, ScanNet20, Replica, user files)."""

from tracklift.vocab.vocabulary import Vocabulary, load_vocabulary

__all__ = ["Vocabulary", "load_vocabulary"]
