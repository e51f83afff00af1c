"""View selection and highlighted crops (classify.views, classify.crops)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.classify.crops import CropConfig, crop_view, crop_views, highlight
from tracklift.classify.views import (
    View,
    ViewConfig,
    point_spacing,
    project_visible,
    project_visible_reference,
    rasterise_mask,
    select_views,
)
from tracklift.core.instance import Instance3D
from tracklift.data.frame import Frame

H, W = 48, 64
K = np.array([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]])


def square_points(
    cx: float = 0.0, cy: float = 0.0, z: float = 2.0, half: float = 0.3, step: float = 0.02
) -> np.ndarray:
    """A flat square of points facing the camera: [N, 3] float32."""
    g = np.arange(-half, half + 1e-9, step)
    x, y = np.meshgrid(cx + g, cy + g)
    return np.stack([x.ravel(), y.ravel(), np.full(x.size, z)], 1).astype(np.float32)


def render_depth(points_and_z: list[tuple[np.ndarray, float]], background: float = 3.0) -> np.ndarray:
    """Depth image of squares (their points' bounding boxes) over a background plane, camera at the origin."""
    depth = np.full((H, W), background, np.float32)
    for pts, z in sorted(points_and_z, key=lambda t: -t[1]):
        u = K[0, 0] * pts[:, 0] / pts[:, 2] + K[0, 2]
        v = K[1, 1] * pts[:, 1] / pts[:, 2] + K[1, 2]
        u0, u1 = int(np.clip(np.floor(u.min()), 0, W)), int(np.clip(np.ceil(u.max()) + 1, 0, W))
        v0, v1 = int(np.clip(np.floor(v.min()), 0, H)), int(np.clip(np.ceil(v.max()) + 1, 0, H))
        depth[v0:v1, u0:u1] = z
    return depth


def make_frame(depth: np.ndarray, index: int = 0, pose: np.ndarray | None = None, seed: int = 0) -> Frame:
    color = np.random.default_rng(seed).integers(0, 255, (H, W, 3), dtype=np.uint8)
    return Frame(
        color=color, depth=depth, K=K.copy(), pose=np.eye(4) if pose is None else pose, name=str(index), index=index
    )


def test_project_visible_hand_computed():
    # Point straight ahead at 2 m lands on the principal point; one behind the surface is hidden.
    frame = make_frame(np.full((H, W), 2.0, np.float32))
    pts = np.array([[0, 0, 2.0], [0, 0, 2.5], [0, 0, -1.0], [10, 0, 2.0]], np.float32)
    uv, visible = project_visible(pts, frame)
    assert uv[0].tolist() == [32, 24]
    assert visible.tolist() == [True, False, False, False]


def test_invalid_depth_is_not_visible():
    depth = np.zeros((H, W), np.float32)
    _, visible = project_visible(np.array([[0, 0, 2.0]], np.float32), make_frame(depth))
    assert not visible.any()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 0.3))
