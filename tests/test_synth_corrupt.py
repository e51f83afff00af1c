"""Segmenter-like corruption of 2D ground truth, and the synth-masks CLI."""

from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pytest

from tracklift.cli import main
from tracklift.segment2d.precomputed import read_masks
from tracklift.synth import SynthConfig, generate_scene
from tracklift.synth.corrupt import PRESETS, RELATED, Corruption, corrupt_frame
from tracklift.vocab import load_vocabulary


def _grid_instances(n_side: int = 12, cell: int = 10, gap: int = 2) -> tuple[np.ndarray, dict[int, str]]:
    """n_side² separate squares (not touching), plus a floor instance filling the gaps."""
    size = n_side * cell
    image = np.full((size, size), n_side * n_side + 1, np.int64)
    for k in range(n_side * n_side):
        r, c = divmod(k, n_side)
        image[r * cell + gap : (r + 1) * cell, c * cell + gap : (c + 1) * cell] = k + 1
    labels = {k + 1: ["chair", "table", "couch", "lamp"][k % 4] for k in range(n_side * n_side)}
    labels[n_side * n_side + 1] = "floor"
    return image, labels


def _as_partition(instance: np.ndarray, masks) -> set[frozenset]:
    """The set of pixel sets (as flat index sets) of the ground truth or of masks."""
    return {frozenset(np.flatnonzero(m)) for m in masks}


def test_oracle_reproduces_ground_truth_up_to_permutation():
    image, labels = _grid_instances(4)
    rng = np.random.default_rng(0)
    out = corrupt_frame(image, labels, dataclasses.replace(PRESETS["oracle"], structure=True), rng)
    truth = [image == i for i in np.unique(image)]
    assert _as_partition(image, out.masks) == _as_partition(image, truth)
    for mask, label in zip(out.masks, out.labels):
        assert label == labels[int(image[mask][0])]
    np.testing.assert_array_equal(out.scores, 1.0)
    # Default: no wall/floor/ceiling masks.
    objects_only = corrupt_frame(image, labels, PRESETS["oracle"], rng)
    assert len(objects_only) == 16 and "floor" not in objects_only.labels


def test_drop_rate_is_near_p():
    image, labels = _grid_instances(16)  # 256 objects
    p = 0.3
    kept = [len(corrupt_frame(image, labels, Corruption(drop=p), np.random.default_rng(s))) for s in range(4)]
    dropped = 1 - np.sum(kept) / (4 * 256)
    sd = np.sqrt(p * (1 - p) / (4 * 256))
    assert abs(dropped - p) < 4 * sd


def test_ids_are_shuffled_across_frames():
    image, labels = _grid_instances(6)
    orders = []
    for s in range(3):
        out = corrupt_frame(image, labels, PRESETS["oracle"], np.random.default_rng(s))
        orders.append([int(image[m][0]) for m in out.masks])
    assert sorted(orders[0]) == sorted(orders[1]) and orders[0] != orders[1] != orders[2]


def test_each_corruption_does_what_it_says():
    image, labels = _grid_instances(8)
    rng = np.random.default_rng(3)
    n = 64
    assert len(corrupt_frame(image, labels, Corruption(split=1.0), rng)) > 1.8 * n
    shifted = corrupt_frame(image, labels, Corruption(erode=2), rng)
    kernel = np.ones((5, 5), np.uint8)
    changed = 0
    for m in shifted.masks:
        truth = (image == np.bincount(image[m]).argmax()).astype(np.uint8)
        assert not (m & ~cv2.dilate(truth, kernel).astype(bool)).any()  # boundaries move by <= 2 px
        assert not (cv2.erode(truth, kernel).astype(bool) & ~m).any()
        changed += not np.array_equal(m, truth.astype(bool))
    assert changed > n / 2
    noisy = corrupt_frame(image, labels, Corruption(label_noise=1.0), rng)
    truth = [labels[int(np.bincount(image[m]).argmax())] for m in noisy.masks]
    assert all(a != b for a, b in zip(noisy.labels, truth))
    assert len(corrupt_frame(image, labels, Corruption(spurious=5.0), rng)) > n
    small = corrupt_frame(image, labels, Corruption(min_area=65 / image.size), rng)
    assert len(small) == 0  # every 8×8 square is below 65 pixels
    synonyms = corrupt_frame(image, labels, Corruption(synonyms=1.0), rng)
    assert "sofa" in synonyms.labels or "settee" in synonyms.labels


