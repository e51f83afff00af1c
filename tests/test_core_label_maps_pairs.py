"""Touching label pairs of a label image (`core.label_maps`): hand cases and the reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.core.label_maps import touching_pairs, touching_pairs_reference


def test_touching_pairs_hand_case():
    lab = np.array([[0, 0, 1], [2, -1, 1], [2, 2, 1]])
    for pairs in (touching_pairs, touching_pairs_reference):
        assert pairs(lab).tolist() == [[0, 1], [0, 2], [1, 2]]
        assert pairs(np.full((2, 2), -1)).shape == (0, 2)
        assert pairs(np.array([[3, -1, 7]])).shape == (0, 2)  # apart: not neighbours


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), labels=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_touching_pairs_match_reference(h, w, labels, seed):
    lab = np.random.default_rng(seed).integers(-1, labels, (h, w))
    fast = touching_pairs(lab)
    assert fast.dtype == np.int64
    np.testing.assert_array_equal(fast, touching_pairs_reference(lab))


def test_touching_pairs_rejects_non_images():
    with pytest.raises(ValueError, match=r"label_map must be \[H, W\]"):
        touching_pairs(np.zeros(4, np.int64))
