"""A class vocabulary: label ids <-> names, plus which ids an evaluation counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources


@dataclass(frozen=True)
class Vocabulary:
    """ids[i] is the label id of names[i]. `evaluated` lists the ids instance AP counts."""

    name: str
    ids: tuple[int, ...]
    names: tuple[str, ...]
    evaluated: tuple[int, ...] = ()
    splits: dict[str, frozenset[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.names):
            raise ValueError(f"vocabulary {self.name!r}: {len(self.ids)} ids but {len(self.names)} names")
        if len(set(self.ids)) != len(self.ids):
            raise ValueError(f"vocabulary {self.name!r}: duplicate label ids")
        if not self.evaluated:
            object.__setattr__(self, "evaluated", tuple(self.ids))

    def id_of(self, name: str) -> int:
        """Label id of a class name (case and surrounding spaces ignored); KeyError if unknown."""
        key = name.strip().lower()
        for i, n in zip(self.ids, self.names):
            if n == key:
                return i
        raise KeyError(f"{name!r} is not in vocabulary {self.name!r}")

    def name_of(self, label_id: int) -> str:
        try:
            return self.names[self.ids.index(int(label_id))]
        except ValueError:
            raise KeyError(f"label id {label_id} is not in vocabulary {self.name!r}") from None


def _read_packaged_tsv(filename: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    text = resources.files("tracklift.vocab").joinpath(filename).read_text()
    rows = [line.split("\t") for line in text.splitlines()[1:] if line.strip()]
    return tuple(int(r[0]) for r in rows), tuple(r[1].strip() for r in rows)


def load_vocabulary(name: str) -> Vocabulary:
    """A packaged vocabulary by name: 'scannet200'."""
    if name == "scannet200":
        ids, names = _read_packaged_tsv("scannet200.tsv")
        # wall and floor are not instances in the ScanNet200 benchmark
        evaluated = tuple(i for i, n in zip(ids, names) if n not in ("wall", "floor"))
        return Vocabulary("scannet200", ids, names, evaluated)
    raise KeyError(f"unknown vocabulary {name!r}")
