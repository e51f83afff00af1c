"""3D box AP (VoteNet / mmdetection3d protocol): IoU, VOC matching and AP on hand-computed cases."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.eval.boxes import (
    Detection,
    box_iou_3d,
    box_iou_3d_reference,
    class_ap,
    class_tp_fp,
    evaluate_boxes,
    voc_average_precision,
)

CUBE = [0.0, 0.0, 0.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "other, expected",
    [
        ([1.0, 1.0, 1.0, 2.0, 2.0, 2.0], 1 / 15),  # unit-cube overlap of two volume-8 cubes: 1 / (8 + 8 - 1)
        ([0.5, 0.0, 0.0, 1.0, 2.0, 2.0], 0.5),  # half of the cube, inside it: 4 / 8
        ([3.0, 0.0, 0.0, 2.0, 2.0, 2.0], 0.0),  # apart
        ([2.0, 0.0, 0.0, 2.0, 2.0, 2.0], 0.0),  # touching faces
        (CUBE, 1.0),
        ([0.0, 0.0, 0.5, 2.0, 2.0, 1.0], 0.5),  # upper half
        ([1.0, 0.0, 0.0, 2.0, 2.0, 2.0], 4 / 12),  # shifted by half its width: 4 / (8 + 8 - 4)
    ],
)
def test_iou_of_known_boxes(other, expected):
    assert box_iou_3d(np.array([CUBE]), np.array([other]))[0, 0] == pytest.approx(expected, abs=1e-15)
    assert box_iou_3d_reference(np.array([CUBE]), np.array([other]))[0, 0] == pytest.approx(expected, abs=1e-15)


box = st.tuples(*[st.floats(-3, 3)] * 3, *[st.floats(0.01, 3)] * 3).map(list)


@settings(max_examples=60, deadline=None)
@given(st.lists(box, min_size=1, max_size=5), st.lists(box, min_size=1, max_size=5))
def test_iou_is_symmetric_bounded_one_on_itself_and_matches_the_reference(a, b):
    a, b = np.array(a), np.array(b)
    iou = box_iou_3d(a, b)
    np.testing.assert_allclose(iou, box_iou_3d_reference(a, b), atol=1e-12)
    np.testing.assert_allclose(iou, box_iou_3d(b, a).T, atol=1e-12)
    assert ((iou >= 0) & (iou <= 1)).all()
    np.testing.assert_allclose(np.diag(box_iou_3d(a, a)), 1.0, atol=1e-12)


def test_iou_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\[N, 6\]"):
        box_iou_3d(np.zeros((2, 5)), np.zeros((1, 6)))
    with pytest.raises(ValueError, match="non-negative"):
        box_iou_3d(np.array([[0, 0, 0, -1, 1, 1.0]]), np.zeros((1, 6)))


def gt_two() -> dict:
    return {"s": np.array([CUBE, [5.0, 0.0, 0.0, 2.0, 2.0, 2.0]])}


def test_ap_of_two_gt_three_predictions_with_a_duplicate():
    # scores 0.9 (GT 0, IoU 1), 0.8 (GT 0 again, IoU 0.5 + shift: a duplicate), 0.7 (GT 1, IoU 1):
    # TP FP TP -> recall .5 .5 1, precision 1 .5 2/3; envelope 1 (to R .5), 2/3 (to R 1): AP = .5 + .5 · 2/3
    dets = {
        "s": [
            (np.array(CUBE), 0.9),
            (np.array([0.0, 0.0, 0.5, 2.0, 2.0, 1.0]), 0.8),
            (np.array([5.0, 0.0, 0.0, 2.0, 2.0, 2.0]), 0.7),
        ]
    }
    tp, fp, npos = class_tp_fp(dets, gt_two(), (0.25,))
    assert npos == 2 and tp.tolist() == [[1, 0, 1]] and fp.tolist() == [[0, 1, 0]]
    assert class_ap(dets, gt_two(), (0.25,)) == [pytest.approx(5 / 6)]
    # the duplicate's IoU is exactly 0.5, not above the 0.5 threshold: still a false positive, same AP
    assert class_ap(dets, gt_two(), (0.5,)) == [pytest.approx(5 / 6)]


def test_a_detection_whose_best_gt_is_taken_is_a_false_positive_even_if_another_gt_qualifies():
    # VOC matching: the second detection's best GT is GT 0 (IoU 0.6, vs 1/3 with GT 1): taken -> FP
    gt = {"s": np.array([[0.0, 0, 0, 2, 2, 2], [1.5, 0, 0, 2, 2, 2]])}
    dets = {"s": [(np.array([0.0, 0, 0, 2, 2, 2]), 0.9), (np.array([0.5, 0, 0, 2, 2, 2]), 0.8)]}
    iou = box_iou_3d(dets["s"][1][0][None], gt["s"])[0]
    assert iou[0] > iou[1] > 0.25
    tp, fp, _ = class_tp_fp(dets, gt, (0.25,))
    assert tp.tolist() == [[1, 0]] and fp.tolist() == [[0, 1]]


def test_average_precision_is_the_area_under_the_precision_envelope():
    # a hand envelope: P 1 up to R .25, then .5 up to R .5; recall never reaches 1
    assert voc_average_precision(np.array([0.25, 0.25, 0.5]), np.array([1.0, 0.5, 0.5])) == pytest.approx(0.375)
    assert voc_average_precision(np.array([0.0]), np.array([0.0])) == 0.0


def test_scenes_are_pooled_but_never_matched_across():
    gt = {"a": np.array([CUBE]), "b": np.array([CUBE])}
    dets = {"a": [(np.array(CUBE), 0.5)], "b": [(np.array([9.0, 9, 9, 1, 1, 1]), 0.9)]}
    # ranks: b (FP), a (TP): recall 0 .5, precision 0 .5 -> AP .5 · .5
    assert class_ap(dets, gt, (0.25,)) == [pytest.approx(0.25)]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(box, st.sampled_from(["chair", "table"]), st.floats(0, 1)),
        min_size=1,
        max_size=8,
        unique_by=lambda t: tuple(t[0]),
    )
)
def test_perfect_predictions_score_one(objects):
    gts = {"s": [(label, np.array(b)) for b, label, _ in objects]}
    preds = {"s": [Detection(np.array(b), label, score) for b, label, score in objects]}
    for agnostic in (False, True):
        result = evaluate_boxes(preds, gts, ("chair", "table", "sofa"), agnostic=agnostic)
        assert result["all"] == {"ap25": 1.0, "ap50": 1.0}


def test_classes_without_gt_are_nan_and_left_out_of_the_mean():
    gts = {"s": [("chair", np.array(CUBE)), ("table", np.array([5.0, 0, 0, 2, 2, 2]))]}
    preds = {
        "s": [
            Detection(np.array(CUBE), "chair", 0.9),
            Detection(np.array([5.0, 0, 0, 2, 2, 2]), "sofa", 0.8),
            Detection(np.array([9.0, 0, 0, 1, 1, 1]), None, 0.7),
        ]
    }
    result = evaluate_boxes(preds, gts, ("chair", "table", "sofa"))
    c = result["classes"]
    assert c["chair"]["ap25"] == 1.0 and c["table"]["ap25"] == 0.0 and math.isnan(c["sofa"]["ap25"])
    assert result["all"]["ap25"] == pytest.approx(0.5)
    assert (c["chair"]["gt"], c["sofa"]["detections"], c["table"]["detections"]) == (1, 1, 0)
    # class-agnostic: the mislabelled and unlabelled detections count; TP TP FP -> AP 1
    agnostic = evaluate_boxes(preds, gts, ("chair", "table", "sofa"), agnostic=True)
    assert list(agnostic["classes"]) == ["object"] and agnostic["all"]["ap25"] == 1.0
    assert agnostic["classes"]["object"]["detections"] == 3


def test_predictions_for_unknown_scenes_are_an_error():
    with pytest.raises(ValueError, match="no GT boxes for scene"):
        evaluate_boxes({"x": []}, {"s": []}, ("chair",))
