"""Helpers of the Trace3D ablation (benchmarks/trace3d.py): the controlled inconsistency, the 2D score and
the results table. The benchmark itself is run by `python -m benchmarks.trace3d`, not here."""

from dataclasses import replace

import numpy as np
import pytest

from benchmarks.trace3d import FULL, inconsistent_masks, markdown_table, mask_miou, results_doc

# Three objects: 1 and 2 touch, 3 stands apart.
GT = np.full((20, 30), -1, np.int64)
GT[2:12, 2:10] = 1
GT[2:12, 10:18] = 2
GT[14:19, 22:28] = 3


def as_sets(fm) -> list[frozenset]:
    return sorted((frozenset(np.unique(GT[m]).tolist()) for m in fm.masks), key=sorted)


def test_no_corruption_gives_the_exact_masks():
    suite = replace(FULL, merge_rate=0.0, split_rate=0.0, coarse_rate=0.0)
    fm = inconsistent_masks(GT, np.random.default_rng(0), suite)
    assert as_sets(fm) == [frozenset([1]), frozenset([2]), frozenset([3])]
    for m in fm.masks:
        assert np.array_equal(m, GT == np.unique(GT[m])[0])


def test_merges_and_coarse_masks_only_join_touching_objects():
    merged = inconsistent_masks(
        GT, np.random.default_rng(0), replace(FULL, merge_rate=1.0, split_rate=0.0, coarse_rate=0.0)
    )
    assert as_sets(merged) == [frozenset([1, 2]), frozenset([3])]
    coarse = inconsistent_masks(
        GT, np.random.default_rng(0), replace(FULL, merge_rate=0.0, split_rate=0.0, coarse_rate=1.0)
    )
    assert as_sets(coarse) == [frozenset([1]), frozenset([1, 2]), frozenset([2]), frozenset([3])]


def test_splits_cut_an_object_in_two_and_are_seeded():
    suite = replace(FULL, merge_rate=0.0, split_rate=1.0, coarse_rate=0.0, min_pixels=10)
    a = inconsistent_masks(GT, np.random.default_rng(5), suite)
    b = inconsistent_masks(GT, np.random.default_rng(5), suite)
    assert np.array_equal(a.masks, b.masks)
    # Objects 1 and 2 (80 px >= 4 * min_pixels) are split, 3 (30 px) is not; the halves cover each object.
    assert len(a) == 5
    for k in (1, 2):
        halves = [m for m in a.masks if set(np.unique(GT[m]).tolist()) == {k}]
        assert len(halves) == 2 and np.array_equal(halves[0] | halves[1], GT == k) and not (halves[0] & halves[1]).any()


def test_mask_miou_exact():
    labels = np.where(GT == 1, 0, -1)
    labels[2:12, 10:14] = 0  # label 0 covers object 1 and half of object 2
    # Label 0 has 120 px. Object 1 (80 px): 80 / 120; object 2 (80 px): 40 / (120 + 80 - 40); object 3 (30 px)
    # is below min_pixels and not scored.
    np.testing.assert_allclose(mask_miou(labels, GT, min_pixels=31), [80 / 120, 40 / 160])


def test_table_compares_each_lifting_with_its_own_baseline():
    def row(variant, lifting, miou):
        return {
            "variant": variant,
            "lifting": lifting,
            "mask_miou_2d": 0.8,
            "extraction_miou_3d": miou,
            "instances": 8,
            "gaussians": 100,
            "seconds": 1.0,
        }

    rooms = {
        0: {
            "a": row("no GIT", "closed", 0.6),
            "d": row("both", "closed", 0.7),
            "e": row("contrastive, no GIT", "contrastive", 0.5),
            "h": row("contrastive, both", "contrastive", 0.8),
            "o": row("exact masks (reference)", "closed", 0.9),
        },
        4: {
            "a": row("no GIT", "closed", 0.7),
            "d": row("both", "closed", 0.7),
            "e": row("contrastive, no GIT", "contrastive", 0.6),
            "h": row("contrastive, both", "contrastive", 0.8),
            "o": row("exact masks (reference)", "closed", 0.9),
        },
    }
    doc = results_doc(replace(FULL, seeds=(0, 4), tuned_on=(0,)), rooms, {0: 25.0, 4: 27.0})
    assert doc["mean"]["a"]["extraction_miou_3d"] == pytest.approx(0.65) and doc["psnr_holdout"] == 26.0
    table = markdown_table(doc)
    assert "| (d) both | 80.0 | 70.0 | +5.0 |" in table
    assert "| (h) contrastive, both | 80.0 | 80.0 | +25.0 |" in table  # against (e), not (a)
    assert "| (o) exact masks (reference) | 80.0 | 90.0 |  |" in table
    assert "closed form (a) 70.0 → (d) 70.0 (+0.0), contrastive (e) 60.0 → (h) 80.0 (+20.0)" in table
    # Room gains +10 and +0: standard error std([10, 0], ddof=1) / sqrt(2) = 5.
    assert "Per room, (d) − (a) spans +0.0 to +10.0 points; standard error of the mean 5.0." in table


def test_means_skip_variants_a_resumed_room_still_misses():
    full = {
        "variant": "no GIT",
        "lifting": "closed",
        "mask_miou_2d": 0.8,
        "extraction_miou_3d": 0.6,
        "instances": 8,
        "gaussians": 100,
        "seconds": 1.0,
    }
    rooms = {0: {"a": full, "b": {**full, "variant": "mask correction"}}, 1: {"a": {**full, "extraction_miou_3d": 0.8}}}
    doc = results_doc(replace(FULL, seeds=(0, 1)), rooms, {0: 25.0, 1: 25.0})
    assert list(doc["mean"]) == ["a"] and doc["mean"]["a"]["extraction_miou_3d"] == pytest.approx(0.7)
