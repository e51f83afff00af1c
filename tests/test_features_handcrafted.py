"""The weight-free mask descriptor and its soft binning; the feature factory."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.features.factory import make_features
from tracklift.features.handcrafted import (
    LAB_RANGES,
    HandcraftedConfig,
    HandcraftedFeatures,
    description_step,
    descriptor_histograms,
    descriptor_histograms_reference,
    joint_bins,
    mask_histograms,
    mask_histograms_reference,
    pixel_bins,
)
from tracklift.features.protocol import FeatureExtractor
from tracklift.features.soft_hist import soft_bins, soft_bins_reference


def frame_with(color):
    h, w = color.shape[:2]
    K = np.array([[50.0, 0, w / 2], [0, 50.0, h / 2], [0, 0, 1]])
    return Frame(color, np.ones((h, w), np.float32), K, np.eye(4), "f", 0)


def two_colour_frame():
    """48×64: left half red with a checkerboard, right half blue and flat."""
    color = np.zeros((48, 64, 3), np.uint8)
    color[:, :32] = (200, 30, 30)
    color[:, 32:] = (30, 40, 190)
    checker = (np.add.outer(np.arange(48) // 4, np.arange(32) // 4) % 2).astype(bool)
    color[:, :32][checker] = (150, 20, 20)
    return frame_with(color)


def box(y0, y1, x0, x1):
    m = np.zeros((48, 64), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_handcrafted_is_a_feature_extractor_via_factory():
    extractor = make_features("handcrafted")
    assert isinstance(extractor, FeatureExtractor) and isinstance(extractor, HandcraftedFeatures)
    assert extractor.dim == 4 * 8 * 8 + 8 + 6


def test_shapes_norms_and_identical_masks():
    extractor = HandcraftedFeatures()
    masks = FrameMasks(np.stack([box(4, 20, 4, 28), box(4, 20, 4, 28), box(24, 44, 36, 60)]))
    out = extractor(two_colour_frame(), masks)
    assert out.shape == (3, extractor.dim) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(out[0] @ out[1], 1, rtol=1e-6)


def test_same_surface_elsewhere_matches_and_other_colour_does_not():
    out = HandcraftedFeatures()(
        two_colour_frame(),
        FrameMasks(np.stack([box(0, 16, 0, 16), box(24, 40, 8, 24), box(8, 24, 40, 56), box(30, 46, 44, 60)])),
    )
    red_a, red_b, blue_a, blue_b = out
    # Both red windows cover whole 4-pixel checker cells; both blue windows lie in flat blue.
    assert red_a @ red_b > 0.99 and blue_a @ blue_b > 0.99
    assert red_a @ blue_a < 0.5


def test_texture_separates_same_colour_with_and_without_pattern():
    color = np.full((48, 64, 3), (200, 30, 30), np.uint8)
    color[:, :32][(np.add.outer(np.arange(48) // 2, np.arange(32) // 2) % 2).astype(bool)] = (180, 30, 30)
    out = HandcraftedFeatures(HandcraftedConfig(texture_weight=1.0))(
        frame_with(color), FrameMasks(np.stack([box(8, 40, 4, 28), box(8, 40, 36, 60)]))
    )
    assert out[0] @ out[1] < 0.9


def test_empty_mask_gives_zero_row_and_no_masks_give_no_rows():
    extractor = HandcraftedFeatures()
    out = extractor(two_colour_frame(), FrameMasks(np.stack([box(0, 0, 0, 0), box(0, 8, 0, 8)])))
    assert not out[0].any() and np.isclose(np.linalg.norm(out[1]), 1)
    assert extractor(two_colour_frame(), FrameMasks.empty(48, 64)).shape == (0, extractor.dim)


def test_mask_shape_mismatch_names_the_frame():
    with pytest.raises(ValueError, match="frame 'f'"):
        HandcraftedFeatures()(two_colour_frame(), FrameMasks.empty(24, 32))


@pytest.mark.parametrize("spec", ["dinov3:x", "dinov2", ""])
def test_factory_rejects_unknown_specs(spec):
    with pytest.raises(ValueError, match="unknown feature spec"):
        make_features(spec)


def test_factory_takes_handcrafted_options_and_names_bad_ones():
    assert make_features("handcrafted:max_pixels=0,orientation_bins=4").config == HandcraftedConfig(
        max_pixels=0, orientation_bins=4
    )
    for spec, problem in [
        ("handcrafted:extra", "not key=value"),
        ("handcrafted:bins=3", "unknown option 'bins'"),
        ("handcrafted:max_pixels=-1", "max_pixels"),
    ]:
        with pytest.raises(ValueError, match=f"handcrafted features: .*{problem}"):
            make_features(spec)


def test_pixel_contributions_each_sum_to_one():
    (cidx, cw), (oidx, ow), (midx, mw) = pixel_bins(two_colour_frame().color, HandcraftedConfig())
    np.testing.assert_allclose(cw.sum(1), 1, rtol=1e-5)
    np.testing.assert_allclose(mw.sum(1), 1, rtol=1e-5)
    assert cidx.max() < 4 * 8 * 8 and oidx.max() < 8 and midx.max() < 6


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-2.0, 5.0), min_size=1, max_size=20),
    bins=st.integers(2, 9),
    circular=st.booleans(),
)
def test_soft_bins_match_the_triangular_kernel_reference(values, bins, circular):
    index, weight = soft_bins(np.array(values), 0.0, 3.0, bins, circular)
    dense = np.zeros((len(values), bins))
    np.add.at(dense, (np.repeat(np.arange(len(values)), 2), index.ravel()), weight.ravel())
    expected = np.stack([soft_bins_reference(v, 0.0, 3.0, bins, circular) for v in values])
    np.testing.assert_allclose(dense, expected, atol=1e-6)


def test_soft_bins_hand_computed():
    # 4 bins over [0, 4]: centres 0.5, 1.5, 2.5, 3.5.
    index, weight = soft_bins(np.array([1.5, 2.0, 0.0, 4.0]), 0.0, 4.0, 4)
    dense = np.zeros((4, 4))
    np.add.at(dense, (np.repeat(np.arange(4), 2), index.ravel()), weight.ravel())
    np.testing.assert_allclose(dense, [[0, 1, 0, 0], [0, 0.5, 0.5, 0], [1, 0, 0, 0], [0, 0, 0, 1]])
    index, weight = soft_bins(np.array([0.0]), 0.0, 4.0, 4, circular=True)  # wraps between the last and first bin
    assert sorted(zip(index[0].tolist(), weight[0].tolist())) == [(0, 0.5), (3, 0.5)]


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(1, 4), p=st.integers(1, 40), k=st.integers(1, 3), size=st.integers(1, 6), seed=st.integers(0, 2**16)
)
def test_mask_histogram_kernel_matches_bincount_reference(n, p, k, size, seed):
    rng = np.random.default_rng(seed)
    flat = rng.random((n, p)) < 0.5
    row_of = rng.integers(0, 7, p)
    index = rng.integers(0, size, (7, k)).astype(np.int32)
    weight = rng.random((7, k)).astype(np.float32)
    np.testing.assert_allclose(
        mask_histograms(flat, row_of, index, weight, size),
        mask_histograms_reference(flat, row_of, index, weight, size),
        rtol=1e-12,
    )


@settings(max_examples=20, deadline=None)
@given(lab=st.lists(st.tuples(st.floats(-5, 105), st.floats(-90, 90), st.floats(-90, 90)), min_size=1, max_size=6))
def test_joint_colour_bins_are_the_outer_product_of_per_axis_kernels(lab):
    bins = (3, 4, 5)
    index, weight = joint_bins(np.array(lab, np.float32), bins)
    dense = np.zeros((len(lab), int(np.prod(bins))))
    np.add.at(dense, (np.repeat(np.arange(len(lab)), 8), index.ravel()), weight.ravel())
    for row, value in zip(dense, lab):
        axes = [soft_bins_reference(v, *LAB_RANGES[c], bins[c]) for c, v in enumerate(value)]
        np.testing.assert_allclose(row, np.einsum("i,j,k->ijk", *axes).ravel(), atol=1e-5)


@pytest.mark.parametrize(
    "cfg",
    [
        HandcraftedConfig(),
        HandcraftedConfig(color_bins=(1, 2, 3), orientation_bins=1, magnitude_bins=2),
        HandcraftedConfig(color_bins=(5, 3, 7), orientation_bins=5, magnitude_bins=1),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_fused_descriptor_kernel_equals_the_vectorised_composition(cfg, seed):
    rng = np.random.default_rng(seed)
    # smooth colour with noise (gradients of all sizes and directions), overlapping masks, an empty one
    yy, xx = np.mgrid[0:40, 0:56]
    base = np.stack([xx * 4, yy * 6, 128 + 100 * np.sin(xx / 5.0 + yy / 7.0)], axis=2)
    color = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)
    flat = np.zeros((5, 40 * 56), bool)
    for n in range(4):
        flat[n] = rng.random(40 * 56) < 0.3 * (n + 1) / 4

    pixel_size = 1.0 + seed  # gradients of a reduced image: divided by the pixels one pixel spans
    fast = descriptor_histograms(color, flat, cfg, pixel_size)
    reference = descriptor_histograms_reference(color, flat, cfg, pixel_size)
    assert (
        fast.shape == reference.shape == (5, int(np.prod(cfg.color_bins)) + cfg.orientation_bins + cfg.magnitude_bins)
    )
    np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-4)
    assert not fast[4].any()
    # each pixel of a mask adds exactly 1 to the colour block and 1 to the magnitude block
    colour = int(np.prod(cfg.color_bins))
    np.testing.assert_allclose(fast[:, :colour].sum(1), flat.sum(1), rtol=1e-6)
    np.testing.assert_allclose(fast[:, colour + cfg.orientation_bins :].sum(1), flat.sum(1), rtol=1e-6)


@pytest.mark.parametrize(
    "height, width, max_pixels, step",
    [(480, 640, 100_000, 2), (480, 640, 307_200, 1), (480, 640, 0, 1), (968, 1296, 100_000, 4), (48, 64, 3072, 1)],
)
def test_description_step_is_the_smallest_reduction_within_the_budget(height, width, max_pixels, step):
    assert description_step(height, width, max_pixels) == step
    if max_pixels and step > 1:
        assert (height // (step - 1)) * (width // (step - 1)) > max_pixels


def textured_frame(seed: int, height: int = 120, width: int = 160):
    """Smooth colour regions with noise: four quadrants of different hues, texture of several scales."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    hue = np.where(yy < height // 2, np.where(xx < width // 2, 0, 1), np.where(xx < width // 2, 2, 3))
    palette = np.array([(200, 60, 50), (40, 160, 70), (50, 70, 190), (210, 200, 80)], np.float64)
    base = palette[hue] + 30 * np.sin(xx / 3.0 + yy / 5.0)[..., None]
    return frame_with(np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8))


