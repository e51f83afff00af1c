import numpy as np
import pytest

from tracklift.lift.projection import depth_edges, depth_edges_reference, pixels_to_world, project, reliable_pixels

K = np.array([[2.0, 0.0, 1.0], [0.0, 4.0, 0.5], [0.0, 0.0, 1.0]])


def test_backproject_exact_on_hand_case():
    pose = np.eye(4)
    pose[:3, 3] = [10.0, 0.0, 0.0]
    # pixel (u=3, v=0.5) at z=2: x = (3-1)/2*2 = 2, y = 0
    p = pixels_to_world(np.array([3, 1]), np.array([0.5, 2.5]), np.array([2.0, 1.0]), K, pose)
    np.testing.assert_allclose(p, [[12.0, 0.0, 2.0], [10.0, 0.5, 1.0]])


def test_backproject_and_project_match_matrix_reference():
    # The column-wise kernels against the plain homogeneous-matrix formulas.
    rng = np.random.default_rng(1)
    R, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = R, rng.normal(size=3)
    u, v, z = rng.uniform(0, 5, 50), rng.uniform(0, 5, 50), rng.uniform(0.5, 3, 50)
    cam = np.linalg.inv(K) @ np.stack([u * z, v * z, z])
    world = (pose @ np.vstack([cam, np.ones(50)]))[:3].T
    np.testing.assert_allclose(pixels_to_world(u, v, z, K, pose), world, atol=1e-5)
    pix = K @ (np.linalg.inv(pose) @ np.vstack([world.T, np.ones(50)]))[:3]
    uu, vv, zz = project(world, K, pose)
    np.testing.assert_allclose(np.stack([uu, vv, zz]), np.stack([pix[0] / pix[2], pix[1] / pix[2], pix[2]]), atol=1e-9)


def test_project_inverts_backproject():
    rng = np.random.default_rng(0)
    a = rng.normal(size=3)
    R, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = R * np.sign(np.linalg.det(R)), a
    u, v, z = rng.uniform(0, 5, 20), rng.uniform(0, 5, 20), rng.uniform(0.5, 3, 20)
    uu, vv, zz = project(pixels_to_world(u, v, z, K, pose), K, pose)
    np.testing.assert_allclose(np.stack([uu, vv, zz]), np.stack([u, v, z]), atol=1e-4)


def test_depth_edges_match_reference():
    rng = np.random.default_rng(1)
    depth = rng.uniform(1, 2, (9, 11)).astype(np.float32)
    depth[2:5, 3:8] = 4.0
    depth[7, 1] = 0.0
    for ratio in (0.05, 0.3, 2.0):
        np.testing.assert_array_equal(depth_edges(depth, ratio), depth_edges_reference(depth, ratio))


def test_reliable_pixels_drop_invalid_range_and_edges():
    depth = np.full((6, 6), 2.0, np.float32)
    depth[:, 4:] = 3.0  # a depth step between columns 3 and 4
    depth[0, 0] = 0.0
    ok = reliable_pixels(depth, 0.1, 8.0, 0.05)
    assert not ok[0, 0] and not ok[1, 1]  # invalid, and beside the invalid pixel
    assert not ok[3, 3] and not ok[3, 4]  # both sides of the step
    assert ok[3, 1] and ok[3, 5] and ok[5, 2]
    assert not reliable_pixels(depth, 0.1, 2.5, 0.05)[3, 5]


@pytest.mark.parametrize("shape", [(1, 1), (2, 3)])
def test_depth_edges_tiny_images(shape):
    depth = np.ones(shape, np.float32)
    assert not depth_edges(depth, 0.01).any()
