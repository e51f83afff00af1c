"""Instances onto reference vertices (`transfer`), and refinement of benchmark predictions."""

from __future__ import annotations

import numpy as np
import pytest

from tracklift.eval.prediction import PredictedInstance
from tracklift.refine.predictions import refine_predictions
from tracklift.refine.snap import SnapConfig
from tracklift.refine.transfer import snap_instances, transfer_to_vertices, transfer_to_vertices_reference
from tracklift.core.instance import Instance3D


def test_transfer_matches_reference():
    rng = np.random.default_rng(0)
    vertices = rng.uniform(0, 1, (400, 3)).astype(np.float32)
    point_sets = [rng.uniform(0, 0.5, (30, 3)), rng.uniform(0.3, 1, (50, 3)), np.zeros((0, 3))]
    fast = transfer_to_vertices(point_sets, vertices, 0.1)
    assert fast.shape == (3, 400) and fast.dtype == np.bool_
    np.testing.assert_array_equal(fast, transfer_to_vertices_reference(point_sets, vertices, 0.1))
    assert fast[0].any() and fast[1].any() and not fast[2].any()
    assert (fast[0] & fast[1]).any()  # overlapping sets stay overlapping


def test_transfer_radius_by_hand():
    vertices = np.array([[0, 0, 0], [0.05, 0, 0], [0.2, 0, 0]], np.float32)
    masks = transfer_to_vertices([np.array([[0.0, 0.0, 0.0]])], vertices, 0.06)
    assert masks.tolist() == [[True, True, False]]


@pytest.mark.parametrize(
    ("point_sets", "vertices", "radius", "match"),
    [
        ([np.zeros((3, 3))], np.zeros((5, 2)), 0.1, "vertices must be"),
        ([np.zeros((3, 2))], np.zeros((5, 3)), 0.1, "point set 0"),
        ([np.zeros((3, 3))], np.zeros((5, 3)), 0.0, "radius"),
    ],
)
def test_transfer_bad_input(point_sets, vertices, radius, match):
    with pytest.raises(ValueError, match=match):
        transfer_to_vertices(point_sets, vertices, radius)


def two_tables_scene():
    """Vertices of two 1 m × 1 m tabletops on a 5 cm grid; superpoint = tabletop (0 or 1)."""
    t = np.arange(0, 1.0001, 0.05)
    x, y = (g.ravel() for g in np.meshgrid(t, t))
    top = np.stack([x, y, np.full_like(x, 0.7)], 1)
    vertices = np.concatenate([top, top + [2, 0, 0]]).astype(np.float32)
    return vertices, np.repeat([0, 1], len(top))


def test_snap_instances_fills_the_superpoint():
    vertices, superpoints = two_tables_scene()
    # The tracker saw 70 % of the first tabletop (a voxel every 5 cm, 1 cm off) and a stray bit of the second.
    first = vertices[superpoints == 0]
    seen = first[first[:, 0] < 0.7] + 0.01
    stray = vertices[superpoints == 1][:5]
    instances = [Instance3D(id=7, points=np.concatenate([seen, stray]), score=0.8)]
    result = snap_instances(instances, vertices, superpoints, SnapConfig(transfer_radius=0.03))
    assert result.kept.tolist() == [0]
    np.testing.assert_array_equal(result.masks[0], superpoints == 0)


def test_snap_instances_drops_collapsed():
    vertices, superpoints = two_tables_scene()
    instances = [Instance3D(id=1, points=vertices[:3]), Instance3D(id=2, points=vertices[superpoints == 1])]
    result = snap_instances(instances, vertices, superpoints)
    assert result.kept.tolist() == [1]
    assert snap_instances([], vertices, superpoints).masks.shape == (0, len(vertices))


def test_refine_predictions_keeps_label_and_score():
    superpoints = np.repeat(np.arange(4), 30)
    mask = np.isin(superpoints, [1, 2]) & (np.arange(120) % 3 != 0)  # two thirds of superpoints 1 and 2
    preds = [
        PredictedInstance(mask=mask, label_id=5, score=0.7),
        PredictedInstance(mask=np.arange(120) < 4, label_id=None, score=0.9),  # collapses
    ]
    refined = refine_predictions(preds, superpoints)
    assert len(refined) == 1
    assert isinstance(refined[0], PredictedInstance)
    assert refined[0].label_id == 5 and refined[0].score == 0.7
    np.testing.assert_array_equal(refined[0].mask, np.isin(superpoints, [1, 2]))
    np.testing.assert_array_equal(preds[0].mask, mask)  # inputs untouched
    assert refine_predictions([], superpoints) == []


def test_refine_predictions_bad_shape():
    preds = [PredictedInstance(mask=np.zeros(10, bool), label_id=1, score=0.5)]
    with pytest.raises(ValueError, match=r"preds\[0\]\.mask"):
        refine_predictions(preds, np.zeros(12, int))
