"""Mask correction with the instance weight matrix: patches, touching pairs, regrouping across views."""

from __future__ import annotations

import numpy as np
import pytest

from tests.splat_toy import toy_scene
from tracklift.core.label_maps import touching_pairs
from tracklift.core.masks import FrameMasks
from tracklift.splat.trace3d.correct import (
    CorrectionConfig,
    PatchEvidence,
    agreement_per_view,
    build_patches,
    correct_masks,
    pair_agreement,
)


@pytest.fixture(scope="module")
def scene():
    return toy_scene(8)


def masks_of(label_map: np.ndarray) -> FrameMasks:
    return FrameMasks(np.stack([label_map == k for k in np.unique(label_map[label_map >= 0])]))


def partition(fm: FrameMasks, label_map: np.ndarray) -> set[frozenset[int]]:
    """Which GT labels each corrected mask covers (by majority of its pixels' GT label... per pixel)."""
    return {
        frozenset(np.unique(label_map[m & (label_map >= 0)]).tolist()) for m in fm.masks if (m & (label_map >= 0)).any()
    }


def best_iou(fm: FrameMasks, label_map: np.ndarray) -> list[float]:
    """Per GT label: the best IoU of any mask with it."""
    return [
        max(float((m & (label_map == k)).sum() / (m | (label_map == k)).sum()) for m in fm.masks)
        for k in np.unique(label_map[label_map >= 0])
    ]


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
    none = build_patches(np.zeros((0, 3, 4), bool))  # a view where the segmenter found nothing
    assert none.n == 0 and none.membership.shape == (0, 0) and np.all(none.patch_map == -1)


def test_a_view_without_masks_stays_empty(scene):
    g, _, cams, maps = scene
    masks = [masks_of(m) for m in maps]
    masks[2] = FrameMasks(np.zeros((0, *maps[2].shape), bool))
    out, _ = correct_masks(g, cams, masks)
    assert len(out[2]) == 0
    for fm, lab in zip(out[3:], maps[3:]):
        assert partition(fm, lab) == {frozenset([k]) for k in np.unique(lab[lab >= 0]).tolist()}


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
    # The split halves are joined against view 1's masks (one pair, or more where a half was cut in parts);
    # the nested part already shared its mask, as do the parts view 2 cut from object 0 because view 1
    # split it, which are rejoined.
    assert report["overruled"] >= 1


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
    assert report["cut"] >= 1  # clean patches whose boundary Gaussians bleed may be cut too, then rejoined
    assert len(out[0]) == 3
    # Pixels on the objects' shared boundary may go either way; measured worst IoU here: 0.98.
    assert min(best_iou(out[0], lab)) > 0.9
    for fm, lab_v in zip(out[1:], maps[1:]):
        assert partition(fm, lab_v) == {frozenset([k]) for k in np.unique(lab_v[lab_v >= 0]).tolist()}
    # Without cutting, a fused mask is a single patch and regrouping alone cannot separate it.
    out, report = correct_masks(g, cams, masks, CorrectionConfig(split_below=0.0))
    assert report["cut"] == 0 and partition(out[0], lab) == {frozenset([0, 1]), frozenset([2])}
    # Nor when the parts are below min_part_pixels (here: larger than either object).
    big = int(max((lab == 0).sum(), (lab == 1).sum())) + 1
    out, report = correct_masks(g, cams, masks, CorrectionConfig(min_part_pixels=big))
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
    masks[0] = FrameMasks(
        masks[0].masks, [f"thing{k}" for k in range(len(masks[0]))], np.linspace(0.5, 0.9, len(masks[0]))
    )
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


def hand_evidence(j23: float) -> tuple[PatchEvidence, np.ndarray]:
    """Two patches of view 0; views 1 and 2 have two patches each (global 2, 3 and 4, 5). In view 1, p0 lands
    70/30 on patches 2/3 and p1 5/95; patches 2 and 3 share masks with Jaccard j23. View 2 puts both on 4."""
    view_of = np.array([0, 0, 1, 1, 2, 2])
    sig = np.array([[0, 0, 0.7, 0.3, 1.0, 0], [0, 0, 0.05, 0.95, 1.0, 0]])
    J = np.eye(6)
    J[2, 3] = J[3, 2] = j23
    visible = np.array([[False, True, True], [False, True, True]])
    return PatchEvidence(sig, sig @ J, visible.astype(float), visible), view_of


def test_agreement_is_the_smaller_share_exact():
    ev, view_of = hand_evidence(0.0)
    # View 1: p0's share under p1's main patch (3) is 0.3, p1's under p0's (2) is 0.05 -> 0.05. View 2: 1.
    np.testing.assert_allclose(agreement_per_view(ev, view_of, np.array([0]), np.array([1])), [[0.0, 0.05, 1.0]])
    ev, view_of = hand_evidence(1 / 3)  # a coarse mask over 2 and 3 besides their own masks
    # p0 under 3's masks: 0.3 + 0.7/3; p1 under 2's masks: 0.05 + 0.95/3 (the smaller).
    np.testing.assert_allclose(agreement_per_view(ev, view_of, np.array([0]), np.array([1]))[0, 1], 0.05 + 0.95 / 3)
    # Self-agreement: the share under the patch's own main patch.
    np.testing.assert_allclose(
        agreement_per_view(ev, view_of, np.array([0, 1]), np.array([0, 1]))[:, 1], [0.7 + 0.3 / 3, 0.95 + 0.05 / 3]
    )


def test_separation_weight_exact():
    ev, view_of = hand_evidence(0.0)
    pairs = np.array([[0, 1]])
    together, n_views = pair_agreement(ev, view_of, pairs)  # views 1 and 2: 0.05 and 1
    assert n_views.tolist() == [2]
    np.testing.assert_allclose(together, [(0.05 + 1.0) / 2])
    weighted, _ = pair_agreement(ev, view_of, pairs, separation_weight=2.0)
    np.testing.assert_allclose(weighted, [1.05 / (1.05 + 2 * 0.95)])
    # The patches' own view as one more voter: here its masks group them half way (J = 1/2).
    with_own, n_views = pair_agreement(ev, view_of, pairs, separation_weight=2.0, own=np.array([0.5]))
    np.testing.assert_allclose(with_own, [1.55 / (1.55 + 2 * 1.45)])
    assert n_views.tolist() == [2]  # other views only
