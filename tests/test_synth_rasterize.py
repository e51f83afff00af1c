"""The z-buffer id rasterizer: against its reference, on a hand-computed triangle and by depth order."""

from __future__ import annotations

import numpy as np
import pytest

from tracklift.synth.rasterize import rasterize_ids, rasterize_ids_reference

K = np.array([[20.0, 0.0, 9.5], [0.0, 20.0, 7.5], [0.0, 0.0, 1.0]])  # 20×16 pixels


def test_kernel_matches_reference_on_random_triangles():
    rng = np.random.default_rng(1)
    vertices = np.concatenate([rng.uniform(-0.6, 0.6, (60, 2)), rng.uniform(0.5, 2.0, (60, 1))], 1).astype(np.float32)
    vertices[:3, 2] = 0.01  # one triangle behind the near plane
    faces = rng.integers(0, 60, (40, 3))
    faces[0] = [0, 1, 2]
    ids = rng.integers(1, 9, 60)
    pose = np.eye(4)
    fast = rasterize_ids(vertices, faces, ids, K, pose, 20, 16)
    slow = rasterize_ids_reference(vertices, faces, ids, K, pose, 20, 16)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_allclose(fast[1], slow[1], rtol=1e-12)
    assert (fast[0] > 0).sum() > 50


def test_hand_computed_triangle_and_depth_order():
    # A right triangle at z = 1 covering pixels u >= 9.5 - ... : corners project to (9.5, 7.5), (19.5, 7.5), (9.5,
    # 17.5).
    near = np.array([[0.0, 0.0, 1.0], [0.5, 0.0, 1.0], [0.0, 0.5, 1.0]], np.float32)
    far = np.array([[-1.0, -1.0, 2.0], [3.0, -1.0, 2.0], [-1.0, 3.0, 2.0]], np.float32)  # covers the whole image
    vertices = np.concatenate([far, near])
    faces = np.array([[0, 1, 2], [3, 4, 5]])
    ids = np.array([7, 7, 7, 2, 2, 2])
    out, depth = rasterize_ids(vertices, faces, ids, K, np.eye(4), 20, 16)
    u, v = np.meshgrid(np.arange(20), np.arange(16))
    covered = (u >= 9.5) & (v >= 7.5) & ((u - 9.5) + (v - 7.5) <= 10)
    np.testing.assert_array_equal(out, np.where(covered, 2, 7))
    np.testing.assert_allclose(depth, np.where(covered, 1.0, 2.0), rtol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="one per vertex"):
        rasterize_ids(np.zeros((3, 3)), np.array([[0, 1, 2]]), np.zeros(2, np.int64), K, np.eye(4), 4, 4)
