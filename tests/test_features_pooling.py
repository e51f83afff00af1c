"""Masks on a patch grid: area coverage (fast vs reference, hand-computed) and coverage-weighted pooling."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.features.pooling import patch_coverage, patch_coverage_reference, pool_normalised


def test_coverage_on_a_hand_computed_grid():
    masks = np.zeros((3, 4, 6), bool)
    masks[0, 0, 0] = True  # one pixel of a 2×2-pixel cell
    masks[1, :2, :3] = True  # a whole cell and half of its neighbour
    masks[2] = True
    expected = np.zeros((3, 2, 3))
    expected[0, 0, 0] = 0.25
    expected[1, 0, :2] = (1.0, 0.5)
    expected[2] = 1.0
    np.testing.assert_allclose(patch_coverage(masks, (2, 3)), expected.reshape(3, 6), atol=1e-6)


def test_coverage_with_fractional_cells():
    # 3×3 pixels on 2×2 cells of 1.5 pixels: the centre pixel covers a 0.5×0.5 corner of every cell.
    masks = np.zeros((1, 3, 3), bool)
    masks[0, 1, 1] = True
    np.testing.assert_allclose(patch_coverage(masks, (2, 2)), np.full((1, 4), 0.25 / 2.25), atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(1, 20), w=st.integers(1, 20), gh=st.integers(1, 8), gw=st.integers(1, 8), seed=st.integers(0, 2**16)
)
def test_area_resampling_matches_interval_overlaps(h, w, gh, gw, seed):
    masks = np.random.default_rng(seed).random((2, h, w)) < 0.4
    np.testing.assert_allclose(patch_coverage(masks, (gh, gw)), patch_coverage_reference(masks, (gh, gw)), atol=1e-5)


def test_pooling_weights_tokens_by_coverage():
    tokens = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0]], np.float32)
    coverage = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]], np.float32)
    out = pool_normalised(coverage, tokens)
    np.testing.assert_allclose(out, [[2**-0.5, 2**-0.5], [0.6, 0.8], [0.0, 0.0]], atol=1e-6)
    with pytest.raises(ValueError, match="patches"):
        pool_normalised(coverage[:, :2], tokens)
