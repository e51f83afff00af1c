"""Snapping instance masks to superpoints by vote."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.eval.prediction import PredictedInstance
from tracklift.superpoints.snap import (
    SnapConfig,
    masks_from_indices,
    snap_masks,
    snap_masks_reference,
    snap_predictions,
)

# Two superpoints of four points each; ids as ScanNet writes them (representative vertex ids).
SUPERPOINTS = np.array([3, 3, 3, 3, 6, 6, 6, 6])


def masks_of(*index_lists: list[int]) -> np.ndarray:
    return masks_from_indices([np.array(ix, int) for ix in index_lists], len(SUPERPOINTS))


def test_majority_takes_the_whole_superpoint():
    result = snap_masks(masks_of([0, 1, 2, 4]), SUPERPOINTS, config=SnapConfig(min_points=1))
    assert result.kept.tolist() == [0]
    assert np.flatnonzero(result.masks[0]).tolist() == [0, 1, 2, 3]  # 3/4 of the first, 1/4 of the second


def test_half_is_enough_at_the_default_threshold():
    result = snap_masks(masks_of([0, 1]), SUPERPOINTS, config=SnapConfig(min_points=1))
    assert np.flatnonzero(result.masks[0]).tolist() == [0, 1, 2, 3]
    stricter = snap_masks(masks_of([0, 1]), SUPERPOINTS, config=SnapConfig(vote_threshold=0.75, min_points=1))
    assert stricter.kept.tolist() == []  # collapsed: nothing left


@pytest.mark.parametrize(
    ("masks", "scores", "winner"),
    [
        ([[0, 1, 2], [0, 1]], [0.1, 0.9], 0),  # larger share wins over a higher score
        ([[0, 1], [2, 3]], [0.1, 0.9], 1),  # equal shares (0.5 each): higher score wins
        ([[0, 1], [2, 3]], [0.5, 0.5], 0),  # equal shares and scores: the earlier instance
    ],
)
def test_conflicts(masks, scores, winner):
    result = snap_masks(masks_of(*masks), SUPERPOINTS, np.array(scores), SnapConfig(min_points=1))
    assert result.kept.tolist() == [winner]
    assert np.flatnonzero(result.masks[0]).tolist() == [0, 1, 2, 3]


def test_collapsed_instances_are_dropped_by_min_points():
    masks = masks_of([0, 1, 2, 4, 5, 6], [7])
    assert snap_masks(masks, SUPERPOINTS, config=SnapConfig(min_points=5)).kept.tolist() == [0]
    assert snap_masks(masks, SUPERPOINTS, config=SnapConfig(min_points=9)).kept.tolist() == []
    # min_points = 0 still drops an instance that lost every point
    assert snap_masks(masks, SUPERPOINTS, config=SnapConfig(min_points=0)).kept.tolist() == [0]


def test_no_instances():
    result = snap_masks(np.zeros((0, 8), bool), SUPERPOINTS)
    assert result.masks.shape == (0, 8) and result.kept.shape == (0,)


@st.composite
def snap_problem(draw):
    num_points = draw(st.integers(1, 60))
    num_inst = draw(st.integers(0, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    superpoints = rng.integers(-3, draw(st.integers(1, 12)), num_points)
    masks = rng.random((num_inst, num_points)) < draw(st.sampled_from([0.2, 0.5, 0.8]))
    scores = rng.integers(0, 3, num_inst).astype(float)  # ties on purpose
    config = SnapConfig(draw(st.sampled_from([0.25, 0.5, 0.75, 1.0])), draw(st.integers(0, 10)))
    return masks, superpoints, scores, config


@settings(max_examples=60, deadline=None)
@given(snap_problem())
def test_matches_reference(problem):
    fast = snap_masks(*problem)
    slow = snap_masks_reference(*problem)
    np.testing.assert_array_equal(fast.kept, slow.kept)
    np.testing.assert_array_equal(fast.masks, slow.masks)


@settings(max_examples=40, deadline=None)
@given(snap_problem())
def test_invariants(problem):
    masks, superpoints, scores, config = problem
    result = snap_masks(masks, superpoints, scores, config)
    assert result.masks.shape == (len(result.kept), len(superpoints)) and result.masks.dtype == np.bool_
    assert np.all(result.masks.sum(axis=0) <= 1)  # every superpoint goes to at most one instance
    for mask in result.masks:  # ... and whole: a mask is a union of superpoints
        inside = np.unique(superpoints[mask])
        np.testing.assert_array_equal(mask, np.isin(superpoints, inside))
        assert mask.sum() >= max(config.min_points, 1)
    again = snap_masks(result.masks, superpoints, scores[result.kept], config)  # snapping is idempotent
    np.testing.assert_array_equal(again.masks, result.masks)


def test_refinement_recovers_noisy_instances():
    # Ground truth objects are unions of superpoints; predictions are those objects with 20 % of their
    # points dropped and stray points added. Snapping should give back the objects exactly.
    rng = np.random.default_rng(0)
    superpoints = np.repeat(np.arange(40), 50)
    objects = [np.isin(superpoints, rng.choice(40, 4, replace=False)) for _ in range(3)]
    objects = [obj & ~np.any(objects[:i], axis=0) for i, obj in enumerate(objects)]
    noisy = np.stack([(obj & (rng.random(len(obj)) > 0.2)) | (rng.random(len(obj)) < 0.02) for obj in objects])
    result = snap_masks(noisy, superpoints)
    np.testing.assert_array_equal(result.masks, np.stack(objects))


def test_masks_from_indices():
    masks = masks_from_indices([np.array([0, 2]), np.array([], int)], 4)
    assert masks.tolist() == [[True, False, True, False], [False] * 4]
    with pytest.raises(ValueError, match=r"indices\[0\]"):
        masks_from_indices([np.array([4])], 4)


@pytest.mark.parametrize(
    ("masks", "superpoints", "scores", "match"),
    [
        (np.zeros((2, 7), bool), SUPERPOINTS, None, r"masks must be \[I, 8\]"),
        (np.zeros((2, 8), int), SUPERPOINTS, None, "bool"),
        (np.zeros((2, 8), bool), SUPERPOINTS.astype(float), None, "integers"),
        (np.zeros((2, 8), bool), SUPERPOINTS, np.zeros(3), r"scores must be \[2\]"),
    ],
)
def test_bad_input_raises(masks, superpoints, scores, match):
    with pytest.raises(ValueError, match=match):
        snap_masks(masks, superpoints, scores)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"vote_threshold": 0}, "vote_threshold"), ({"min_points": -1}, "min_points")],
)
def test_bad_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SnapConfig(**kwargs)


def test_snap_predictions_keeps_label_and_score():
    superpoints = np.repeat(np.arange(4), 30)
    mask = np.isin(superpoints, [1, 2]) & (np.arange(120) % 3 != 0)  # two thirds of superpoints 1 and 2
    preds = [
        PredictedInstance(mask=mask, label_id=5, score=0.7),
        PredictedInstance(mask=np.arange(120) < 4, label_id=None, score=0.9),  # collapses
    ]
    refined = snap_predictions(preds, superpoints)
    assert len(refined) == 1
    assert isinstance(refined[0], PredictedInstance)
    assert refined[0].label_id == 5 and refined[0].score == 0.7
    np.testing.assert_array_equal(refined[0].mask, np.isin(superpoints, [1, 2]))
    np.testing.assert_array_equal(preds[0].mask, mask)  # inputs untouched
    assert snap_predictions([], superpoints) == []


def test_snap_predictions_bad_shape():
    preds = [PredictedInstance(mask=np.zeros(10, bool), label_id=1, score=0.5)]
    with pytest.raises(ValueError, match=r"preds\[0\]\.mask"):
        snap_predictions(preds, np.zeros(12, int))
