import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tracklift.lift.voxels import (
    OFFSET,
    count_keys,
    key_centres,
    pack_keys,
    pack_keys_reference,
    unique_keys,
    unpack_keys,
    voxel_coords,
    voxel_keys,
)

coords_strategy = arrays(np.int64, st.tuples(st.integers(0, 20), st.just(3)), elements=st.integers(-OFFSET, OFFSET - 1))


@given(coords_strategy)
@settings(max_examples=50, deadline=None)
def test_pack_unpack_round_trip_and_reference(coords):
    keys = pack_keys(coords)
    np.testing.assert_array_equal(unpack_keys(keys), coords)
    np.testing.assert_array_equal(keys, pack_keys_reference(coords))


@given(coords_strategy)
@settings(max_examples=30, deadline=None)
def test_packing_is_lexicographic(coords):
    keys = pack_keys(coords)
    order = np.lexsort((coords[:, 2], coords[:, 1], coords[:, 0]))
    assert (np.diff(keys[order]) >= 0).all()


def test_coords_centres_and_counts_exact():
    pts = np.array([[0.01, 0.02, 0.03], [0.04, 0.02, 0.03], [-0.01, 0.0, 0.1]])
    np.testing.assert_array_equal(voxel_coords(pts, 0.05), [[0, 0, 0], [0, 0, 0], [-1, 0, 2]])
    keys, counts = count_keys(voxel_keys(pts, 0.05))
    np.testing.assert_array_equal(counts, [1, 2])  # (-1,0,2) sorts before (0,0,0)
    np.testing.assert_allclose(key_centres(keys, 0.05), [[-0.025, 0.025, 0.125], [0.025, 0.025, 0.025]], atol=1e-7)
    _, w = count_keys(voxel_keys(pts, 0.05), np.array([1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(w, [4, 3])


def test_bad_input_raises():
    with pytest.raises(ValueError, match="points must be"):
        voxel_coords(np.zeros((3, 2)), 0.1)
    with pytest.raises(ValueError, match="positive"):
        voxel_coords(np.zeros((3, 3)), 0.0)
    with pytest.raises(ValueError, match="must lie in"):
        pack_keys(np.array([[OFFSET, 0, 0]]))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-(2**40), 2**40), max_size=60), st.lists(st.floats(0, 5), max_size=60))
def test_unique_and_count_keys_match_numpy(keys, weights):
    keys = np.array(keys, np.int64)
    np.testing.assert_array_equal(unique_keys(keys), np.unique(keys))
    w = np.resize(np.array(weights or [1.0]), len(keys))
    uniq, inverse = np.unique(keys, return_inverse=True)
    got_keys, got_counts = count_keys(keys, w)
    np.testing.assert_array_equal(got_keys, uniq)
    np.testing.assert_allclose(got_counts, np.bincount(inverse, weights=w, minlength=len(uniq)), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(count_keys(keys)[1], np.bincount(inverse, minlength=len(uniq)))
