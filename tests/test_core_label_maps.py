"""Label-map helpers shared by synth, splat and the benchmarks: touching pairs and cutting a mask by lines."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tracklift.core.label_maps import line_coordinates, split_by_lines, touching_pairs, touching_pairs_reference


def test_touching_pairs_hand_case_ignores_negative_and_diagonal():
    lab = np.array([[0, 0, -1, 3], [2, -1, 3, 3], [-1, 2, -1, 5]])
    # 0 over 2 (column 0) and 3 over 5 (column 3) touch; the 2s at (1, 0) and (2, 1) meet only diagonally
    assert touching_pairs(lab).tolist() == [[0, 2], [3, 5]]
    assert touching_pairs(np.full((3, 1), 7)).shape == (0, 2)
    assert touching_pairs(np.array([[4, 1]])).dtype == np.int64


@settings(max_examples=60, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(1, 7), st.integers(1, 7)), elements=st.integers(-2, 4)))
def test_touching_pairs_matches_reference(lab):
    assert np.array_equal(touching_pairs(lab), touching_pairs_reference(lab))


def test_line_coordinates_hand_case():
    mask = np.zeros((3, 4), bool)
    mask[0, 3] = mask[2, 1] = True  # pixels (u, v) = (3, 0) and (1, 2), in np.nonzero order
    np.testing.assert_allclose(line_coordinates(mask, 0.0), [3.0, 1.0])
    np.testing.assert_allclose(line_coordinates(mask, math.pi / 2, (1.0, 1.0)), [-1.0, 1.0], atol=1e-12)


def test_split_by_lines_hand_case_and_tie_side():
    mask = np.ones((2, 5), bool)
    below, above = split_by_lines(mask, 0.0, [2.0])  # vertical line at u = 2; "left": u == 2 goes below
    assert below[0].tolist() == [True, True, True, False, False] and not (below & above).any()
    below, above = split_by_lines(mask, 0.0, [2.0], side="right")
    assert below[0].tolist() == [True, True, False, False, False]
    pieces = split_by_lines(mask, math.pi / 2, [0.5, 5.0])  # horizontal cuts: rows 0 | 1 | nothing
    assert [p.sum() for p in pieces] == [5, 5, 0] and pieces[0][0].all()


@settings(max_examples=40, deadline=None)
@given(
    arrays(bool, st.tuples(st.integers(1, 9), st.integers(1, 9))),
    st.floats(0, math.pi),
    st.lists(st.floats(-10, 10), max_size=3),
)
def test_split_by_lines_partitions_the_mask(mask, angle, cuts):
    pieces = split_by_lines(mask, angle, sorted(cuts))
    assert len(pieces) == len(cuts) + 1
    assert np.array_equal(np.sum(pieces, axis=0), mask.astype(int))  # disjoint, covering exactly the mask
