"""Precomputed masks from the fuzz campaign of issue 16: every broken mask file is a ValueError naming it
(the pipeline then skips and counts that frame), never a RecursionError, TypeError or RuntimeError."""

from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest

from tests.faults import DEEP_JSON, deny, symlink_loop
from tracklift.segment2d.precomputed import read_masks

H, W = 6, 8


def _png(folder, ids: np.ndarray | None = None) -> None:
    ids = np.zeros((H, W), np.uint16) if ids is None else ids
    ids[:2, :3] = 1
    _, buf = cv2.imencode(".png", ids)
    (folder / "0.png").write_bytes(buf.tobytes())


def _npz(folder, **arrays) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (folder / "0.npz").write_bytes(buf.getvalue())


def test_sidecar_nested_thousands_of_levels(tmp_path):
    _png(tmp_path)
    (tmp_path / "0.json").write_text(DEEP_JSON)
    with pytest.raises(ValueError, match=r"0\.json: invalid JSON \(nested too deeply\)"):
        read_masks(tmp_path, "0", (H, W))


@pytest.mark.parametrize("sidecar", ['{"1": {"label": "\\ud800"}}', '{"1": {"label": "ok\\udcff"}}'])
def test_sidecar_label_with_a_lone_surrogate(tmp_path, sidecar):
    _png(tmp_path)
    (tmp_path / "0.json").write_text(sidecar)
    with pytest.raises(ValueError, match=r"0\.json: label of id 1 .* is not valid Unicode"):
        read_masks(tmp_path, "0", (H, W))


def test_sidecar_score_that_is_a_boolean(tmp_path):
    _png(tmp_path)
    (tmp_path / "0.json").write_text(json.dumps({"1": {"score": True}}))
    with pytest.raises(ValueError, match="score of id 1 must be a number"):
        read_masks(tmp_path, "0", (H, W))


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"scores": np.array(["0.5"])}, "'scores' must be"),
        ({"scores": np.array([b"x"])}, "'scores' must be"),
        ({"labels": np.array([1])}, "'labels' must be"),
        ({"labels": np.array(["\udcff"])}, "label 0 .* is not valid Unicode"),
    ],
    ids=["string-scores", "bytes-scores", "numeric-labels", "surrogate-label"],
)
def test_npz_fields_of_the_wrong_kind(tmp_path, arrays, match):
    _npz(tmp_path, masks=np.ones((1, H, W), bool), **arrays)
    with pytest.raises(ValueError, match=match):
        read_masks(tmp_path, "0", (H, W))


def test_npz_masks_of_strings(tmp_path):
    _npz(tmp_path, masks=np.full((1, H, W), "1"))
    with pytest.raises(ValueError, match=r"'masks' must be \[N, H, W\] bool"):
        read_masks(tmp_path, "0", (H, W))


@pytest.mark.parametrize("name", ["0.png", "0.npz", "0.json"])
def test_mask_file_that_is_a_symlink_loop(tmp_path, name):
    if name == "0.json":
        _png(tmp_path)
    symlink_loop(tmp_path / name)
    with pytest.raises(ValueError, match=f"{name}: not a readable file"):
        read_masks(tmp_path, "0", (H, W))


def test_dangling_mask_link_and_folder_named_like_a_mask(tmp_path):
    (tmp_path / "0.png").symlink_to(tmp_path / "gone.png")
    with pytest.raises(ValueError, match=r"0\.png: not a readable file"):
        read_masks(tmp_path, "0", (H, W))
    (tmp_path / "0.png").unlink()
    (tmp_path / "0.npz").mkdir()
    with pytest.raises(ValueError, match=r"0\.npz: not a regular file"):
        read_masks(tmp_path, "0", (H, W))


@pytest.mark.parametrize("name", ["0.png", "0.json"])
def test_mask_file_the_user_may_not_read(tmp_path, monkeypatch, name):
    _png(tmp_path)
    if name == "0.json":
        (tmp_path / name).write_text("{}")
    deny(monkeypatch, tmp_path / name)
    with pytest.raises(PermissionError) as err:
        read_masks(tmp_path, "0", (H, W))
    assert err.value.filename == str(tmp_path / name)
