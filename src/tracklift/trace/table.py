"""The tracing table: a sparse primitive × view → label table with weights (design.md, "tracing").

A primitive is anything that lives in 3D and is seen by several views: a voxel of a map (key from
lift/voxels.py) or a Gaussian (its index). Each view appends, for the primitives it sees, which 2D label
they fell into and with which weight (pixel count, alpha·transmittance, ...). The tracker records voxel ×
frame → segment; consistency refinement and Trace3D's split/prune read the same table.

Storage is columnar (four growing arrays, amortised doubling), so appends cost O(entries) and every query
is one vectorised pass over the table.

Folding bounds a long stream's table (`fold`). When every later reader will aggregate with a label map that
factors through one map f (the tracker's readers all map a segment through the track it belongs to, and
tracks only merge), the entries can be replaced by one row per (primitive, f(label)) carrying the summed
weight and the number of distinct views that gave that primitive that label. A folded row has view
FOLDED (-1) and its own view count (a fifth column, created by the first fold; raw entries count one view).
What `aggregate` returns afterwards, for any label map that factors through f:
* weights are exact (each folded row holds an exact float64 sum stored as float32: exact for pixel counts
  below 2**24, otherwise within float32 rounding);
* view counts are exact as long as the later map does not send two folded labels to one label. When it does
  (two tracks folded apart merge later), a view that gave the primitive both labels is counted twice, so the
  count is an upper bound: at most the sum of the two tracks' counts.
Per-view queries (`ambiguous_view_fraction`) need the raw entries and refuse a folded table; Trace3D never
folds its tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix


@dataclass
class LabelPairs:
    """The table aggregated over views: one row per (primitive, label) pair, sorted by primitive then label.

    primitive: [P] int64; label: [P] int64; weight: [P] float32, summed weights; views: [P] int32, number of
    distinct views that gave this primitive this label.
    """

    primitive: np.ndarray
    label: np.ndarray
    weight: np.ndarray
    views: np.ndarray

    def __len__(self) -> int:
        return len(self.primitive)


# The view id of a folded row (it stands for several views; its view count is in `TraceTable.views`).
FOLDED = -1


def _sum_pairs(
    prim: np.ndarray, view: np.ndarray, label: np.ndarray, weight: np.ndarray, counts: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per (primitive, label) pair: summed weight [P] float64 and view count [P] float64, sorted by primitive
    then label. A raw entry counts its view once per pair; a folded row (view FOLDED) adds its count."""
    order = np.lexsort((view, label, prim))
    p, lab, v, w = prim[order], label[order], view[order], weight[order]
    pair_start = np.ones(len(p), bool)
    pair_start[1:] = (p[1:] != p[:-1]) | (lab[1:] != lab[:-1])
    view_start = pair_start.copy()
    view_start[1:] |= v[1:] != v[:-1]
    if counts is not None:
        view_start = np.where(v == FOLDED, counts[order], view_start)
    pair_id = np.cumsum(pair_start) - 1
    starts = np.flatnonzero(pair_start)
    return p[starts], lab[starts], np.bincount(pair_id, weights=w), np.bincount(pair_id, weights=view_start)


