"""The depth sensor model's scan effects and the colour camera's degradations, on hand-built images."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tracklift.synth.config import ScanRealism
from tracklift.synth.noise import SCAN_DEPTH, DepthNoise, apply_depth_noise, thin_structures
from tracklift.synth.scan_color import color_camera, exposure_gains, image_motion, motion_kernel
from tracklift.synth.trajectory import look_at

QUIET = DepthNoise(sigma_base=0.0, sigma_quad=0.0, edge_hole_prob=0.0, dropout=0.0, grazing_cos=0.0)


def step_depth() -> np.ndarray:
    """[40, 60] a box at 1 m (columns < 30) in front of a wall at 2 m."""
    depth = np.full((40, 60), 2.0, np.float32)
    depth[:, :30] = 1.0
    return depth


def test_flying_pixels_lie_between_foreground_and_background():
    params = dataclasses.replace(QUIET, flying_prob=1.0)
    out = apply_depth_noise(step_depth(), np.ones((40, 60), np.float32), np.random.default_rng(0), params)
    edge = out[:, 29:31]  # the two pixels either side of the jump blend near and far depth (15–85 %)
    assert ((edge >= 1.15 - 1e-6) & (edge <= 1.85 + 1e-6)).all()
    np.testing.assert_array_equal(out[:, :29], 1.0)  # everywhere else nothing changes
    np.testing.assert_array_equal(out[:, 31:], 2.0)


def test_default_sensor_has_no_scan_effects():
    out = apply_depth_noise(step_depth(), np.ones((40, 60), np.float32), np.random.default_rng(0), QUIET)
    np.testing.assert_array_equal(out, step_depth())


def test_thin_structures_and_their_dropout():
    depth = np.full((30, 40), 3.0, np.float32)
    depth[:, 10:13] = 1.0  # a 3-px chair leg
    depth[:, 20:35] = 1.0  # a 15-px cabinet
    thin = thin_structures(depth, 5, 0.05)
    assert thin[:, 10:13].all() and not thin[:, 20:35].any() and not thin[:, :10].any()
    params = dataclasses.replace(QUIET, thin_width=5, thin_dropout=1.0)
    out = apply_depth_noise(depth, np.ones_like(depth), np.random.default_rng(0), params)
    assert (out[:, 10:13] == 0).all() and (out[:, 20:35] == 1.0).all()


def test_dark_surfaces_drop_out_and_luminance_is_required():
    depth = np.full((50, 50), 1.5, np.float32)
    luminance = np.full((50, 50), 0.8, np.float32)
    luminance[:, :25] = 0.0
    params = dataclasses.replace(QUIET, dark_level=0.1, dark_dropout=0.6)
    out = apply_depth_noise(depth, np.ones_like(depth), np.random.default_rng(1), params, luminance)
    assert 0.5 < (out[:, :25] == 0).mean() < 0.7 and (out[:, 25:] > 0).all()
    with pytest.raises(ValueError, match="luminance"):
        apply_depth_noise(depth, np.ones_like(depth), np.random.default_rng(1), SCAN_DEPTH)


def test_noise_grows_with_range():
    rng = np.random.default_rng(2)
    params = dataclasses.replace(SCAN_DEPTH, dark_dropout=0.0, specular_dropout=0.0, blob_holes=0.0)
    spread = []
    for z in (1.0, 3.0):
        out = apply_depth_noise(np.full((96, 128), z, np.float32), np.ones((96, 128), np.float32), rng, params)
        spread.append(out[out > 0].std())
    expected = [params.sigma_base + params.sigma_quad * (z - 0.4) ** 2 for z in (1.0, 3.0)]
    # std of one image mixes white and 8-px-smooth noise: within 30 % of the model's sigma
    np.testing.assert_allclose(spread, expected, rtol=0.3)


def test_motion_kernel_and_image_motion():
    k = motion_kernel(5.0, np.array([1.0, 0.0]))
    assert k.shape == (5, 5) and k.sum() == pytest.approx(1.0) and (k[2] > 0).all() and k[[0, 1, 3, 4]].sum() == 0
    np.testing.assert_array_equal(motion_kernel(0.5, np.array([1.0, 0.0])), np.ones((1, 1)))
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    pose = look_at(np.zeros(3), np.array([0.0, 1.0, 0.0]))
    before, after = pose.copy(), pose.copy()
    before[:3, 3] -= 0.1 * pose[:3, 0]
    after[:3, 3] += 0.1 * pose[:3, 0]  # camera moves along its +x: the scene moves to -u
    np.testing.assert_allclose(image_motion(K, pose, before, after), [-1.0, 0.0], atol=1e-9)


def test_exposure_gains_vary_slowly_and_the_colour_camera_is_seeded():
    realism = ScanRealism()
    gains = exposure_gains(400, 0, realism)
    assert gains.shape == (400, 3) and (gains > 0).all()
    log = np.log(gains)
    assert np.abs(np.diff(log, axis=0)).mean() < 0.5 * np.abs(log - log.mean(0)).mean()
    np.testing.assert_array_equal(exposure_gains(400, 0, realism), gains)
    K = np.array([[576.0, 0, 319.5], [0, 576, 239.5], [0, 0, 1]])
    a, b = color_camera(K, 640, 480, realism, 0), color_camera(K, 640, 480, realism, 1)
    assert a.size == (1296, 968) and not np.allclose(a.K, b.K)
    np.testing.assert_allclose(a.offset[:3, :3] @ a.offset[:3, :3].T, np.eye(3), atol=1e-12)
