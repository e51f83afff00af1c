import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.trace.table import FOLDED, TraceTable, ambiguous_view_fraction, cooccurrence, top_labels


def small_table() -> TraceTable:
    t = TraceTable(capacity=2)  # tiny capacity: appends must grow the storage
    t.append(0, [10, 11, 12], [0, 0, 1], [1.0, 2.0, 3.0])
    t.append(1, [10, 11, 12], [1, 0, 1], [4.0, 1.0, 1.0])
    t.append(2, [10, 10], 2, [1.0, 1.0])  # one view giving primitive 10 twice the same label
    return t


def test_append_grows_and_keeps_entries():
    t = small_table()
    assert len(t) == 8
    np.testing.assert_array_equal(t.primitive, [10, 11, 12, 10, 11, 12, 10, 10])
    np.testing.assert_array_equal(t.view, [0, 0, 0, 1, 1, 1, 2, 2])
    np.testing.assert_array_equal(t.label, [0, 0, 1, 1, 0, 1, 2, 2])


def test_aggregate_exact():
    p = small_table().aggregate()
    np.testing.assert_array_equal(p.primitive, [10, 10, 10, 11, 12])
    np.testing.assert_array_equal(p.label, [0, 1, 2, 0, 1])
    np.testing.assert_array_equal(p.weight, [1, 4, 2, 3, 4])
    np.testing.assert_array_equal(p.views, [1, 1, 1, 2, 2])


def test_aggregate_with_label_map_counts_views_once():
    # labels 0 and 1 both become 5; label 2 is dropped
    p = small_table().aggregate(np.array([5, 5, -1]))
    np.testing.assert_array_equal(p.primitive, [10, 11, 12])
    np.testing.assert_array_equal(p.weight, [5, 3, 4])
    np.testing.assert_array_equal(p.views, [2, 2, 2])
    with pytest.raises(ValueError, match="label_map"):
        small_table().aggregate(np.array([0]))


def test_top_labels_exact():
    prim, label, share = top_labels(small_table().aggregate())
    np.testing.assert_array_equal(prim, [10, 11, 12])
    np.testing.assert_array_equal(label, [1, 0, 1])
    np.testing.assert_allclose(share, [4 / 7, 1, 1])
    # by views all three labels of 10 tie (one view each): weight breaks the tie
    _, label_v, share_v = top_labels(small_table().aggregate(), by="views")
    assert label_v[0] == 1 and share_v[0] == pytest.approx(1 / 3)


def test_cooccurrence_exact():
    c = cooccurrence(small_table().aggregate(), 3).toarray()
    np.testing.assert_array_equal(c, [[2, 1, 1], [1, 2, 1], [1, 1, 1]])
    c2 = cooccurrence(small_table().aggregate(), 3, min_views=2).toarray()
    np.testing.assert_array_equal(c2, [[1, 0, 0], [0, 1, 0], [0, 0, 0]])


def test_ambiguous_view_fraction_exact():
    t = TraceTable()
    t.append(0, [1, 1, 2], [0, 1, 0], [0.5, 0.5, 1.0])  # primitive 1 split 50/50 in view 0
    t.append(1, [1, 1, 2], [0, 1, 0], [0.9, 0.1, 1.0])  # 90/10 in view 1
    prim, frac = ambiguous_view_fraction(t, min_share=0.8)
    np.testing.assert_array_equal(prim, [1, 2])
    np.testing.assert_allclose(frac, [0.5, 0.0])


