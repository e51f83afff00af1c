"""Training resolution (`--resolution`, the reference 3DGS `-r`): sizes, intrinsics, images, end to end."""

from __future__ import annotations

import numpy as np
import pytest

from tracklift.splat.render.camera import Camera
from tracklift.splat.train.resolution import downscale_views, scaled_size


def test_scaled_size_follows_the_reference_rule():
    assert scaled_size(160, 120, 1) == (160, 120)
    assert scaled_size(160, 120, 2) == (80, 60)
    assert scaled_size(160, 120, 8) == (20, 15)
    assert scaled_size(1296, 968, 4) == (324, 242)
    # Any other value is a target width (the height keeps the aspect ratio).
    assert scaled_size(160, 120, 100) == (100, 75)
    assert scaled_size(1296, 968, 640) == (640, 478)  # 968 * 640 / 1296 = 478.02
    assert scaled_size(160, 120, 3) == (3, 2)  # 3 is a width, as in the reference (only 1/2/4/8 are factors)
    with pytest.raises(ValueError, match="resolution must be >= 1"):
        scaled_size(160, 120, 0)


def test_resized_camera_scales_intrinsics_about_pixel_edges():
    K = np.array([[100.0, 0, 79.5], [0, 90.0, 59.5], [0, 0, 1]])
    cam = Camera(K, np.eye(4), 160, 120, "a").resized(80, 60)
    # Half size: focal lengths halve; the centre of the image stays the centre ((W - 1) / 2 in our pixels).
    np.testing.assert_allclose(cam.K, [[50, 0, 39.5], [0, 45, 29.5], [0, 0, 1]])
    assert (cam.width, cam.height, cam.name) == (80, 60, "a")
    # A point projecting onto the left edge of pixel 0 (u = -0.5) lands on the left edge of the small image.
    full = Camera(np.array([[100.0, 0, 30.0], [0, 100.0, 20.0], [0, 0, 1]]), np.eye(4), 160, 120)
    half = full.resized(80, 60)
    x = (-0.5 - 30.0) / 100.0  # camera-frame x / z of that point
    assert half.K[0, 0] * x + half.K[0, 2] == pytest.approx(-0.5)


def test_downscale_views_resizes_images_depths_and_cameras_together():
    K = np.array([[100.0, 0, 79.5], [0, 100.0, 59.5], [0, 0, 1]])
    cams = [Camera(K, np.eye(4), 160, 120, str(i)) for i in range(2)]
    image = np.zeros((120, 160, 3), np.uint8)
    image[:, 80:] = 200  # right half bright
    depth = np.full((120, 160), 2.0, np.float32)
    depth[::2, ::2] = 0.0  # invalid samples must never average into a depth no surface has
    out_cams, images, depths = downscale_views(cams, [image, image], [depth, None], 2)
    assert [(c.width, c.height) for c in out_cams] == [(80, 60)] * 2
    assert images[0].shape == (60, 80, 3) and images[0].dtype == np.uint8
    assert (images[0][:, :40] == 0).all() and (images[0][:, 40:] == 200).all()  # area averaging keeps the edge
    assert depths[0].shape == (60, 80) and set(np.unique(depths[0])) <= {0.0, 2.0} and depths[1] is None
    same = downscale_views(cams, [image, image], None, 1)
    assert same[0] == cams and same[2] is None and same[1][0] is image
