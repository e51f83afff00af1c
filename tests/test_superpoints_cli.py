"""`*.segs.json` files and the `tracklift superpoints` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tracklift.cli import main
from tracklift.io.ply import Mesh, write_ply
from tracklift.refine.segmentator import segment_mesh
from tracklift.refine.segs import read_segs, write_segs


def folded_sheet(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """An n×n-vertex sheet bent 90° along its middle column (a floor meeting a wall)."""
    x, y = (g.ravel() for g in np.meshgrid(np.arange(n, dtype=float), np.arange(n, dtype=float), indexing="ij"))
    fold = n // 2
    vertices = np.stack([np.minimum(x, fold), y, np.maximum(x - fold, 0)], 1).astype(np.float32) * 0.05
    i, j = np.meshgrid(np.arange(n - 1), np.arange(n - 1), indexing="ij")
    a = (i * n + j).ravel()
    faces = np.concatenate([np.stack([a, a + n + 1, a + 1], 1), np.stack([a, a + n, a + n + 1], 1)])
    return vertices, faces


def test_segs_round_trip_in_scannet_layout(tmp_path):
    seg = np.array([0, 0, 5, 5, 5])
    path = tmp_path / "scene0000_00_vh_clean_2.0.010000.segs.json"
    write_segs(path, seg, "scene0000_00_vh_clean_2", 0.01, 20)
    doc = json.loads(path.read_text())
    assert doc == {
        "params": {"kThresh": 0.01, "segMinVerts": 20},
        "sceneId": "scene0000_00_vh_clean_2",
        "segIndices": [0, 0, 5, 5, 5],
    }
    assert " " not in path.read_text()  # compact, like ScanNet's files
    got = read_segs(path, num_vertices=5)
    assert got.dtype == np.int64 and got.tolist() == seg.tolist()
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_reads_minimal_files_like_scannetpp(tmp_path):
    path = tmp_path / "segments.json"
    path.write_text('{"segIndices": [3, 1, 3]}')
    assert read_segs(path).tolist() == [3, 1, 3]


@pytest.mark.parametrize(
    ("text", "count", "match"),
    [
        ("{not json", None, "not valid JSON"),
        ('{"sceneId": "x"}', None, "segIndices"),
        ('{"segIndices": [1, 2.5]}', None, "integers"),
        ('{"segIndices": [1, true]}', None, "integers"),
        ('{"segIndices": [1, 2]}', 3, "2 segIndices for a mesh of 3 vertices"),
    ],
)
def test_read_bad_segs(tmp_path, text, count, match):
    path = tmp_path / "bad.segs.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_segs(path, count)


def test_read_missing_segs(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such segments file"):
        read_segs(tmp_path / "missing.segs.json")


def test_write_bad_segs(tmp_path):
    with pytest.raises(ValueError, match="seg_indices"):
        write_segs(tmp_path / "x.segs.json", np.zeros((2, 2), int), "x")


def test_cli_segments_a_mesh(tmp_path, capsys):
    vertices, faces = folded_sheet()
    write_ply(tmp_path / "room.ply", Mesh(vertices, faces))
    out = tmp_path / "out" / "room.segs.json"
    assert main(["superpoints", str(tmp_path / "room.ply"), "--out", str(out), "--min-verts", "10"]) == 0
    seg = read_segs(out, len(vertices))
    np.testing.assert_array_equal(seg, segment_mesh(vertices, faces, 0.01, 10))
    assert len(np.unique(seg)) == 2  # floor and wall
    doc = json.loads(out.read_text())
    assert doc["sceneId"] == "room" and doc["params"] == {"kThresh": 0.01, "segMinVerts": 10}
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
