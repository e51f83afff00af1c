"""Leaf readers on the broken files of issue 16's fuzz campaign: one ValueError naming the file."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from tests.faults import DEEP_JSON
from tracklift.cli import main
from tracklift.io.npz import read_instances_npz, read_npz
from tracklift.io.ply import Mesh, read_ply, write_ply
from tracklift.io.segs import read_segs
from tracklift.io.textfile import check_text, read_json

PLY_HEADER = (
    "ply\nformat ascii 1.0\nelement vertex {n}\n{props}element face {f}\n"
    "property list uchar int vertex_indices\nend_header\n"
)


def _ascii_ply(path, rows: list[str], props=("x", "y", "z"), faces: list[str] = ()) -> None:
    header = PLY_HEADER.format(n=len(rows), f=len(faces), props="".join(f"property float {p}\n" for p in props))
    path.write_text(header + "".join(r + "\n" for r in rows) + "".join(f + "\n" for f in faces))


def test_read_json_of_deep_nesting_and_bad_bytes(tmp_path):
    path = tmp_path / "a.segs.json"
    path.write_text(DEEP_JSON)
    with pytest.raises(ValueError, match=r"a\.segs\.json: invalid JSON \(nested too deeply\)"):
        read_segs(path)
    path.write_bytes(b'{"segIndices": [1]}\xff')
    with pytest.raises(ValueError, match=r"a\.segs\.json: not UTF-8 text \(invalid start byte at byte 19\)"):
        read_json(path)
    path.write_text('{"segIndices": [0, 0, 1]}')
    assert read_segs(path).tolist() == [0, 0, 1]


def test_check_text_refuses_lone_surrogates(tmp_path):
    assert check_text("chair", tmp_path, "label") == "chair"
    with pytest.raises(ValueError, match=r"label 'a\\\\udcffb' is not valid Unicode"):
        check_text("a\udcffb", tmp_path, "label")


@pytest.mark.parametrize(
    "data", [b"", b"PK\x03\x04garbage", b"not a zip at all", None], ids=["empty", "bad-zip", "text", "truncated"]
)
def test_corrupt_npz_is_one_value_error(tmp_path, data):
    path = tmp_path / "s_instances.npz"
    if data is None:  # a real archive cut in half, as a kill mid-copy leaves it
        buf = io.BytesIO()
        np.savez_compressed(buf, points=np.zeros((100, 3), np.float32), instance_of_point=np.zeros(100, np.int64))
        data = buf.getvalue()[: len(buf.getvalue()) // 2]
    path.write_bytes(data)
    with pytest.raises(ValueError, match=r"s_instances\.npz: not a readable \.npz"):
        read_instances_npz(path)
    assert not isinstance(ValueError(), zipfile.BadZipFile)


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"points": np.zeros((2, 3))}, "no 'instance_of_point' array"),
        ({"points": np.zeros((2, 2)), "instance_of_point": np.zeros(2, int)}, "'points' must be"),
        ({"points": np.array([["a", "b", "c"]]), "instance_of_point": np.zeros(1, int)}, "'points' must be"),
        ({"points": np.zeros((2, 3)), "instance_of_point": np.zeros(3, int)}, "'instance_of_point' must be"),
        ({"points": np.zeros((1, 3)), "instance_of_point": np.array(["0"])}, "'instance_of_point' must be"),
        ({"points": np.full((1, 3), np.nan), "instance_of_point": np.zeros(1, int)}, "NaN or inf"),
    ],
)
def test_instances_npz_with_bad_fields(tmp_path, arrays, match):
    path = tmp_path / "s_instances.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=match):
        read_instances_npz(path)


def test_instances_npz_round_trip(tmp_path):
    points = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.savez(tmp_path / "s.npz", points=points, instance_of_point=np.array([0, -1, 1, 0], np.int32))
    got, owner = read_instances_npz(tmp_path / "s.npz")
    assert got.dtype == np.float32 and np.array_equal(got, points) and owner.tolist() == [0, -1, 1, 0]
    assert sorted(read_npz(tmp_path / "s.npz")) == ["instance_of_point", "points"]


def test_ply_with_zero_vertices_is_an_error(tmp_path):
    path = tmp_path / "mesh.ply"
    _ascii_ply(path, [])
    with pytest.raises(ValueError, match=r"mesh\.ply: mesh has no vertices"):
        read_ply(path)


def test_ply_with_missing_properties_or_nan_coordinates(tmp_path):
    path = tmp_path / "mesh.ply"
    _ascii_ply(path, ["0 0", "1 0"], props=("x", "y"))
    with pytest.raises(ValueError, match=r"mesh\.ply: vertex element lacks properties \['z'\]"):
        read_ply(path)
    _ascii_ply(path, ["0 0 0", "nan 1 0", "0 1 0"])
    with pytest.raises(ValueError, match=r"mesh\.ply: vertex 1 has NaN or inf coordinates"):
        read_ply(path)
    _ascii_ply(path, ["0 0 0", "1 0 0", "0 1 0"], faces=["3 0 1 7"])
    with pytest.raises(ValueError, match=r"mesh\.ply: faces index vertices outside \[0, 3\)"):
        read_ply(path)
    _ascii_ply(path, ["0 0 0", "1 0 0", "0 1 0"], faces=["2 0 1"])
    with pytest.raises(ValueError, match=r"mesh\.ply: face element is not a list of triangles"):
        read_ply(path)


def test_ply_round_trip_still_reads(tmp_path):
    mesh = Mesh(np.eye(3, dtype=np.float32), np.array([[0, 1, 2]]))
    write_ply(tmp_path / "m.ply", mesh)
    back = read_ply(tmp_path / "m.ply")
    assert np.array_equal(back.vertices, mesh.vertices) and back.faces.tolist() == [[0, 1, 2]]


def test_superpoints_on_an_empty_mesh_is_one_error_line(tmp_path, capsys):
    path = tmp_path / "scene_vh_clean_2.ply"
    _ascii_ply(path, [])
    assert main(["superpoints", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"tracklift superpoints: error: {path}: mesh has no vertices"


def test_contained_path_keeps_data_file_paths_inside_their_folder(tmp_path):
    from tracklift.io.paths import contained_path

    (tmp_path / "a").mkdir()
    assert contained_path(tmp_path, "a/x.txt", "idx line 1") == (tmp_path / "a" / "x.txt").resolve()
    for rel, message in [
        ("/etc/passwd", "must be a path relative"),
        ("a/../../x", "points outside"),
        ("", "must be a relative path"),
    ]:
        with pytest.raises(ValueError, match=f"idx line 1: mask file .*{message}"):
            contained_path(tmp_path, rel, "idx line 1", "mask file")
    (tmp_path / "out").symlink_to("/")
    with pytest.raises(ValueError, match="points outside"):
        contained_path(tmp_path, "out/etc/passwd", "idx line 1")
    (tmp_path / "loop").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop")
    with pytest.raises(ValueError, match="cannot be resolved"):
        contained_path(tmp_path, "loop/x", "idx line 1")
