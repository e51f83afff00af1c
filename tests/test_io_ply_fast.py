"""The PLY fast paths (triangle lists read as numpy records, records written as blocks) against plyfile."""

import io

import numpy as np
import pytest
from plyfile import PlyData, PlyElement

from tracklift.io.ply import Mesh, _ply_elements, _ply_records, read_ply, write_ply


def _mesh(seed: int = 0, faces: int = 40, extra: bool = True) -> Mesh:
    rng = np.random.default_rng(seed)
    vertices = rng.normal(size=(30, 3)).astype(np.float32)
    data = {"instance": rng.integers(-1, 5, 30).astype(np.int32)} if extra else {}
    return Mesh(
        vertices,
        rng.integers(0, 30, (faces, 3)),
        rng.integers(0, 256, (30, 3)).astype(np.uint8),
        data,
    )


@pytest.mark.parametrize("faces", [0, 1, 40])
def test_write_gives_plyfiles_bytes(tmp_path, faces):
    mesh = _mesh(faces=faces)
    write_ply(tmp_path / "m.ply", mesh)
    reference = io.BytesIO()
    PlyData(_ply_elements(*_ply_records(mesh)), text=False, byte_order="<").write(reference)
    assert (tmp_path / "m.ply").read_bytes() == reference.getvalue()


def test_triangles_read_fast_equal_plyfiles_general_read(tmp_path):
    mesh = _mesh()
    write_ply(tmp_path / "m.ply", mesh)
    fast = read_ply(tmp_path / "m.ply")
    general = PlyData.read(str(tmp_path / "m.ply"), mmap=False)  # face by face
    faces = np.stack([np.asarray(f) for f in general["face"].data["vertex_indices"]])
    np.testing.assert_array_equal(fast.faces, faces)
    np.testing.assert_array_equal(fast.faces, mesh.faces)
    np.testing.assert_array_equal(fast.vertices, mesh.vertices)
    np.testing.assert_array_equal(fast.colors, mesh.colors)
    np.testing.assert_array_equal(fast.vertex_data["instance"], mesh.vertex_data["instance"])
    assert not isinstance(fast.vertex_data["instance"], np.memmap)


def test_polygon_faces_fall_back_to_the_general_reader(tmp_path):
    vert = np.array([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0)], dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")])
    face = np.empty(2, dtype=[("vertex_indices", object)])
    face["vertex_indices"] = [np.array([0, 1, 2], np.int32), np.array([0, 2, 3, 1], np.int32)]
    PlyData([PlyElement.describe(vert, "vertex"), PlyElement.describe(face, "face")], text=False).write(
        str(tmp_path / "q.ply")
    )
    # the general reader keeps a polygon's first three corners
    np.testing.assert_array_equal(read_ply(tmp_path / "q.ply").faces, [[0, 1, 2], [0, 2, 3]])


def test_truncated_triangle_file_is_refused_naming_it(tmp_path):
    write_ply(tmp_path / "m.ply", _mesh())
    data = (tmp_path / "m.ply").read_bytes()
    (tmp_path / "m.ply").write_bytes(data[:-20])
    with pytest.raises(ValueError, match=r"m\.ply: not a readable PLY file"):
        read_ply(tmp_path / "m.ply")