def test_merge_fuses_touching_instances():
    image = np.zeros((20, 20), np.int64)
    image[:, :12], image[:, 12:] = 1, 2  # touching
    image[5:8, 2:5] = 3  # inside 1, also touching
    out = corrupt_frame(image, {1: "table", 2: "chair", 3: "cup"}, Corruption(merge=1.0), np.random.default_rng(0))
    assert len(out) == 1 and out.masks[0].all() and out.labels == ["table"]  # the largest part names it


def test_hard_preset_is_realistic_and_scores_follow_quality():
    image, labels = _grid_instances(12)
    out = corrupt_frame(image, labels, PRESETS["hard"], np.random.default_rng(1))
    assert out.masks.sum(axis=0).max() <= 1  # writable as one id image
    assert ((out.scores >= 0) & (out.scores <= 1)).all()
    ious = []
    for m in out.masks:
        best = np.bincount(image[m]).argmax()
        truth = image == best
        ious.append((m & truth).sum() / (m | truth).sum())
    assert np.corrcoef(ious, out.scores)[0, 1] > 0.3
    assert 0.5 * 144 < len(out) < 1.5 * 144


def test_bad_input():
    image, labels = _grid_instances(2)
    with pytest.raises(ValueError, match="no label"):
        corrupt_frame(image, {1: "chair"}, PRESETS["oracle"], np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\[H, W\]"):
        corrupt_frame(image[None], labels, PRESETS["oracle"], np.random.default_rng(0))
    with pytest.raises(ValueError, match="Corruption.drop must be ≤ 1.0, got 1.5"):
        Corruption(drop=1.5)


def test_related_labels_are_vocabulary_names():
    names = set(load_vocabulary("scannet200").names)
    assert set(RELATED) <= names
    assert all(set(v) <= names for v in RELATED.values())


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    config = SynthConfig(seed=2, frames=3, width=64, height=48, objects=8, depth_noise=False, color_noise=0.0)
    return generate_scene(tmp_path_factory.mktemp("masks") / "scene0002_00", config, progress=False)


def test_cli_oracle_round_trip(scene, tmp_path):
    out = tmp_path / "masks"
    assert main(["synth-masks", str(scene), "--out", str(out), "--preset", "oracle", "--quiet"]) == 0
    meta = json.loads((scene / "scene.json").read_text())
    labels = {o["instance"]: o["label"] for o in meta["objects"]}
    for i in range(3):
        gt = cv2.imread(str(scene / "gt_2d" / "instance" / f"{i}.png"), cv2.IMREAD_UNCHANGED)
        masks = read_masks(out, str(i), gt.shape)
        sidecar = json.loads((out / f"{i}.json").read_text())
        assert all("label" in e and "score" in e for e in sidecar.values())
        objects = [k for k in np.unique(gt) if labels[int(k)] not in ("wall", "floor", "ceiling")]
        assert _as_partition(gt, masks.masks) == _as_partition(gt, [gt == k for k in objects])
        assert masks.labels == [labels[int(gt[m][0])] for m in masks.masks]


def test_cli_overrides_and_errors(scene, tmp_path, capsys):
    out = tmp_path / "m"
    assert (
        main(
            [
                "synth-masks",
                str(scene),
                "--out",
                str(out),
                "--preset",
                "hard",
                "--drop",
                "1.0",
                "--spurious",
                "0",
                "--quiet",
            ]
        )
        == 0
    )
    assert all(json.loads((out / f"{i}.json").read_text()) == {} for i in range(3))
    assert main(["synth-masks", str(tmp_path / "nope"), "--out", str(out), "--quiet"]) == 2
    assert "not a synthetic scene" in capsys.readouterr().err
    # Levels out of range are refused with the field's bound before any frame is written.
    assert main(["synth-masks", str(scene), "--out", str(tmp_path / "bad"), "--drop", "1.5", "--quiet"]) == 2
    assert "Corruption.drop must be ≤ 1.0, got 1.5" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_cli_structure_flag_overrides_the_preset(scene, tmp_path):
    out = tmp_path / "s"
    assert main(["synth-masks", str(scene), "--out", str(out), "--preset", "oracle", "--structure", "--quiet"]) == 0
    meta = json.loads((scene / "scene.json").read_text())
    labels = {o["instance"]: o["label"] for o in meta["objects"]}
    gt = cv2.imread(str(scene / "gt_2d" / "instance" / "0.png"), cv2.IMREAD_UNCHANGED)
    masks = read_masks(out, "0", gt.shape)
    assert _as_partition(gt, masks.masks) == _as_partition(gt, [gt == k for k in np.unique(gt) if labels[int(k)]])