class TraceTable:
    """Sparse primitive × view → label (weight) table, filled one view at a time; `fold` bounds it."""

    # The largest view in folded rows: a view's entries must not straddle a fold (its count would split). A
    # class default, so tables pickled before folding existed (splat lift checkpoints) read as never folded.
    _folded_through = -1

    def __init__(self, capacity: int = 4096) -> None:
        self._n = 0
        self._cols = {
            "primitive": np.empty(capacity, np.int64),
            "view": np.empty(capacity, np.int32),
            "label": np.empty(capacity, np.int32),
            "weight": np.empty(capacity, np.float32),
        }

    def __len__(self) -> int:
        return self._n

    @property
    def primitive(self) -> np.ndarray:
        """[E] int64 primitive id of each entry (a view of the storage; do not modify)."""
        return self._cols["primitive"][: self._n]

    @property
    def view(self) -> np.ndarray:
        """[E] int32 view id of each entry (FOLDED for a folded row)."""
        return self._cols["view"][: self._n]

    @property
    def label(self) -> np.ndarray:
        """[E] int32 label id of each entry (int32 keeps the table at 20 bytes per entry, 24 once folded)."""
        return self._cols["label"][: self._n]

    @property
    def weight(self) -> np.ndarray:
        """[E] float32 weight of each entry."""
        return self._cols["weight"][: self._n]

    @property
    def folded(self) -> bool:
        """Whether the table was folded (it then has rows standing for several views)."""
        return "views" in self._cols

    @property
    def views(self) -> np.ndarray:
        """[E] int32 number of views each entry stands for: 1 for a raw entry, the count of a folded row."""
        if not self.folded:
            return np.ones(self._n, np.int32)
        return self._cols["views"][: self._n]

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self._cols.values())

    def append(self, view: int, primitives: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Record that in `view`, primitives[i] fell into labels[i] with weights[i] (default 1).

        view: ≥ 0; primitives: [N] int64; labels: [N] int (or a scalar for all), in [0, 2**31); weights: [N]
        float32 (or None).
        """
        if view < 0:
            raise ValueError(f"view must be ≥ 0, got {view}")
        if view <= self._folded_through:
            raise ValueError(
                f"views appended after a fold must be new: view {view}, folded up to {self._folded_through}"
            )
        primitives = np.asarray(primitives, np.int64).ravel()
        n = len(primitives)
        labels = np.broadcast_to(np.asarray(labels, np.int64), (n,)) if np.ndim(labels) == 0 else np.asarray(labels)
        if labels.shape != (n,):
            raise ValueError(f"labels must be [{n}] like primitives, got {labels.shape}")
        if n and (labels.min() < 0 or labels.max() >= 2**31):
            raise ValueError(f"labels must lie in [0, 2**31), got [{labels.min()}, {labels.max()}]")
        if weights is None:
            weights = np.ones(n, np.float32)
        weights = np.asarray(weights, np.float32)
        if weights.shape != (n,):
            raise ValueError(f"weights must be [{n}] like primitives, got {weights.shape}")
        end = self._n + n
        capacity = len(self._cols["primitive"])
        if end > capacity:
            new_capacity = max(end, 2 * capacity)
            for name, col in self._cols.items():
                grown = np.empty(new_capacity, col.dtype)
                grown[: self._n] = col[: self._n]
                self._cols[name] = grown
        self._cols["primitive"][self._n : end] = primitives
        self._cols["view"][self._n : end] = view
        self._cols["label"][self._n : end] = labels
        self._cols["weight"][self._n : end] = weights
        if self.folded:
            self._cols["views"][self._n : end] = 1
        self._n = end

    def aggregate(self, label_map: np.ndarray | None = None) -> LabelPairs:
        """Sum over views per (primitive, label) pair.

        label_map: optional [L] int64 mapping each label id to a new one (e.g. segment -> track); entries
        mapped to a negative id are dropped. Several labels of one view mapped to the same new label count
        as one view. On a folded table the map must factor through the fold's map (module docstring).
        """
        prim, view, label, weight = self.primitive, self.view, self.label.astype(np.int64), self.weight
        counts = self.views if self.folded else None
        if label_map is not None:
            label = self._mapped(label_map, label)
            keep = label >= 0
            prim, view, label, weight = prim[keep], view[keep], label[keep], weight[keep]
            counts = counts[keep] if counts is not None else None
        if len(prim) == 0:
            z = np.zeros(0, np.int64)
            return LabelPairs(z, z, np.zeros(0, np.float32), np.zeros(0, np.int32))
        p, lab, weights, views = _sum_pairs(prim, view, label, weight, counts)
        return LabelPairs(p, lab, weights.astype(np.float32), views.astype(np.int32))

    def fold(self, label_map: np.ndarray) -> None:
        """Replace every entry by one row per (primitive, label_map[label]): view FOLDED, the summed weight and
        the number of distinct views behind it (folded rows add their own counts). Later appends stay raw and
        must come from new views (larger ids than any folded one); a later fold folds everything again. Only
        for tables whose every later `aggregate` map factors through `label_map` (what stays exact: module
        docstring).

        label_map: [L] int64, every label the table uses mapped to a label ≥ 0 (e.g. each segment to a
        representative segment of its track). The storage keeps its capacity (no reallocation).
        """
        label = self._mapped(label_map, self.label.astype(np.int64))
        if len(label) and label.min() < 0:
            raise ValueError(
                f"label_map sends label {int(self.label[np.argmin(label)])} to {label.min()}; fold keeps every entry"
            )
        if len(label) and label.max() >= 2**31:
            raise ValueError(f"label_map values must lie below 2**31, got {label.max()}")
        counts = self.views if self.folded else None
        p, lab, weights, views = _sum_pairs(self.primitive, self.view, label, self.weight, counts)
        self._folded_through = max(self._folded_through, int(self.view.max(initial=-1)))
        if not self.folded:
            self._cols["views"] = np.empty(len(self._cols["primitive"]), np.int32)
        n = len(p)
        self._cols["primitive"][:n] = p
        self._cols["view"][:n] = FOLDED
        self._cols["label"][:n] = lab
        self._cols["weight"][:n] = weights
        self._cols["views"][:n] = views
        self._n = n

    @staticmethod
    def _mapped(label_map: np.ndarray, label: np.ndarray) -> np.ndarray:
        label_map = np.asarray(label_map, np.int64)
        if len(label) and label.max() >= len(label_map):
            raise ValueError(f"label_map has {len(label_map)} entries, table uses label {label.max()}")
        return label_map[label]


def top_labels(pairs: LabelPairs, by: str = "weight") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per primitive: its best label and that label's share of the primitive's total.

    by: "weight" (summed weights) or "views" (view counts, ties broken by weight). Remaining ties go to the
    smaller label id.
    Returns primitives [Q] int64 (sorted), label [Q] int64, share [Q] float32 in (0, 1].
    """
    if by not in ("weight", "views"):
        raise ValueError(f"by must be 'weight' or 'views', got {by!r}")
    mass = (pairs.weight if by == "weight" else pairs.views).astype(np.float64)
    prim = pairs.primitive
    if len(prim) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    first = np.ones(len(prim), bool)
    first[1:] = prim[1:] != prim[:-1]
    group = np.cumsum(first) - 1
    total = np.bincount(group, weights=mass)
    tiebreak = -pairs.weight.astype(np.float64) if by == "views" else np.zeros(len(prim))
    order = np.lexsort((pairs.label, tiebreak, -mass, group))
    best = order[np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1]])]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, mass[best] / total, 0.0)
    return prim[best], pairs.label[best], share.astype(np.float32)


