"""The `tracklift superpoints` command: PLY in, ScanNet `*.segs.json` out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tracklift.cli import main
from tracklift.io.ply import Mesh, write_ply
from tracklift.io.segs import read_segs
from tracklift.superpoints.segmentator import segment_mesh


def folded_sheet(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """An n×n-vertex sheet bent 90° along its middle column (a floor meeting a wall)."""
    x, y = (g.ravel() for g in np.meshgrid(np.arange(n, dtype=float), np.arange(n, dtype=float), indexing="ij"))
    fold = n // 2
    vertices = np.stack([np.minimum(x, fold), y, np.maximum(x - fold, 0)], 1).astype(np.float32) * 0.05
    i, j = np.meshgrid(np.arange(n - 1), np.arange(n - 1), indexing="ij")
    a = (i * n + j).ravel()
    faces = np.concatenate([np.stack([a, a + n + 1, a + 1], 1), np.stack([a, a + n, a + n + 1], 1)])
    return vertices, faces


def test_cli_segments_a_mesh(tmp_path, capsys):
    vertices, faces = folded_sheet()
    write_ply(tmp_path / "room.ply", Mesh(vertices, faces))
    out = tmp_path / "out" / "room.segs.json"
    assert main(["superpoints", str(tmp_path / "room.ply"), "--out", str(out), "--min-verts", "10"]) == 0
    seg = read_segs(out, len(vertices))
    np.testing.assert_array_equal(seg, segment_mesh(vertices, faces, 0.01, 10))
    assert len(np.unique(seg)) == 2  # floor and wall
    written = json.loads(out.read_text())
    assert written["sceneId"] == "room" and written["params"] == {"kThresh": 0.01, "segMinVerts": 10}  # as ScanNet's
    assert [p.name for p in out.parent.iterdir()] == ["room.segs.json"]  # written atomically, no temp left
    assert "2 superpoints" in capsys.readouterr().out


def test_cli_default_output_name_and_point_cloud(tmp_path):
    points = np.random.default_rng(0).uniform(0, 1, (300, 3)).astype(np.float32) * [1, 1, 0]
    write_ply(tmp_path / "cloud.ply", Mesh(points))
    assert main(["superpoints", str(tmp_path / "cloud.ply"), "--k", "0.05"]) == 0
    seg = read_segs(tmp_path / "cloud.0.050000.segs.json", 300)
    assert len(np.unique(seg)) == 1  # a flat cloud is one superpoint


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--k", "0"], "--k must be > 0"), (["--min-verts", "-1"], "--min-verts must be >= 0")],
)
def test_cli_bad_arguments(tmp_path, capsys, args, message):
    vertices, faces = folded_sheet()
    write_ply(tmp_path / "room.ply", Mesh(vertices, faces))
    assert main(["superpoints", str(tmp_path / "room.ply"), *args]) == 2
    assert message in capsys.readouterr().err


def test_cli_missing_mesh(tmp_path, capsys):
    assert main(["superpoints", str(tmp_path / "nope.ply")]) == 2
    assert "no such PLY file" in capsys.readouterr().err
