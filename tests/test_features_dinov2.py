"""DINOv2 mask features from a tiny randomly initialised model saved to disk and loaded back."""

import numpy as np
import pytest

from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame

pytest.importorskip("transformers")
pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def dinov2_dir(tmp_path_factory):
    from tests.tiny_models import save_dinov2

    return save_dinov2(tmp_path_factory.mktemp("dinov2"), patch_size=14)


def frame_64x48(seed=0):
    color = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    K = np.array([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]])
    return Frame(color, np.ones((48, 64), np.float32), K, np.eye(4), "7", 0)


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


def test_dinov2_mask_smaller_than_a_patch_gets_its_patch_feature(dinov2_dir):
    from tracklift.features.dinov2 import Dinov2Features, patch_grid

    extractor = Dinov2Features(str(dinov2_dir), short_side=56)
    frame = frame_64x48()
    tokens, grid = extractor.patch_tokens(frame.color)
    assert grid == patch_grid(48, 64, 56, 14) == (4, 5) and tokens.shape == (20, 32)
    masks = np.zeros((1, 48, 64), bool)
    masks[0, 13, 14] = True  # row 13 of 48 -> cell row 1 (cells are 12 rows); column 14 of 64 -> cell column 1
    out = extractor(frame, FrameMasks(masks))
    np.testing.assert_allclose(out[0], tokens[1 * 5 + 1] / np.linalg.norm(tokens[1 * 5 + 1]), rtol=1e-5, atol=1e-6)


def test_dinov2_dtype_option_and_grid_for_vga(dinov2_dir):
    from tracklift.features.dinov2 import Dinov2Features, patch_grid

    extractor = Dinov2Features(str(dinov2_dir), short_side=28, dtype="bfloat16")
    assert next(extractor.model.parameters()).dtype.is_floating_point and str(extractor.model.dtype) == "torch.bfloat16"
    out = extractor(frame_64x48(), FrameMasks(np.ones((1, 48, 64), bool)))
    assert out.dtype == np.float32 and np.isfinite(out).all()
    assert patch_grid(480, 640, 448, 14) == (32, 43)


def test_dinov2_bad_inputs(dinov2_dir, tmp_path):
    from tracklift.features.dinov2 import Dinov2Features
    from tracklift.features.factory import make_features

    with pytest.raises(FileNotFoundError, match="DINOv2"):
        make_features(f"dinov2:{tmp_path / 'missing'}")
    with pytest.raises(ValueError, match="dtype"):
        Dinov2Features(str(dinov2_dir), dtype="int8")
    extractor = Dinov2Features(str(dinov2_dir))
    with pytest.raises(ValueError, match="frame '7'"):
        extractor(frame_64x48(), FrameMasks.empty(10, 10))


def test_patch_cells_cover_the_pixels_the_model_sees_there(dinov2_dir):
    from tracklift.features.dinov2 import Dinov2Features

    # Patch embeddings are a per-patch convolution: changing pixels well inside cell (1, 1) of the 4×5 grid
    # (rows 12–24, columns 12.8–25.6 of the 48×64 frame) must change that patch's embedding only.
    extractor = Dinov2Features(str(dinov2_dir), short_side=56)
    captured = []
    hook = extractor.model.embeddings.patch_embeddings.register_forward_hook(lambda m, i, o: captured.append(o))
    color = frame_64x48().color
    changed = color.copy()
    changed[15:22, 16:23] = 255 - changed[15:22, 16:23]
    extractor.patch_tokens(color)
    extractor.patch_tokens(changed)
    hook.remove()
    diff = (captured[0] - captured[1]).abs().sum(-1)[0].reshape(-1)
    assert diff.shape == (20,) and int(diff.argmax()) == 1 * 5 + 1
    assert (diff > 1e-6).sum() == 1
