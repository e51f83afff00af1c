"""Precomputed 2D masks on disk: round trips and every bad-input case."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.segment2d.precomputed import PrecomputedSegmenter, read_masks, write_masks
from tracklift.segment2d.protocol import Segmenter

H, W = 12, 16


def _disjoint() -> FrameMasks:
    m = np.zeros((3, H, W), bool)
    m[0, :4, :5] = True
    m[1, 5:9, 2:10] = True
    m[2, 10:, 12:] = True
    return FrameMasks(m, ["chair", None, "tv monitor"], np.array([0.9, 0.5, 0.25], np.float32))


def _overlapping() -> FrameMasks:
    m = np.zeros((2, H, W), bool)
    m[0, :8, :8] = True
    m[1, 4:, 4:] = True
    return FrameMasks(m, ["table", None], np.array([0.7, 1.0], np.float32))


def _assert_same(a: FrameMasks, b: FrameMasks) -> None:
    np.testing.assert_array_equal(a.masks, b.masks)
    assert a.labels == b.labels
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)


def test_png_json_round_trip(tmp_path):
    masks = _disjoint()
    path = write_masks(tmp_path, "7", masks)
    assert path == tmp_path / "7.png"
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image.dtype == np.uint16 and image.shape == (H, W)
    sidecar = json.loads((tmp_path / "7.json").read_text())
    assert sidecar["1"] == {"label": "chair", "score": 0.9} and "label" not in sidecar["2"]
    _assert_same(read_masks(tmp_path, "7", (H, W)), masks)


def test_npz_round_trip_keeps_overlaps(tmp_path):
    masks = _overlapping()
    write_masks(tmp_path, "0", masks, format="npz")
    back = read_masks(tmp_path, "0", (H, W))
    _assert_same(back, masks)
    assert back.masks.sum(axis=0).max() == 2


def test_png_written_ids_follow_order_and_sidecar_is_optional(tmp_path):
    ids = np.zeros((H, W), np.uint16)
    ids[:3, :3] = 5
    ids[5:, 5:] = 2
    cv2.imwrite(str(tmp_path / "3.png"), ids)
    back = read_masks(tmp_path, "3", (H, W))
    assert len(back) == 2 and back.labels == [None, None]
    np.testing.assert_array_equal(back.masks[0], ids == 2)  # ascending ids
    np.testing.assert_array_equal(back.scores, [1.0, 1.0])


def test_switching_format_removes_the_other_file(tmp_path):
    write_masks(tmp_path, "1", _disjoint())
    write_masks(tmp_path, "1", _overlapping(), format="npz")
    assert not (tmp_path / "1.png").exists() and not (tmp_path / "1.json").exists()
    write_masks(tmp_path, "1", _disjoint())
    assert not (tmp_path / "1.npz").exists()


def test_missing_frame_is_empty(tmp_path):
    empty = read_masks(tmp_path, "42", (H, W))
    assert len(empty) == 0 and empty.shape == (H, W)


def test_empty_masks_round_trip(tmp_path):
    for fmt in ("png", "npz"):
        write_masks(tmp_path, fmt, FrameMasks.empty(H, W), format=fmt)
        assert len(read_masks(tmp_path, fmt, (H, W))) == 0


def test_segmenter_reads_by_frame_name(tmp_path):
    write_masks(tmp_path, "4", _disjoint())
    seg = PrecomputedSegmenter(tmp_path)
    assert isinstance(seg, Segmenter)
    frame = Frame(np.zeros((H, W, 3), np.uint8), np.ones((H, W), np.float32), np.eye(3), np.eye(4), "4", 0)
    _assert_same(seg(frame), _disjoint())
    other = Frame(np.zeros((H, W, 3), np.uint8), np.ones((H, W), np.float32), np.eye(3), np.eye(4), "5", 1)
    assert len(seg(other)) == 0


def test_segmenter_needs_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such masks folder"):
        PrecomputedSegmenter(tmp_path / "nope")


def test_png_refuses_overlaps_and_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="overlap"):
        write_masks(tmp_path, "0", _overlapping())
    with pytest.raises(ValueError, match="format"):
        write_masks(tmp_path, "0", _disjoint(), format="tiff")


def _png(tmp_path, name="0", shape=(H, W), ids=(1,)):
    image = np.zeros(shape, np.uint16)
    for k, i in enumerate(ids):
        image[k, :] = i
    cv2.imwrite(str(tmp_path / f"{name}.png"), image)


@pytest.mark.parametrize(
    "sidecar, match",
    [
        ('{"1": {"label": "chair"}', "invalid JSON"),
        ("[1, 2]", "expected an object"),
        ('{"9": {"label": "chair"}}', "id 9 has no pixels"),
        ('{"x": {"label": "chair"}}', "positive integer id"),
        ('{"1": {"label": 3}}', "label of id 1"),
        ('{"1": {"score": 1.5}}', "score of id 1"),
    ],
)
def test_bad_sidecar(tmp_path, sidecar, match):
    _png(tmp_path)
    (tmp_path / "0.json").write_text(sidecar)
    with pytest.raises(ValueError, match=match) as err:
        read_masks(tmp_path, "0", (H, W))
    assert "0.json" in str(err.value)


def test_shape_mismatch_names_file(tmp_path):
    _png(tmp_path, shape=(H + 1, W))
    with pytest.raises(ValueError, match=r"0\.png.*13×16.*12×16"):
        read_masks(tmp_path, "0", (H, W))
    write_masks(tmp_path, "1", _overlapping(), format="npz")
    with pytest.raises(ValueError, match=r"1\.npz"):
        read_masks(tmp_path, "1", (H, W + 1))


def test_unreadable_or_colour_png(tmp_path):
    (tmp_path / "0.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="0.png: not a readable PNG"):
        read_masks(tmp_path, "0", (H, W))
    cv2.imwrite(str(tmp_path / "1.png"), np.zeros((H, W, 3), np.uint8))
    with pytest.raises(ValueError, match="single-channel"):
        read_masks(tmp_path, "1", (H, W))


def test_both_formats_is_ambiguous(tmp_path):
    _png(tmp_path)
    np.savez(tmp_path / "0.npz", masks=np.zeros((1, H, W), bool))
    with pytest.raises(ValueError, match="both"):
        read_masks(tmp_path, "0", (H, W))


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"labels": np.array(["a"])}, "no 'masks'"),
        ({"masks": np.zeros((H, W), bool)}, r"\[N, H, W\] bool"),
        ({"masks": np.full((1, H, W), 3, np.uint8)}, r"\[N, H, W\] bool"),
        ({"masks": np.zeros((2, H, W), bool), "labels": np.array(["a"])}, "'labels' must be"),
        ({"masks": np.zeros((1, H, W), bool), "scores": np.array([2.0])}, "'scores' must be"),
    ],
)
def test_bad_npz(tmp_path, arrays, match):
    np.savez(tmp_path / "0.npz", **arrays)
    with pytest.raises(ValueError, match=match):
        read_masks(tmp_path, "0", (H, W))


def test_corrupt_npz(tmp_path):
    (tmp_path / "0.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ValueError, match="0.npz: not a readable .npz"):
        read_masks(tmp_path, "0", (H, W))


def test_missing_frame_without_shape(tmp_path):
    with pytest.raises(ValueError, match="no shape"):
        read_masks(tmp_path, "0")