def cooccurrence(pairs: LabelPairs, n_labels: int, min_views: int = 1) -> csr_matrix:
    """[n_labels, n_labels] sparse int64: C[a, b] = number of primitives carrying both labels a and b.

    A primitive carries a label when at least `min_views` views gave it that label. The diagonal C[a, a]
    is the number of primitives carrying a, so C[a, b] / C[a, a] is the share of a's primitives that b
    also claims.
    """
    keep = pairs.views >= min_views
    prim, label = pairs.primitive[keep], pairs.label[keep]
    if len(label) and label.max() >= n_labels:
        raise ValueError(f"n_labels={n_labels} but the table uses label {label.max()}")
    _, row = np.unique(prim, return_inverse=True)
    incidence = csr_matrix((np.ones(len(row), np.int64), (row, label)), shape=(int(row.max(initial=-1)) + 1, n_labels))
    return (incidence.T @ incidence).tocsr()


def ambiguous_view_fraction(table: TraceTable, min_share: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Per primitive, the fraction of the views seeing it in which its top label has < min_share of its weight.

    This is Trace3D's test for a Gaussian straddling two objects (ambiguous in > 40 % of its views).
    Returns primitives [Q] int64 (sorted) and fraction [Q] float32. A folded table has lost its per-view
    labels: ValueError.
    """
    if table.folded:
        raise ValueError("ambiguous_view_fraction needs per-view entries; this tracing table was folded")
    prim, view, label, weight = table.primitive, table.view, table.label, table.weight
    if len(prim) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    order = np.lexsort((label, view, prim))
    p, v, lab, w = prim[order], view[order], label[order], weight[order].astype(np.float64)
    # Per (primitive, view, label): summed weight; then per (primitive, view): max and total.
    pvl_start = np.r_[True, (p[1:] != p[:-1]) | (v[1:] != v[:-1]) | (lab[1:] != lab[:-1])]
    pvl = np.cumsum(pvl_start) - 1
    pvl_w = np.bincount(pvl, weights=w)
    s = np.flatnonzero(pvl_start)
    pp, vv = p[s], v[s]
    pv_start = np.r_[True, (pp[1:] != pp[:-1]) | (vv[1:] != vv[:-1])]
    pv = np.cumsum(pv_start) - 1
    pv_total = np.bincount(pv, weights=pvl_w)
    pv_max = np.zeros(len(pv_total))
    np.maximum.at(pv_max, pv, pvl_w)
    with np.errstate(invalid="ignore", divide="ignore"):
        ambiguous = np.where(pv_total > 0, pv_max / pv_total, 1.0) < min_share
    ppv = pp[pv_start]
    p_start = np.r_[True, ppv[1:] != ppv[:-1]]
    pid = np.cumsum(p_start) - 1
    frac = np.bincount(pid, weights=ambiguous) / np.bincount(pid)
    return ppv[p_start], frac.astype(np.float32)
