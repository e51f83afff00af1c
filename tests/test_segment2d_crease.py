"""Surface-graph edge weights (shared by the RGB-D pixel graph and the geo3d voxel graph)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.segment2d.crease import crease_weights, crease_weights_reference, lab_colors


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 30), st.integers(0, 2**31 - 1))
def test_crease_weights_match_reference(n, seed):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(n, 3)).astype(np.float32)
    normals = rng.normal(size=(n, 3)).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    lab = lab_colors(rng.integers(0, 256, (n, 3), dtype=np.uint8))
    src, dst = rng.integers(0, n, 40), rng.integers(0, n, 40)
    scale = rng.uniform(0.5, 3.0, 40)
    args = (points, normals, lab, src, dst, scale, 10.0, 1.0, 0.1, 0.05, 0.01)
    # float32 arithmetic in the fast version against float64 in the reference: 1e-4 covers it.
    np.testing.assert_allclose(crease_weights(*args), crease_weights_reference(*args), atol=1e-4)


def test_concave_crease_weighs_ten_times_a_convex_one():
    # Two faces meeting at a right angle along the origin: a ridge (convex) and a valley (concave).
    up, side = np.array([0.0, 0, 1]), np.array([1.0, 0, 0])
    lab = np.zeros((2, 3), np.float32)
    ridge = crease_weights(
        np.array([[-0.1, 0, 0], [0, 0, -0.1]], np.float32),
        np.array([up, side], np.float32),
        lab,
        np.array([0]),
        np.array([1]),
        1.0,
        0.0,
        1.0,
        0.1,
        0.0,
        0.0,
    )
    valley = crease_weights(
        np.array([[0.1, 0, 0], [0, 0, 0.1]], np.float32),
        np.array([up, side], np.float32),
        lab,
        np.array([0]),
        np.array([1]),
        1.0,
        0.0,
        1.0,
        0.1,
        0.0,
        0.0,
    )
    assert ridge[0] == pytest.approx(0.1) and valley[0] == pytest.approx(1.0)


def test_lab_colors_of_black_and_white():
    lab = lab_colors(np.array([[0, 0, 0], [255, 255, 255]], np.uint8))
    np.testing.assert_allclose(lab, [[0, 0, 0], [1, 0, 0]], atol=1e-3)
