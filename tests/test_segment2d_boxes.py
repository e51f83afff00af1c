"""Box utilities (IoU, NMS) and Grounding DINO's prompt bookkeeping, without a model."""

import numpy as np
import pytest

from tracklift.segment2d.boxes import Detections, box_iou_2d, center_to_corners, nms
from tracklift.segment2d.hf_grounding_dino import class_token_map, prompt_chunks


def test_box_iou_2d_and_corners_hand_computed():
    a = np.array([[0, 0, 2, 2], [0, 0, 0, 0]], float)
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2]], float)
    np.testing.assert_allclose(box_iou_2d(a, b), [[1 / 7, 1], [0, 0]])
    np.testing.assert_allclose(center_to_corners(np.array([[2.0, 3.0, 2.0, 4.0]])), [[1, 1, 3, 5]])


def test_nms_class_agnostic_and_per_label():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 9, 10]], float)
    scores = np.array([0.5, 0.9, 0.3, 0.8])
    labels = np.array([0, 0, 1, 1])
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms(boxes, scores, 0.5, labels).tolist() == [1, 3, 2]
    assert nms(boxes, scores, 0.99).tolist() == [1, 3, 0, 2]


def test_detections_reject_mismatched_arrays():
    with pytest.raises(ValueError, match="disagree"):
        Detections(np.zeros((2, 4)), np.zeros(3), np.zeros(3, np.int64))


def test_prompt_chunks_respect_the_token_budget():
    # [CLS] + [SEP] = 2; budget 8 leaves 6 per chunk.
    assert prompt_chunks(["a", "b", "c", "d"], [2, 3, 2, 4], 8) == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="'long'"):
        prompt_chunks(["long"], [7], 8)


def test_class_token_map_from_offsets():
    # prompt "chair. dining table." with tokens [CLS] chair . dining table . [SEP]
    offsets = np.array([[0, 0], [0, 5], [5, 6], [7, 13], [14, 19], [19, 20], [0, 0]])
    np.testing.assert_array_equal(class_token_map([(0, 5), (7, 19)], offsets), [-1, 0, -1, 1, 1, -1, -1])
