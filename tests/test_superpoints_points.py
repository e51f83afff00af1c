"""Mesh-free superpoints on point clouds."""

from __future__ import annotations

import numpy as np
import pytest

from tracklift.superpoints.pointcloud import (
    PointSuperpointConfig,
    point_normals,
    point_normals_reference,
    segment_points,
)


def box_surface(lo, hi, per_m2: float, rng: np.random.Generator) -> np.ndarray:
    """Points sampled uniformly on the sides of an axis-aligned box (bottom side left out)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    sides = []
    for axis in range(3):
        other = [i for i in range(3) if i != axis]
        for value in (lo[axis], hi[axis]):
            if axis == 2 and value == lo[2]:
                continue
            m = int(np.prod(hi[other] - lo[other]) * per_m2)
            p = np.empty((m, 3))
            p[:, axis] = value
            p[:, other] = rng.uniform(lo[other], hi[other], (m, 2))
            sides.append(p)
    return np.concatenate(sides)


def box_on_floor(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 0.4 m box standing on a 1.6 m floor, 2 mm noise. Returns points [N, 3] and [N] 0 floor / 1 box."""
    rng = np.random.default_rng(seed)
    floor = np.c_[rng.uniform(-0.8, 0.8, (3000, 2)), np.zeros(3000)]
    box = box_surface([-0.2, -0.2, 0.0], [0.2, 0.2, 0.4], 3000, rng)
    points = np.concatenate([floor, box]) + rng.normal(0, 0.002, (len(floor) + len(box), 3))
    return points.astype(np.float32), np.r_[np.zeros(len(floor), int), np.ones(len(box), int)]


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    """Share of points whose superpoint's majority truth class is their own."""
    _, inverse = np.unique(labels, return_inverse=True)
    table = np.zeros((inverse.max() + 1, truth.max() + 1), int)
    np.add.at(table, (inverse, truth), 1)
    return table.max(axis=1).sum() / len(labels)


def test_box_on_floor_splits_into_floor_and_sides():
    points, truth = box_on_floor()
    labels = segment_points(points)
    assert labels.shape == (len(points),) and labels.dtype == np.int64
    # Measured 0.990: the points mislabelled are those within a neighbourhood of the box's foot.
    assert purity(labels, truth) > 0.98
    sizes = np.sort(np.unique(labels, return_counts=True)[1])[::-1]
    assert sizes[0] > 0.9 * (truth == 0).sum()  # the floor is (nearly all, measured 92 %) one superpoint
    assert np.all(sizes[1:6] > 300)  # then the five visible sides of the box, ~480 points each
    assert np.unique(labels, return_counts=True)[1].min() >= 20
    np.testing.assert_array_equal(labels, segment_points(points))


def test_colour_splits_a_coplanar_patch_only_when_asked():
    rng = np.random.default_rng(1)
    points = np.c_[rng.uniform(0, 1, (2000, 2)), np.zeros(2000)].astype(np.float32)
    colors = np.where(points[:, :1] < 0.5, [[200, 30, 30]], [[30, 30, 200]]).astype(np.uint8)
    assert len(np.unique(segment_points(points, colors))) == 1
    labels = segment_points(points, colors, PointSuperpointConfig(color_weight=1.0))
    left = points[:, 0] < 0.5
    assert len(np.unique(labels)) == 2
    assert len(np.unique(labels[left])) == 1 and len(np.unique(labels[~left])) == 1


def test_max_edge_length_keeps_separate_surfaces_apart():
    rng = np.random.default_rng(2)
    sheet = np.c_[rng.uniform(0, 0.5, (2000, 2)), np.zeros(2000)]
    points = np.concatenate([sheet, sheet + [0.54, 0, 0]]).astype(np.float32)  # coplanar, 4 cm apart
    labels = segment_points(points, config=PointSuperpointConfig(knn=40, max_edge_length=0.03))
    assert len(np.unique(labels)) == 2 and labels[0] != labels[2000]
    # Without the limit, 40-NN edges reach across the gap and equal normals join the two sheets.
    assert len(np.unique(segment_points(points, config=PointSuperpointConfig(knn=40)))) == 1


def test_normals_match_reference():
    rng = np.random.default_rng(3)
    direction = rng.normal(size=(300, 3))
    points = (direction / np.linalg.norm(direction, axis=1, keepdims=True)).astype(np.float32)
    fast = point_normals(points, knn=8, viewpoint=np.zeros(3))
    slow = point_normals_reference(points, knn=8, viewpoint=np.zeros(3))
    assert fast.shape == (300, 3) and fast.dtype == np.float32
    # Both are the least-variance axis of the same 9 points (eigh vs SVD): measured equal in float32.
    np.testing.assert_allclose(fast, slow, atol=1e-5)
    # On a unit sphere seen from its centre, normals point inwards, along -position.
    assert np.all(np.einsum("ni,ni->n", fast, points) < -0.95)


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_tiny_clouds(n):
    points = np.random.default_rng(4).normal(size=(n, 3)).astype(np.float32)
    labels = segment_points(points)
    assert labels.shape == (n,)
    if n > 1:
        assert len(np.unique(labels)) == 1  # fewer points than min_points: all merged


def test_duplicate_points():
    points, _ = box_on_floor()
    doubled = np.concatenate([points, points[:500]])
    labels = segment_points(doubled)
    np.testing.assert_array_equal(labels[len(points) :] == labels[:500], True)


@pytest.mark.parametrize(
    ("points", "colors", "match"),
    [
        (np.zeros((10, 2)), None, "points must be"),
        (np.full((10, 3), np.inf), None, "NaN or infinite"),
        (np.zeros((10, 3)), np.zeros((9, 3)), "colors must be"),
    ],
)
def test_bad_input_raises(points, colors, match):
    with pytest.raises(ValueError, match=match):
        segment_points(points, colors)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"knn": 0}, "knn"),
        ({"k_thresh": 0.0}, "k_thresh"),
        ({"min_points": -1}, "min_points"),
        ({"max_edge_length": 0.0}, "max_edge_length"),
        ({"color_weight": -1.0}, "color_weight"),
    ],
)
def test_bad_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PointSuperpointConfig(**kwargs)