def test_bad_input_and_empty():
    t = TraceTable()
    with pytest.raises(ValueError, match="labels must be"):
        t.append(0, [1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="weights must be"):
        t.append(0, [1, 2], 0, [1.0])
    assert len(t.aggregate()) == 0 and len(top_labels(t.aggregate())[0]) == 0
    assert len(ambiguous_view_fraction(t)[0]) == 0
    with pytest.raises(ValueError, match="by must be"):
        top_labels(t.aggregate(), by="mass")


def test_fold_exact_by_hand():
    t = small_table()
    t.fold(np.array([0, 0, 2]))  # labels 0 and 1 are one track (representative 0), label 2 another
    assert t.folded and len(t) == 4
    np.testing.assert_array_equal(t.primitive, [10, 10, 11, 12])
    np.testing.assert_array_equal(t.label, [0, 2, 0, 0])
    np.testing.assert_array_equal(t.view, [FOLDED] * 4)
    np.testing.assert_array_equal(t.weight, [5, 2, 3, 4])
    np.testing.assert_array_equal(t.views, [2, 1, 2, 2])  # view 2 gave primitive 10 label 2 twice: one view
    t.append(3, [10, 12], [1, 2], [1.0, 2.0])  # raw entries after the fold count one view each
    np.testing.assert_array_equal(t.views, [2, 1, 2, 2, 1, 1])
    p = t.aggregate(np.array([5, 5, 7]))
    np.testing.assert_array_equal(p.primitive, [10, 10, 11, 12, 12])
    np.testing.assert_array_equal(p.label, [5, 7, 5, 5, 7])
    np.testing.assert_array_equal(p.weight, [6, 2, 3, 4, 2])
    np.testing.assert_array_equal(p.views, [3, 1, 2, 2, 1])
    t.fold(np.array([0, 0, 2]))  # folding again folds folded rows and new entries alike
    np.testing.assert_array_equal(t.label, [0, 2, 0, 0, 2])
    np.testing.assert_array_equal(t.weight, [6, 2, 3, 4, 2])
    np.testing.assert_array_equal(t.views, [3, 1, 2, 2, 1])


def test_fold_then_merging_folded_labels_counts_a_shared_view_twice():
    t = TraceTable()
    t.append(0, [1, 1], [0, 1], [1.0, 1.0])  # view 0 gives primitive 1 both labels
    t.append(1, [1], [1], [1.0])
    before = t.aggregate(np.array([0, 0]))
    t.fold(np.array([0, 1]))
    after = t.aggregate(np.array([0, 0]))  # the two folded labels merge: view 0 is counted once per label
    assert before.views.tolist() == [2] and after.views.tolist() == [3]
    assert before.weight.tolist() == after.weight.tolist() == [3.0]


def test_fold_bad_input_and_per_view_queries_refused():
    t = small_table()
    with pytest.raises(ValueError, match="label_map has 2 entries"):
        t.fold(np.array([0, 0]))
    with pytest.raises(ValueError, match="fold keeps every entry"):
        t.fold(np.array([0, -1, 2]))
    assert not t.folded and len(t) == 8  # a refused fold leaves the table as it was
    with pytest.raises(ValueError, match="view must be"):
        t.append(-1, [1], 0)
    t.fold(np.arange(3))
    with pytest.raises(ValueError, match="after a fold must be new"):
        t.append(2, [1], 0)  # view 2 is in the folded rows already
    with pytest.raises(ValueError, match="was folded"):
        ambiguous_view_fraction(t)
    empty = TraceTable()
    empty.fold(np.zeros(0, np.int64))
    assert empty.folded and len(empty) == 0 and len(empty.aggregate()) == 0


def representatives(group: np.ndarray) -> np.ndarray:
    """Each label's smallest label of its group (the fold map of a grouping, as the tracker's first segment)."""
    first = np.full(group.max() + 1, len(group))
    np.minimum.at(first, group, np.arange(len(group)))
    return first[group]


@st.composite
def folding_cases(draw):
    n_labels = draw(st.integers(1, 8))
    entries = draw(
        st.lists(st.tuples(st.integers(0, 4), st.integers(0, n_labels - 1), st.integers(1, 4)), min_size=1, max_size=40)
    )
    views = sorted(draw(st.lists(st.integers(0, 9), min_size=len(entries), max_size=len(entries))))
    first = draw(st.lists(st.integers(0, n_labels - 1), min_size=n_labels, max_size=n_labels))  # label -> track
    n_tracks = max(first) + 1
    merge = draw(st.lists(st.integers(0, n_tracks - 1), min_size=n_tracks, max_size=n_tracks))  # later merges
    final = draw(st.lists(st.integers(-1, n_tracks - 1), min_size=n_tracks, max_size=n_tracks))  # reader's map
    # the folds fall between views, as the tracker folds between frames
    cut = np.searchsorted(views, sorted(draw(st.lists(st.integers(0, 10), min_size=2, max_size=2))))
    return entries, views, np.array(first), np.array(merge), np.array(final), cut


def fill(table: TraceTable, entries, views) -> None:
    for (prim, label, weight), view in zip(entries, views):
        table.append(view, [prim], [label], [float(weight)])


@given(folding_cases())
@settings(max_examples=200, deadline=None)
def test_aggregate_after_folds_equals_before(case):
    entries, views, first, merge, final, (a, b) = case
    raw = TraceTable()
    fill(raw, entries, views)
    folded = TraceTable(capacity=1)
    fill(folded, entries[:a], views[:a])
    folded.fold(representatives(first))  # tracks at the first fold
    fill(folded, entries[a:b], views[a:b])
    later = merge[first]  # tracks only merge: the second fold's map factors through the first
    folded.fold(representatives(later))
    fill(folded, entries[b:], views[b:])
    label_map = final[later]  # the reader's map factors through both folds
    expected, got = raw.aggregate(label_map), folded.aggregate(label_map)
    np.testing.assert_array_equal(got.primitive, expected.primitive)
    np.testing.assert_array_equal(got.label, expected.label)
    np.testing.assert_array_equal(got.weight, expected.weight)  # integer weights: sums are exact
    kept = final[merge[np.unique(first)]]
    kept = kept[kept >= 0]
    if len(np.unique(kept)) == len(kept):  # no two tracks of the first fold end as one label
        np.testing.assert_array_equal(got.views, expected.views)
    else:  # a view shared by two folded tracks that merged later may be counted twice
        assert np.all(got.views >= expected.views) and got.views.sum() <= len(entries)
