"""A class vocabulary: label ids <-> names, plus which ids an evaluation counts and its class splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

PACKAGED = ("scannet200", "scannet20", "replica")


def normalize_name(name: str) -> str:
    """The form names are compared in: case and surrounding spaces ignored."""
    return name.strip().lower()


@dataclass(frozen=True)
class Vocabulary:
    """ids[i] is the label id of names[i].

    evaluated: the ids instance AP counts (all ids when empty), in the order results are reported.
    splits:    named subsets of the evaluated ids (ScanNet200: head / common / tail).
    """

    name: str
    ids: tuple[int, ...]
    names: tuple[str, ...]
    evaluated: tuple[int, ...] = ()
    splits: dict[str, frozenset[int]] = field(default_factory=dict)
    _by_name: dict[str, int] = field(init=False, repr=False, compare=False)
    _by_id: dict[int, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"vocabulary {self.name!r}"
        if len(self.ids) != len(self.names):
            raise ValueError(f"{where}: {len(self.ids)} ids but {len(self.names)} names")
        by_id = {int(i): n for i, n in zip(self.ids, self.names)}
        if len(by_id) != len(self.ids):
            raise ValueError(f"{where}: duplicate label ids")
        by_name = {normalize_name(n): int(i) for i, n in zip(self.ids, self.names)}
        if len(by_name) != len(self.names):
            raise ValueError(f"{where}: duplicate class names (compared without case)")
        if not self.evaluated:
            object.__setattr__(self, "evaluated", tuple(self.ids))
        unknown = set(self.evaluated) - set(by_id)
        if unknown:
            raise ValueError(f"{where}: evaluated ids {sorted(unknown)} are not in the vocabulary")
        for split, members in self.splits.items():
            stray = set(members) - set(self.evaluated)
            if stray:
                raise ValueError(f"{where}: split {split!r} has ids {sorted(stray)} that are not evaluated")
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_by_id", by_id)

    def id_of(self, name: str) -> int:
        """Label id of a class name (case and surrounding spaces ignored); KeyError if unknown."""
        try:
            return self._by_name[normalize_name(name)]
        except KeyError:
            raise KeyError(f"{name!r} is not in vocabulary {self.name!r}") from None

    def name_of(self, label_id: int) -> str:
        try:
            return self._by_id[int(label_id)]
        except KeyError:
            raise KeyError(f"label id {label_id} is not in vocabulary {self.name!r}") from None

    def __contains__(self, label_id: object) -> bool:
        try:
            return int(label_id) in self._by_id  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return False


def _packaged_rows(filename: str) -> list[list[str]]:
    """Rows of a packaged tab-separated file, header skipped."""
    text = resources.files("tracklift.vocab").joinpath(filename).read_text()
    return [[c.strip() for c in line.split("\t")] for line in text.splitlines()[1:] if line.strip()]


def _packaged_ids_names(filename: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    rows = _packaged_rows(filename)
    return tuple(int(r[0]) for r in rows), tuple(r[1] for r in rows)


def _scannet200() -> Vocabulary:
    ids, names = _packaged_ids_names("scannet200.tsv")
    # wall and floor are not instances in the ScanNet200 benchmark: 198 classes are evaluated
    evaluated = tuple(i for i, n in zip(ids, names) if n not in ("wall", "floor"))
    id_of = dict(zip(names, ids))
    splits: dict[str, set[int]] = {"head": set(), "common": set(), "tail": set()}
    for name, split in _packaged_rows("scannet200_splits.tsv"):
        if id_of[name] in evaluated:
            splits[split].add(id_of[name])
    return Vocabulary("scannet200", ids, names, evaluated, {k: frozenset(v) for k, v in splits.items()})


def _scannet20() -> Vocabulary:
    ids, names = _packaged_ids_names("scannet20.tsv")
    # the ScanNet instance benchmark counts the 18 object classes, not wall and floor
    evaluated = tuple(i for i, n in zip(ids, names) if n not in ("wall", "floor"))
    return Vocabulary("scannet20", ids, names, evaluated)


def _replica() -> Vocabulary:
    # the 48 classes OpenMask3D / Open-YOLO 3D evaluate (undefined, floor, ceiling and wall left out)
    ids, names = _packaged_ids_names("replica.tsv")
    return Vocabulary("replica", ids, names)


# name -> builder of each packaged vocabulary (`tracklift.vocab.load.load_vocabulary` picks from them)
PACKAGED_LOADERS = {"scannet200": _scannet200, "scannet20": _scannet20, "replica": _replica}
