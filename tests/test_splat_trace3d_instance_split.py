"""GIT-guided density control: ambiguity test, two-child split, pruning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.splat_toy import look_at, render_ids, toy_cameras, toy_gaussians
from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians
from tracklift.splat.trace3d.closed_form import with_background
from tracklift.splat.trace3d.instance_split import (
    SplitPruneConfig,
    ambiguous_gaussians,
    refit,
    split_and_prune,
    split_in_two,
)
from tracklift.splat.trace3d.tracing import InstanceTrace, trace_instances
from tracklift.trace.table import TraceTable


@pytest.fixture(scope="module")
def scene():
    g, obj = toy_gaussians(spacing=0.14)
    cams = toy_cameras(4)
    maps = with_background([render_ids(g, obj, c, 3) for c in cams])[0]
    return g, obj, cams, maps


def one_gaussian(scales=(0.4, 0.1, 0.1), quat=(1.0, 0.0, 0.0, 0.0)) -> Gaussians:
    return Gaussians(
        torch.zeros(1, 3),
        torch.log(torch.tensor([scales])),
        torch.tensor([quat]),
        torch.zeros(1),
        torch.zeros(1, 1, 3),
    )


def test_split_in_two_hand_case():
    children = split_in_two(one_gaussian())
    assert children.n == 2
    torch.testing.assert_close(children.means, torch.tensor([[0.4, 0.0, 0.0], [-0.4, 0.0, 0.0]]))
    torch.testing.assert_close(children.scales, torch.tensor([[0.2, 0.1, 0.1], [0.2, 0.1, 0.1]]))


def test_split_follows_rotation():
    # 90° about z: the local x axis (the longest) points along world y.
    c = math.cos(math.pi / 4)
    children = split_in_two(one_gaussian(quat=(c, 0.0, 0.0, c)))
    torch.testing.assert_close(children.means, torch.tensor([[0.0, 0.4, 0.0], [0.0, -0.4, 0.0]]), atol=1e-6, rtol=0)


def sides_of_y0(cam: Camera) -> np.ndarray:
    """Label map of a view onto the ground plane z = 0: 0 where world y > 0, 1 where y <= 0."""
    v, u = np.mgrid[0 : cam.height, 0 : cam.width]
    rays = np.stack([u, v, np.ones_like(u)], -1).reshape(-1, 3) @ np.linalg.inv(cam.K).T @ cam.pose[:3, :3].T
    eye = cam.center
    ground = eye + rays * (-eye[2] / rays[:, 2])[:, None]
    return np.where(ground[:, 1] > 0, 0, 1).reshape(cam.height, cam.width)


@pytest.mark.parametrize("split_axes", [1, 2])
def test_split_tries_the_axis_across_the_boundary(split_axes):
    # A flat Gaussian lying on the ground, long along x, straddling the label boundary y = 0 (which runs
    # along x): halving its longest axis leaves both children on the boundary, its second axis crosses it.
    g = one_gaussian(scales=(0.4, 0.2, 0.01))
    g.opacity_logits = torch.tensor([3.0])
    K = np.array([[60.0, 0, 31.5], [0, 60.0, 23.5], [0, 0, 1]])
    cams = [
        Camera(K, look_at(np.array(eye), np.zeros(3)), 64, 48)
        for eye in ((0.3, 0.2, 3), (-0.2, 0.3, 3), (0.1, -0.3, 3))
    ]
    maps = [sides_of_y0(c) for c in cams]
    assert all(set(np.unique(m)) == {0, 1} for m in maps)
    out, report = split_and_prune(g, cams, maps, SplitPruneConfig(split_axes=split_axes))
    assert report["ambiguous"] == 1
    if split_axes == 1:  # both children still straddle the boundary: pruned
        assert report["split"] == 1 and report["pruned_children"] == 2 and out.n == 0
    else:
        assert report["pruned_children"] == 0 and out.n == 2
        torch.testing.assert_close(out.means.abs(), torch.tensor([[0.0, 0.2, 0.0]] * 2), atol=1e-6, rtol=0)
        torch.testing.assert_close(out.scales, torch.tensor([[0.4, 0.1, 0.01]] * 2))


def test_split_axes_must_be_an_axis_count():
    with pytest.raises(ValueError, match="split_axes must be 1, 2 or 3"):
        SplitPruneConfig(split_axes=4)


def test_ambiguous_gaussians_exact():
    table = TraceTable()
    # Gaussian 0: views 0 and 1 split 50/50 (ambiguous twice of two); Gaussian 1: 90/10 in view 0 only;
    # Gaussian 2: 70/30 in one of three views (1/3 < 0.4); Gaussian 3: never seen.
    table.append(0, [0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1], [1, 1, 9, 1, 7, 3])
    table.append(1, [0, 0, 2], [2, 3, 2], [2, 2, 1])
    table.append(2, [2], [4], [1])
    trace = InstanceTrace(table, np.array([0, 2, 4, 5]), 4, "alpha")
    ambiguous, seen = ambiguous_gaussians(trace, 0.8, 0.4)
    assert ambiguous.tolist() == [True, False, False, False]
    assert seen.tolist() == [True, True, True, False]


@pytest.mark.parametrize("keep_unresolved", [False, True])
def test_split_and_prune_reduces_ambiguity(scene, keep_unresolved):
    g, _, cams, maps = scene
    cfg = SplitPruneConfig(keep_unresolved=keep_unresolved)
    before, _ = ambiguous_gaussians(trace_instances(g, cams, maps), cfg.min_share, cfg.max_ambiguous)
    g2, report = split_and_prune(g, cams, maps, cfg)
    after, seen = ambiguous_gaussians(trace_instances(g2, cams, maps), cfg.min_share, cfg.max_ambiguous)
    assert report["split"] + report["restored"] == before.sum() > 0
    assert (report["restored"] > 0) == keep_unresolved
    expected = report["before"] + report["split"] - report["pruned_children"] - report["pruned_unseen"]
    assert report["after"] == g2.n == expected
    assert after.sum() < before.sum() or keep_unresolved
    assert seen.all()


def test_unseen_gaussians_are_pruned(scene):
    g, _, cams, maps = scene
    far = g.index(torch.tensor([0]))
    far.means = torch.tensor([[0.0, 0.0, 50.0]])  # above every camera, out of every view
    g_far = g.cat(far)
    g2, report = split_and_prune(g_far, cams[:2], maps[:2], SplitPruneConfig(max_ambiguous=1.0))
    assert report["split"] == 0 and report["pruned_unseen"] >= 1
    assert not torch.any(g2.means[:, 2] > 10)
    g3, report3 = split_and_prune(g_far, cams[:2], maps[:2], SplitPruneConfig(max_ambiguous=1.0, prune_unseen=False))
    assert report3["pruned_unseen"] == 0 and g3.n == g_far.n


def test_input_is_not_modified(scene):
    g, _, cams, maps = scene
    means = g.means.clone()
    split_and_prune(g, cams, maps)
    assert torch.equal(g.means, means)


def test_refit_keeps_the_count_and_moves_parameters(scene):
    from tracklift.splat.render.rasterizer import rasterize

    g, _, cams, _ = scene
    with torch.no_grad():
        images = [(rasterize(g, c).color.clamp(0, 1) * 255).to(torch.uint8).numpy() for c in cams]
    dimmer = g.clone()
    dimmer.sh = dimmer.sh * 0.5
    out = refit(dimmer, cams[:2], images[:2], iterations=3)
    assert out.n == g.n  # densification is off
    assert not torch.equal(out.sh, dimmer.sh)
    assert torch.equal(dimmer.sh, g.sh * 0.5)  # input untouched


def test_bad_label_maps_raise(scene):
    g, _, cams, maps = scene
    with pytest.raises(ValueError, match="one label map per camera"):
        split_and_prune(g, cams, maps[:1])