def test_project_visible_matches_reference(seed, tol):
    rng = np.random.default_rng(seed)
    pts = rng.uniform([-2, -2, -1], [2, 2, 5], (200, 3)).astype(np.float32)
    depth = rng.uniform(0, 4, (H, W)).astype(np.float32)
    depth[rng.random((H, W)) < 0.1] = 0
    angle = rng.uniform(-0.3, 0.3)
    pose = np.eye(4)
    pose[:3, :3] = [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    pose[:3, 3] = rng.uniform(-0.5, 0.5, 3)
    frame = make_frame(depth, pose=pose)
    config = ViewConfig(depth_tolerance=tol)
    _, fast = project_visible(pts, frame, config)
    np.testing.assert_array_equal(fast, project_visible_reference(pts, frame, config))


def test_select_views_ranks_unoccluded_and_large_first():
    obj = square_points()
    occluder = square_points(cx=-0.2, z=1.0, half=0.2)
    clear = make_frame(render_depth([(obj, 2.0)]), index=0)
    blocked = make_frame(render_depth([(obj, 2.0), (occluder, 1.0)]), index=1)
    # Same object seen from 1 m further back: fully visible but smaller.
    far_pose = np.eye(4)
    far_pose[2, 3] = -1.0
    far = make_frame(
        render_depth([(obj + np.array([0, 0, 1.0], np.float32), 3.0)], background=4.0), index=2, pose=far_pose
    )
    inst = Instance3D(id=7, points=obj)
    views = select_views([inst], [clear, blocked, far], ViewConfig(top_k=3))[7]
    assert [v.frame for v in views] == [0, 2, 1]
    assert views[0].visible_fraction == pytest.approx(1.0)
    assert 0.2 < views[2].visible_fraction < 0.9
    assert views[0].area_fraction > views[1].area_fraction
    for v in views:
        assert v.patch.shape[:2] == v.mask.shape and v.patch.dtype == np.uint8 and v.mask.dtype == bool
        assert v.quality == pytest.approx(v.visible_fraction * np.sqrt(v.area_fraction))


def test_select_views_top_k_unseen_and_several_instances():
    a, b = square_points(cx=-0.4, half=0.15), square_points(cx=0.4, half=0.15)
    frames = [make_frame(render_depth([(a, 2.0), (b, 2.0)]), index=i, seed=i) for i in range(4)]
    hidden = Instance3D(id=3, points=square_points(z=-2.0))  # behind the camera
    out = select_views([Instance3D(id=1, points=a), Instance3D(id=2, points=b), hidden], frames, ViewConfig(top_k=2))
    assert len(out[1]) == 2 and len(out[2]) == 2 and out[3] == []
    # Equal quality: ties keep the earlier frames.
    assert [v.frame for v in out[1]] == [0, 1]


def test_view_mask_is_solid_over_the_object():
    obj = square_points(step=0.05)  # sparse: 2.5 px between points at 2 m
    frame = make_frame(render_depth([(obj, 2.0)]))
    (view,) = select_views([Instance3D(id=0, points=obj)], [frame], ViewConfig(top_k=1))[0]
    x0, y0, x1, y1 = view.bbox
    ox, oy = view.patch_origin
    inner = view.mask[y0 - oy + 2 : y1 - oy - 2, x0 - ox + 2 : x1 - ox - 2]
    assert inner.all()
    assert not view.mask[0, 0]


def test_select_views_rejects_bad_points():
    bad = Instance3D(id=5, points=np.zeros((4, 3)))
    bad.points = np.zeros((4, 2))  # Instance3D reshapes on construction; break it afterwards
    with pytest.raises(ValueError, match=r"instance 5 points must be \[N, 3\]"):
        select_views([bad], [], ViewConfig())
    with pytest.raises(ValueError, match=r"points must be \[N, 3\]"):
        project_visible(np.zeros(3), make_frame(np.ones((H, W), np.float32)))


def test_rasterise_mask_closes_gaps():
    uv = np.array([[10, 10], [14, 10], [10, 14], [14, 14]])
    mask = rasterise_mask(uv, (H, W), radius=3)
    assert mask[12, 12] and mask[10, 10] and not mask[30, 30]
    assert rasterise_mask(uv, (H, W), radius=0).sum() == 4 * 5  # isolated pixels grown by a 3x3 ellipse (a plus sign)


def test_point_spacing_on_a_grid():
    assert point_spacing(square_points(step=0.02)) == pytest.approx(0.02, rel=1e-4)
    assert point_spacing(np.zeros((1, 3))) == 0.0


def _view(h: int = 20, w: int = 30, bbox=(5, 4, 15, 12), origin=(0, 0)) -> View:
    patch = np.full((h, w, 3), 200, np.uint8)
    mask = np.zeros((h, w), bool)
    x0, y0, x1, y1 = bbox
    mask[y0 - origin[1] : y1 - origin[1], x0 - origin[0] : x1 - origin[0]] = True
    return View(
        frame=0,
        visible_fraction=1.0,
        area_fraction=0.1,
        quality=0.3,
        bbox=bbox,
        patch=patch,
        patch_origin=origin,
        mask=mask,
    )


def test_highlight_dims_background_and_outlines():
    v = _view()
    out = highlight(v.patch, v.mask, CropConfig(dim=0.5))
    assert out[0, 0].tolist() == [100, 100, 100]
    assert out[4, 5].tolist() == [255, 0, 0]  # mask corner: on the outline
    assert out[8, 10].tolist() == [200, 200, 200]  # mask interior untouched
    with pytest.raises(ValueError, match="patch"):
        highlight(v.patch[:5], v.mask)


@pytest.mark.parametrize("scale", [1.0, 1.5, 2.0, 3.0])
def test_crop_view_shapes_and_border_padding(scale):
    v = _view()
    crop = crop_view(v, scale, CropConfig(size=32, outline=False, dim=1.0))
    assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8
    # bbox is 10 wide, centred at x=10: at scale 3 the square runs from x=-5, past the patch's left edge.
    if scale == 3.0:
        assert crop[16, 0].tolist() == [0, 0, 0]
    else:
        assert crop[16, 16].tolist() == [200, 200, 200]


def test_crop_views_weights_and_bad_scale():
    crops, weights = crop_views([_view(), _view()], CropConfig(scales=(1.0, 2.0), size=16))
    assert len(crops) == 4 and weights.tolist() == [0.3] * 4
    with pytest.raises(ValueError, match="scale"):
        crop_view(_view(), 0.0)