def test_a_reduced_description_matches_the_full_one():
    """At half size (a quarter of the pixels) each mask's descriptor stays closer to its own full-size
    descriptor than to any other mask's."""
    frame = textured_frame(0)
    quadrant = np.zeros((4, 120, 160), bool)
    quadrant[0, 5:55, 5:75], quadrant[1, 5:55, 85:155], quadrant[2, 65:115, 5:75], quadrant[3, 65:115, 85:155] = (
        1,
        1,
        1,
        1,
    )
    masks = FrameMasks(quadrant)
    full = HandcraftedFeatures(HandcraftedConfig(max_pixels=0))(frame, masks)
    reduced_extractor = HandcraftedFeatures(HandcraftedConfig(max_pixels=120 * 160 // 4))
    reduced = reduced_extractor(frame, masks)
    assert description_step(120, 160, reduced_extractor.config.max_pixels) == 2
    similarity = reduced @ full.T
    assert (np.diag(similarity) > 0.95).all()
    assert (similarity.argmax(axis=1) == np.arange(4)).all()
    np.testing.assert_allclose(np.linalg.norm(reduced, axis=1), 1, rtol=1e-6)


def test_a_mask_thinner_than_the_reduction_is_described_at_full_size():
    frame = textured_frame(1)
    line = np.zeros((1, 120, 160), bool)
    line[0, 31, 10:150] = True  # an odd row: the reduced grid samples even rows only
    cfg = HandcraftedConfig(max_pixels=120 * 160 // 4)
    reduced = HandcraftedFeatures(cfg)(frame, FrameMasks(line))
    full = HandcraftedFeatures(HandcraftedConfig(max_pixels=0))(frame, FrameMasks(line))
    np.testing.assert_array_equal(reduced, full)
