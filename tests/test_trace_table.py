import numpy as np
import pytest

from tracklift.trace.table import TraceTable, ambiguous_view_fraction, cooccurrence, top_labels


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
