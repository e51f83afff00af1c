"""Mask pooling on a patch grid, and DINOv2 features from a tiny randomly initialised model saved to disk."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tracklift.data.frame import Frame
from tracklift.features.pooling import patch_coverage, patch_coverage_reference, pool_normalised
from tracklift.segment2d.masks import FrameMasks


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
@given(h=st.integers(1, 20), w=st.integers(1, 20), gh=st.integers(1, 8), gw=st.integers(1, 8), seed=st.integers(0, 2**16))
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


# --- the transformers backend ---

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def dinov2_dir(tmp_path_factory):
    from tiny_models import save_dinov2

    return save_dinov2(tmp_path_factory.mktemp("dinov2"), patch_size=14)


def frame_64x48(seed=0):
    color = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    K = np.array([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]])
    return Frame(color, np.ones((48, 64), np.float32), K, np.eye(4), "7", 0)


@pytest.mark.models
def test_dinov2_loads_from_folder_and_pools_per_mask(dinov2_dir):
    from tracklift.features.dinov2 import Dinov2Features
    from tracklift.features.factory import make_features
    from tracklift.features.protocol import FeatureExtractor

    extractor = make_features(f"dinov2:{dinov2_dir}")
    assert isinstance(extractor, Dinov2Features) and isinstance(extractor, FeatureExtractor)
    assert extractor.dim == 32
    masks = np.zeros((4, 48, 64), bool)
    masks[0, :24, :32] = True
    masks[1, :24, :32] = True
    masks[2, 30:, 40:] = True
    out = extractor(frame_64x48(), FrameMasks(masks))
    assert out.shape == (4, 32) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out[:3], axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(out[0], out[1])
    assert not out[3].any()  # an empty mask matches nothing
    assert out[0] @ out[2] < 0.9999


@pytest.mark.models
def test_dinov2_mask_smaller_than_a_patch_gets_its_patch_feature(dinov2_dir):
    from tracklift.features.dinov2 import Dinov2FeatureConfig, Dinov2Features, patch_grid

    extractor = Dinov2Features(Dinov2FeatureConfig(model=str(dinov2_dir), short_side=56))
    frame = frame_64x48()
    tokens, grid = extractor.patch_tokens(frame.color)
    assert grid == patch_grid(48, 64, 56, 14) == (4, 5) and tokens.shape == (20, 32)
    masks = np.zeros((1, 48, 64), bool)
    masks[0, 13, 14] = True  # row 13 of 48 -> cell row 1 (cells are 12 rows); column 14 of 64 -> cell column 1
    out = extractor(frame, FrameMasks(masks))
    np.testing.assert_allclose(out[0], tokens[1 * 5 + 1] / np.linalg.norm(tokens[1 * 5 + 1]), rtol=1e-5, atol=1e-6)


@pytest.mark.models
def test_dinov2_dtype_option_and_grid_for_vga(dinov2_dir):
    from tracklift.features.dinov2 import Dinov2FeatureConfig, Dinov2Features, patch_grid

    extractor = Dinov2Features(Dinov2FeatureConfig(model=str(dinov2_dir), short_side=28, dtype="bfloat16"))
    assert next(extractor.model.parameters()).dtype.is_floating_point and str(extractor.model.dtype) == "torch.bfloat16"
    out = extractor(frame_64x48(), FrameMasks(np.ones((1, 48, 64), bool)))
    assert out.dtype == np.float32 and np.isfinite(out).all()
    assert patch_grid(480, 640, 448, 14) == (32, 43)


@pytest.mark.models
def test_dinov2_bad_inputs(dinov2_dir, tmp_path):
    from tracklift.features.dinov2 import Dinov2FeatureConfig, Dinov2Features
    from tracklift.features.factory import make_features

    with pytest.raises(FileNotFoundError, match="DINOv2"):
        make_features(f"dinov2:{tmp_path / 'missing'}")
    with pytest.raises(ValueError, match="dtype"):
        Dinov2Features(Dinov2FeatureConfig(model=str(dinov2_dir), dtype="int8"))
    extractor = Dinov2Features(Dinov2FeatureConfig(model=str(dinov2_dir)))
    with pytest.raises(ValueError, match="frame '7'"):
        extractor(frame_64x48(), FrameMasks.empty(10, 10))
