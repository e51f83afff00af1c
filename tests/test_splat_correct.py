"""Mask correction with the instance weight matrix: patches, touching pairs, regrouping across views."""

from __future__ import annotations

import numpy as np
import pytest

from tests.splat_toy import toy_scene
from tracklift.segment2d.masks import FrameMasks
from tracklift.splat.correct import CorrectionConfig, build_patches, correct_masks, touching_pairs


@pytest.fixture(scope="module")
def scene():
    return toy_scene(8)


def masks_of(label_map: np.ndarray) -> FrameMasks:
    return FrameMasks(np.stack([label_map == k for k in np.unique(label_map[label_map >= 0])]))


def partition(fm: FrameMasks, label_map: np.ndarray) -> set[frozenset[int]]:
    """Which GT labels each corrected mask covers (by majority of its pixels' GT label... per pixel)."""
    return {frozenset(np.unique(label_map[m & (label_map >= 0)]).tolist()) for m in fm.masks if (m & (label_map >= 0)).any()}


def best_iou(fm: FrameMasks, label_map: np.ndarray) -> list[float]:
    """Per GT label: the best IoU of any mask with it."""
    return [max(float((m & (label_map == k)).sum() / (m | (label_map == k)).sum()) for m in fm.masks)
            for k in np.unique(label_map[label_map >= 0])]


def test_build_patches_hand_case():
    a = np.array([[1, 1, 1, 0]], bool)
    b = np.array([[0, 1, 1, 1]], bool)
    p = build_patches(np.stack([a, b]))
    assert p.n == 3
    # Coverage sets sorted: (F, T) = B only, (T, F) = A only, (T, T) = both.
    assert p.patch_map.tolist() == [[1, 2, 2, 0]]
    assert p.membership.tolist() == [[False, True], [True, False], [True, True]]


def test_build_patches_empty_and_bad():
    p = build_patches(np.zeros((2, 3, 4), bool))
    assert p.n == 0 and np.all(p.patch_map == -1)
    with pytest.raises(ValueError, match=r"\[M, H, W\] bool"):
        build_patches(np.zeros((3, 4), bool))


def test_touching_pairs_hand_case():
    lab = np.array([[0, 0, 1], [2, -1, 1], [2, 2, 1]])
    assert touching_pairs(lab).tolist() == [[0, 1], [0, 2], [1, 2]]
    assert touching_pairs(np.full((2, 2), -1)).shape == (0, 2)


def test_consistent_masks_are_kept(scene):
    g, _, cams, maps = scene
    masks = [masks_of(m) for m in maps]
    out, report = correct_masks(g, cams, masks)
    for fm, lab in zip(out, maps):
        assert partition(fm, lab) == {frozenset([k]) for k in np.unique(lab[lab >= 0]).tolist()}
        assert fm.masks.sum(axis=0).max() <= 1  # no overlap
    assert report["overruled"] == 0


def test_split_and_granularity_conflicts_are_resolved(scene):
    g, _, cams, maps = scene
    masks = [masks_of(m) for m in maps]
    cols = np.arange(64)[None].repeat(48, 0)
    # View 1: object 0 over-segmented into two halves.
    lab = maps[1]
    cut = np.median(cols[lab == 0])
    masks[1] = FrameMasks(np.stack([(lab == 0) & (cols < cut), (lab == 0) & (cols >= cut), lab == 1, lab == 2]))
    # View 2: overlapping granularities, object 1 and a part of it.
    lab2 = maps[2]
    cut2 = np.median(cols[lab2 == 1])
    masks[2] = FrameMasks(np.stack([lab2 == 0, lab2 == 1, (lab2 == 1) & (cols < cut2), lab2 == 2]))
    out, report = correct_masks(g, cams, masks)
    for v in (1, 2):
        assert partition(out[v], maps[v]) == {frozenset([k]) for k in range(3)}
        assert len(out[v]) == 3
    assert report["overruled"] == 1  # the split halves; the nested part already shared its mask


def test_coarse_mask_over_two_objects_is_cut(scene):
    g, _, cams, maps = scene
    masks = [masks_of(m) for m in maps]
    lab = maps[3]
    masks[3] = FrameMasks(np.stack([(lab == 0) | (lab == 1), lab == 0, lab == 1, lab == 2]))
    out, report = correct_masks(g, cams, masks)
    assert partition(out[3], lab) == {frozenset([k]) for k in range(3)}
    assert report["overruled"] == 1


def test_fused_mask_is_cut_by_its_witness(scene):
    g, _, cams, maps = scene
    lab = maps[0]
    masks = [masks_of(m) for m in maps]
    masks[0] = FrameMasks(np.stack([(lab == 0) | (lab == 1), lab == 2]))
    out, report = correct_masks(g, cams, masks)
    assert report["cut"] == 1
    assert len(out[0]) == 3
    # Pixels on the objects' shared boundary may go either way; measured worst IoU here: 0.98.
    assert min(best_iou(out[0], lab)) > 0.9
    # Without cutting, a fused mask is a single patch and regrouping alone cannot separate it.
    out, report = correct_masks(g, cams, masks, CorrectionConfig(split_below=0.0))
    assert report["cut"] == 0 and partition(out[0], lab) == {frozenset([0, 1]), frozenset([2])}


def test_without_other_views_own_masks_decide(scene):
    g, _, cams, maps = scene
    lab = maps[0]
    nested = FrameMasks(np.stack([(lab == 0) | (lab == 1), lab == 1, lab == 2]))
    out, report = correct_masks(g, cams[:1], [nested])
    assert partition(out[0], lab) == {frozenset([0, 1]), frozenset([2])}
    assert report["overruled"] == 0


def test_labels_and_scores_follow_the_covering_mask(scene):
    g, _, cams, maps = scene
    masks = [masks_of(m) for m in maps]
    masks[0] = FrameMasks(masks[0].masks, [f"thing{k}" for k in range(len(masks[0]))], np.linspace(0.5, 0.9, len(masks[0])))
    out, _ = correct_masks(g, cams[:3], masks[:3])
    assert sorted(out[0].labels) == sorted(masks[0].labels)
    assert sorted(out[0].scores.tolist()) == pytest.approx(sorted(masks[0].scores.tolist()))


def test_bad_input_raises(scene):
    g, _, cams, maps = scene
    masks = [masks_of(m) for m in maps]
    with pytest.raises(ValueError, match="one FrameMasks per camera"):
        correct_masks(g, cams, masks[:2])
    small = FrameMasks(np.zeros((1, 24, 32), bool))
    with pytest.raises(ValueError, match="32x24, camera is 64x48"):
        correct_masks(g, cams[:1], [small])
