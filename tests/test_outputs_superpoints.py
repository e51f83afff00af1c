"""A scene's own superpoints are reused only for the mesh they were made from."""

from types import SimpleNamespace

import numpy as np

from tracklift.io.ply import Mesh, write_ply
from tracklift.io.segs import write_segs
from tracklift.outputs.transfer import mesh_superpoints


def _scene(tmp_path, vertices=4):
    write_ply(tmp_path / "s_vh_clean_2.ply", Mesh(np.zeros((vertices, 3)), [[0, 1, 2]]))
    write_segs(tmp_path / "s.segs.json", np.array([0, 0, 2, 2]), "s")
    return SimpleNamespace(mesh_path=tmp_path / "s_vh_clean_2.ply", segs_path=tmp_path / "s.segs.json")


def test_own_mesh_reuses_its_segs(tmp_path):
    scene = _scene(tmp_path)
    np.testing.assert_array_equal(mesh_superpoints(scene, None, 4), [0, 0, 2, 2])
    np.testing.assert_array_equal(mesh_superpoints(scene, tmp_path / "." / "s_vh_clean_2.ply", 4), [0, 0, 2, 2])


def test_another_mesh_or_count_or_no_segs_makes_them_anew(tmp_path):
    scene = _scene(tmp_path)
    assert mesh_superpoints(scene, tmp_path / "other.ply", 4) is None
    assert mesh_superpoints(scene, False, 4) is None
    assert mesh_superpoints(scene, None, 5) is None  # the file was made from a mesh of 4 vertices
    assert mesh_superpoints(SimpleNamespace(mesh_path=scene.mesh_path), None, 4) is None
    (tmp_path / "s.segs.json").write_text("not json")
    assert mesh_superpoints(scene, None, 4) is None
