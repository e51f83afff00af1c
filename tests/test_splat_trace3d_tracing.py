"""Gaussian Instance Tracing: the instance weight matrix and the signatures read from it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.splat_toy import render_ids, toy_cameras, toy_gaussians, toy_scene
from tracklift.splat.render.rasterizer import rasterize, trace_weights
from tracklift.splat.trace3d.tracing import (
    check_label_maps,
    owned_weights,
    pixel_areas,
    signatures,
    signatures_reference,
    trace_instances,
    view_distributions,
)


@pytest.fixture(scope="module")
def scene():
    return toy_scene(4)


def test_trace_matches_per_view_weights(scene):
    g, _, cams, maps = scene
    trace = trace_instances(g, cams, maps)
    assert trace.n_views == 4
    assert trace.n_labels == sum(int(m.max()) + 1 for m in maps)
    for v, (cam, lab) in enumerate(zip(cams, maps)):
        expected = trace_weights(g, cam, torch.as_tensor(lab), int(lab.max()) + 1).numpy()
        np.testing.assert_allclose(trace.view_matrix(v), expected, rtol=1e-6)
    assert np.array_equal(trace.view_of_label(), np.repeat(np.arange(4), np.diff(trace.offsets)))


def test_label_mass_equals_rendered_alpha(scene):
    g, _, cams, maps = scene
    trace = trace_instances(g, cams, maps)
    W = trace.matrix()
    for v, (cam, lab) in enumerate(zip(cams, maps)):
        alpha = rasterize(g, cam).alpha.numpy()
        cols = W[:, trace.offsets[v] : trace.offsets[v + 1]].sum(axis=0).A.ravel()
        for k in range(len(cols)):
            assert cols[k] == pytest.approx(alpha[lab == k].sum(), rel=1e-4)


def test_count_mode_counts_pixels(scene):
    g, _, cams, maps = scene
    trace = trace_instances(g, cams[:1], maps[:1], mode="count")
    w = trace.view_matrix(0)
    assert np.all(w == np.round(w))
    # No Gaussian can touch more pixels of a label than the label has.
    assert np.all(w.max(axis=0) <= np.bincount(maps[0][maps[0] >= 0]))


def test_objects_dominate_their_own_labels(scene):
    g, obj, cams, maps = scene
    trace = trace_instances(g, cams, maps)
    for v in range(len(cams)):
        w = trace.view_matrix(v)
        for k in range(w.shape[1]):
            share = np.bincount(obj, weights=w[:, k], minlength=3) / w[:, k].sum()
            # Boundary Gaussians of a neighbour bleed into small labels; measured worst case here: 0.79.
            assert share.argmax() == k and share[k] > 0.7


def test_signatures_match_reference(scene):
    g, _, cams, maps = scene
    trace = trace_instances(g, cams[:3], maps[:3])
    rng = np.random.default_rng(0)
    weights = rng.random((g.n, 4)) * (rng.random((g.n, 4)) < 0.3)
    sig, mass = signatures(trace, weights)
    ref_sig, ref_mass = signatures_reference(trace, weights)
    np.testing.assert_allclose(sig, ref_sig, atol=1e-10)
    np.testing.assert_allclose(mass, ref_mass, atol=1e-10)


def test_signature_blocks_sum_to_one(scene):
    g, obj, cams, maps = scene
    trace = trace_instances(g, cams, maps)
    sig, mass = signatures(trace, trace.matrix())
    view = trace.view_of_label()
    for v in range(trace.n_views):
        sums = sig[:, view == v].sum(axis=1)
        np.testing.assert_allclose(sums[mass[:, v] > 0], 1.0, atol=1e-9)
        assert np.all(sums[mass[:, v] == 0] == 0)
    # A label of view 0 lands mostly on the same object's label in view 1.
    lab0 = int(maps[0][maps[0] >= 0][0])
    obj_of_label1 = [np.bincount(obj[trace.view_matrix(1)[:, k] > 0]).argmax() for k in range(int(maps[1].max()) + 1)]
    best = int(np.argmax(sig[trace.offsets[0] + lab0, trace.offsets[1] : trace.offsets[2]]))
    obj0 = np.bincount(obj[trace.view_matrix(0)[:, lab0] > 0]).argmax()
    assert obj_of_label1[best] == obj0


def test_owned_weights_match_loop(scene):
    g, _, cams, maps = scene
    trace = trace_instances(g, cams[:2], maps[:2])
    W = trace.matrix().toarray()
    expected = np.zeros_like(W)
    for v in range(2):
        cols = slice(trace.offsets[v], trace.offsets[v + 1])
        for gi in range(g.n):
            total = W[gi, cols].sum()
            if total > 0:
                expected[gi, cols] = W[gi, cols] * W[gi, cols] / total
    np.testing.assert_allclose(owned_weights(trace).toarray(), expected, rtol=1e-12)


def test_visibility_in_unit_interval(scene):
    g, _, cams, maps = scene
    D, vis = view_distributions(trace_instances(g, cams, maps))
    assert vis.shape == (g.n, 4)
    assert np.all((vis >= 0) & (vis <= 1 + 1e-12))
    seen = vis.max(axis=1) > 0
    np.testing.assert_allclose(vis.max(axis=1)[seen], 1.0)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_relabelling_permutes_columns(seed):
    g, obj = toy_gaussians(spacing=0.2)
    cams = toy_cameras(2, 32, 24)
    maps = [render_ids(g, obj, c, 3) for c in cams]
    perm = np.random.default_rng(seed).permutation(3)
    permuted = [np.where(m >= 0, perm[np.maximum(m, 0)], -1) for m in maps]
    a = trace_instances(g, cams, maps, num_labels=[3, 3])
    b = trace_instances(g, cams, permuted, num_labels=[3, 3])
    for v in range(2):
        np.testing.assert_allclose(b.view_matrix(v)[:, perm], a.view_matrix(v))


def test_bad_label_maps_raise(scene):
    g, _, cams, maps = scene
    with pytest.raises(ValueError, match="one label map per camera"):
        trace_instances(g, cams, maps[:2])
    with pytest.raises(ValueError, match="camera is 64x48"):
        check_label_maps(cams[:1], [np.zeros((10, 10), np.int64)])
    with pytest.raises(ValueError, match="must be integer"):
        check_label_maps(cams[:1], [np.zeros((48, 64), np.float32)])
    with pytest.raises(ValueError, match="num_labels is 1"):
        trace_instances(g, cams[:1], maps[:1], num_labels=[1])


def test_pixel_areas_exact():
    from tracklift.splat.render.camera import Camera
    from tracklift.splat.render.gaussians import Gaussians

    g = Gaussians(
        torch.tensor([[0.0, 0.0, 2.0], [0.3, 0.1, -1.0]]),
        torch.zeros(2, 3),
        torch.tensor([[1.0, 0, 0, 0]] * 2),
        torch.zeros(2),
        torch.zeros(2, 1, 3),
    )
    cam = Camera(np.array([[100.0, 0, 32], [0, 50.0, 24], [0, 0, 1]]), np.eye(4), 64, 48)
    np.testing.assert_allclose(pixel_areas(g, [cam]), [[4 / 5000], [0.0]])  # (z/f)^2 with f^2 = fx fy; behind: 0


def test_visibility_does_not_fall_with_distance():
    """One Gaussian seen head-on from 2 m and from 4 m: its footprint is four times smaller from 4 m, but the
    far view sees it as fully; only the 0.3 px low-pass of the projection keeps the ratio from being exact."""
    from tracklift.splat.render.camera import Camera
    from tracklift.splat.render.gaussians import Gaussians
    from tracklift.splat.trace3d.tracing import InstanceTrace

    g = Gaussians(
        torch.zeros(1, 3),
        torch.full((1, 3), float(np.log(0.05))),
        torch.tensor([[1.0, 0, 0, 0]]),
        torch.zeros(1),
        torch.zeros(1, 1, 3),
    )
    K = np.array([[200.0, 0, 63.5], [0, 200.0, 63.5], [0, 0, 1]])
    cams = []
    for d in (2.0, 4.0):
        pose = np.eye(4)
        pose[2, 3] = -d  # looking down +z at the origin
        cams.append(Camera(K, pose, 128, 128))
    trace = trace_instances(g, cams, [np.zeros((128, 128), np.int64)] * 2)
    _, visibility = view_distributions(trace)
    assert visibility[0].max() == 1.0 and visibility[0].min() > 0.9
    raw = InstanceTrace(trace.table, trace.offsets, trace.n_gaussians, trace.mode)  # no pixel areas
    assert view_distributions(raw)[1][0].min() == pytest.approx(0.25, abs=0.03)
