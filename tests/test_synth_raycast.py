"""Ray–primitive intersections, the culling renderer against the pixel-loop reference, sensor noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracklift.synth import reference
from tracklift.synth.layout import build_scene
from tracklift.synth.noise import DepthNoise, apply_depth_noise
from tracklift.synth.primitives import Material, Part, PrimitiveScene, Room, SceneObject
from tracklift.synth.raycast import (
    intersect_box,
    intersect_cylinder,
    intersect_part,
    intersect_room,
    intersect_sphere,
    part_normals,
)
from tracklift.synth.render import intrinsics, render
from tracklift.synth.trajectory import camera_path, look_at

INF = math.inf
GREY = Material("solid", np.array([0.5, 0.5, 0.5]), np.array([0.5, 0.5, 0.5]))


def _t(fn, o, d, *args):
    return float(fn(np.array(o, float), np.array([d], float), *args)[0])


@pytest.mark.parametrize(
    "o, d, size, yaw, expected",
    [
        ((0, 0, -5), (0, 0, 1), (1, 1, 1), 0.0, 4.5),
        ((0, 0, -5), (0, 0, 2), (1, 1, 1), 0.0, 2.25),  # t is in units of the direction's length
        ((-5, 0, 0), (1, 0, 0), (2, 2, 2), np.pi / 4, 5 - math.sqrt(2)),  # hits the rotated box's edge
        ((0, 5, 0), (1, 0, 0), (1, 1, 1), 0.0, INF),
        ((0, 0, 0), (1, 0, 0), (1, 2, 3), 0.0, 0.5),  # from inside: the far face
        ((0, 0, 5), (0, 0, 1), (1, 1, 1), 0.0, INF),  # box behind the ray
    ],
)
def test_box_hand_cases(o, d, size, yaw, expected):
    c, s = np.zeros(3), np.array(size, float)
    assert _t(intersect_box, o, d, c, s, yaw) == pytest.approx(expected, abs=1e-12)
    assert reference.ray_box(np.array(o, float), np.array(d, float), c, s, yaw) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "o, d, expected",
    [
        ((-3, 0, 0), (1, 0, 0), 2.0),
        ((0, 0, 5), (0, 0, -1), 4.0),  # top cap
        ((0.5, 0, -5), (0, 0, 1), 4.0),  # bottom cap
        ((-3, 1.5, 0), (1, 0, 0), INF),
        ((0, 0, 0), (1, 0, 0), 1.0),
        ((-3, 0, 1.5), (1, 0, 0), INF),  # passes above
        ((-3, 0, 3), (1, 0, -1), 2.0),  # enters through the side at z = 1 (the rim)
    ],
)
def test_cylinder_hand_cases(o, d, expected):
    args = (np.zeros(3), 1.0, 2.0)
    assert _t(intersect_cylinder, o, d, *args) == pytest.approx(expected, abs=1e-12)
    assert reference.ray_cylinder(np.array(o, float), np.array(d, float), *args) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "o, d, expected", [((1, 1, -5), (0, 0, 1), 4.0), ((1, 1, 1), (0, 3, 0), 2 / 3), ((5, 5, 5), (1, 0, 0), INF)]
)
def test_sphere_hand_cases(o, d, expected):
    args = (np.array([1.0, 1.0, 1.0]), 2.0)
    assert _t(intersect_sphere, o, d, *args) == pytest.approx(expected, abs=1e-12)
    assert reference.ray_sphere(np.array(o, float), np.array(d, float), *args) == pytest.approx(expected, abs=1e-12)


def test_room_exit_faces():
    lo, hi = np.zeros(3), np.array([4.0, 3.0, 2.5])
    dirs = np.array([[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, -1], [0, 0, 2]])
    t, face = intersect_room(np.array([1.0, 1.0, 1.0]), dirs, lo, hi)
    np.testing.assert_allclose(t, [3, 1, 2, 1, 1, 0.75])
    np.testing.assert_array_equal(face, [1, 0, 3, 2, 4, 5])


def _random_part(rng: np.random.Generator, kind: str) -> Part:
    size = rng.uniform(0.5, 2.0, 3)
    if kind != "box":
        size[:2] = size[0]
    if kind == "sphere":
        size[:] = size[0]
    return Part(kind, rng.uniform(-1, 1, 3), size, GREY, yaw=float(rng.uniform(-np.pi, np.pi)))


@pytest.mark.parametrize("kind", ["box", "cylinder", "sphere"])
def test_vectorised_matches_reference(kind):
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(20):
        part = _random_part(rng, kind)
        origins = rng.uniform(-3, 3, (40, 3))
        # Aim half the rays at the part so hits and misses both occur.
        dirs = np.where(
            rng.random((40, 1)) < 0.5, part.center + rng.normal(0, 0.3, (40, 3)) - origins, rng.normal(size=(40, 3))
        )
        fast = intersect_part(origins, dirs, part)
        slow = np.array([reference.ray_part(o, d, part) for o, d in zip(origins, dirs)])
        np.testing.assert_array_equal(np.isinf(fast), np.isinf(slow))
        finite = np.isfinite(slow)
        np.testing.assert_allclose(fast[finite], slow[finite], rtol=1e-9, atol=1e-12)
        hits += finite.sum()
    assert 200 < hits < 700  # both hits and misses were exercised


@pytest.mark.parametrize("kind", ["box", "cylinder", "sphere"])
def test_normals_are_unit_and_outward(kind):
    rng = np.random.default_rng(1)
    part = _random_part(rng, kind)
    origins = part.center + rng.normal(size=(200, 3)) * 5
    dirs = part.center - origins + rng.normal(0, 0.1, (200, 3))
    t = intersect_part(origins, dirs, part)
    hit = np.isfinite(t)
    points = origins[hit] + dirs[hit] * t[hit, None]
    n = part_normals(points, part)
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-9)
    # Rays from outside meet the surface against its outward normal.
    assert ((n * dirs[hit]).sum(1) < 0).all()


def _one_box_scene() -> PrimitiveScene:
    box = Part("box", (0.0, 0.0, 1.5), (1.0, 1.0, 1.0), GREY)
    room = Room(
        np.array([-5.0, -5.0, 0.0]), np.array([5.0, 5.0, 3.0]), (2, 3, 4, 5, 6, 7), (1, 1, 1, 1, 3, 42), (GREY,) * 6
    )
    return PrimitiveScene(room, (SceneObject(1, "box", 26, (box,)),), np.array([0.0, 0.0, 2.7]))


def test_depth_of_a_box_is_its_analytic_distance():
    K = intrinsics(64, 48)
    pose = look_at(np.array([0.0, -3.0, 1.5]), np.array([0.0, 0.0, 1.5]))
    out = render(_one_box_scene(), K, pose, 64, 48)
    on_box = out.instance == 1
    # The front face is 2.5 m away and faces the camera, so its z-depth is 2.5 everywhere.
    np.testing.assert_allclose(out.depth[on_box], 2.5, atol=1e-6)
    side_px = K[0, 0] * 1.0 / 2.5
    assert abs(on_box.sum() - side_px**2) < 4 * side_px + 4
    assert (out.semantic[on_box] == 26).all()
    # Behind the box is the +y wall, 8 m away along the optical axis.
    assert out.depth[out.instance == 5] == pytest.approx(8.0, abs=1e-5)
    assert (out.depth > 0).all() and (out.instance > 0).all()
    # The face is perpendicular to the optical axis: |cos| = 1 / |(x/z, y/z, 1)|.
    u, v = np.meshgrid((np.arange(64) - K[0, 2]) / K[0, 0], (np.arange(48) - K[1, 2]) / K[1, 1])
    np.testing.assert_allclose(out.cos_incidence[on_box], (1 / np.sqrt(u**2 + v**2 + 1))[on_box], atol=1e-6)


def test_culling_renderer_matches_pixel_loop():
    scene = build_scene(2, 8)
    K = intrinsics(16, 12)
    for pose in camera_path(scene, 3, 2):
        fast = render(scene, K, pose, 16, 12)
        depth, instance = reference.render_depth_instance(scene, K, pose, 16, 12)
        np.testing.assert_array_equal(fast.instance, instance)
        np.testing.assert_allclose(fast.depth, depth, rtol=1e-6)


def test_render_labels_every_pixel_and_is_deterministic():
    scene = build_scene(5, 10)
    K = intrinsics(32, 24)
    pose = camera_path(scene, 2, 5)[1]
    a, b = render(scene, K, pose, 32, 24), render(scene, K, pose, 32, 24)
    assert a.color.dtype == np.uint8 and a.color.shape == (24, 32, 3)
    assert (a.instance > 0).all() and (a.depth > 0).all()
    for field in ("depth", "instance", "semantic", "color"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    labels = scene.label_of_instance()
    for inst in np.unique(a.instance):
        assert (a.semantic[a.instance == inst] == labels[int(inst)][1]).all()


def test_depth_noise_model():
    rng = np.random.default_rng(0)
    depth = np.full((96, 128), 3.0, np.float32)
    depth[:, 64:] = 1.0  # a discontinuity at column 64
    depth[:4] = 7.0  # beyond the range
    cos = np.ones_like(depth)
    cos[-4:] = 0.05  # grazing rows
    params = DepthNoise()
    noisy = apply_depth_noise(depth, cos, rng, params)
    assert noisy.dtype == np.float32 and noisy.shape == depth.shape
    assert (noisy[:4] == 0).all() and (noisy[-4:] == 0).all()
    assert (noisy[10:-10, 63:65] == 0).mean() > 0.4
    far = noisy[10:-10, 10:50]
    valid = far[far > 0]
    sigma = params.sigma_base + params.sigma_quad * (3.0 - 0.4) ** 2
    assert abs(valid.mean() - 3.0) < 3 * sigma
    assert 0.5 * sigma < valid.std() < 1.5 * sigma
    assert 0.0 < (far == 0).mean() < 0.02  # random dropout only
    np.testing.assert_array_equal(noisy, apply_depth_noise(depth, cos, np.random.default_rng(0), params))
    with pytest.raises(ValueError, match="cos_incidence"):
        apply_depth_noise(depth, cos[:-1], rng)
