import json

import numpy as np
import pytest

from tracklift.core.instance import Instance3D
from tracklift.data.frame import Frame
from tracklift.io.ply import read_ply
from tracklift.outputs.pictures import frames_picture, instance_colors, render_instances, top_down_picture
from tracklift.outputs.scene_files import instance_label_id, instance_of_point, write_scene
from tracklift.outputs.transfer import (
    check_alignment,
    fused_points,
    transfer_and_observed,
    transfer_to_points,
    transfer_to_points_reference,
)
from tracklift.vocab import load_vocabulary


def two_instances() -> list[Instance3D]:
    a = np.array([[0, 0, 0], [0.1, 0, 0], [0.2, 0, 0]], np.float32)
    b = np.array([[1, 0, 0], [1.1, 0, 0], [0.2, 0, 0]], np.float32)  # shares (0.2, 0, 0) with a
    return [
        Instance3D(0, a, {"chair": 2.0, "table": 1.0}, [0, 1], 0.9),
        Instance3D(1, b, {"not a class": 5.0}, [1], 0.4),
    ]


def test_transfer_matches_reference_and_hand_case():
    inst = two_instances()
    verts = np.array([[0.01, 0, 0], [0.2, 0.02, 0], [1.05, 0.0, 0.0], [3, 3, 3]], np.float32)
    out = transfer_to_points(inst, verts, radius=0.06)
    np.testing.assert_array_equal(out, [[1, 1, 0, 0], [0, 1, 1, 0]])
    np.testing.assert_array_equal(out, transfer_to_points_reference(inst, verts, 0.06))
    rng = np.random.default_rng(0)
    many = [Instance3D(k, rng.random((20, 3))) for k in range(3)]
    verts = rng.random((200, 3)) * 1.2
    np.testing.assert_array_equal(transfer_to_points(many, verts, 0.1), transfer_to_points_reference(many, verts, 0.1))
    assert transfer_to_points([], verts, 0.1).shape == (0, 200)
    with pytest.raises(ValueError, match="vertices must be"):
        transfer_to_points(many, np.zeros((3, 2)), 0.1)


def test_observed_vertices_are_those_near_any_instance_or_background_point():
    rng = np.random.default_rng(1)
    many = [Instance3D(k, rng.random((15, 3))) for k in range(3)]
    background = rng.random((30, 3)).astype(np.float32)
    verts = rng.random((300, 3)) * 1.2
    masks, observed = transfer_and_observed(many, verts, 0.08, background)
    every = np.concatenate([i.points for i in many] + [background])
    near = np.linalg.norm(verts[:, None] - every[None], axis=2).min(axis=1) <= 0.08
    np.testing.assert_array_equal(observed, near)
    np.testing.assert_array_equal(masks, transfer_to_points_reference(many, verts, 0.08, background))
    assert observed[masks.any(axis=0)].all() and 0 < observed.sum() < len(verts)
    no_instances, seen = transfer_and_observed([], verts, 0.08, background)
    assert no_instances.shape == (0, 300)
    np.testing.assert_array_equal(seen, np.linalg.norm(verts[:, None] - background[None], axis=2).min(axis=1) <= 0.08)


def test_fused_points_and_alignment():
    inst = two_instances()
    assert len(fused_points(inst)) == 5
    assert check_alignment(fused_points(inst), fused_points(inst), 0.05) == 0.0
    with pytest.raises(ValueError, match="coordinate frame"):
        check_alignment(fused_points(inst), fused_points(inst) + 1.0, 0.05)


def test_labels_from_votes_and_classifier():
    vocab = load_vocabulary("scannet200")
    a, b = two_instances()
    assert instance_label_id(a, vocab) == vocab.id_of("chair")
    assert instance_label_id(b, vocab) is None
    b.label = "Table "
    assert instance_label_id(b, vocab) == vocab.id_of("table")


def test_instance_of_point_prefers_higher_score():
    masks = np.array([[1, 1, 0, 0], [0, 1, 1, 0]], bool)
    np.testing.assert_array_equal(instance_of_point(masks, np.array([0.9, 0.4])), [0, 0, 1, -1])


def test_write_scene_round_trip(tmp_path):
    from tracklift.eval import read_predictions

    vocab = load_vocabulary("scannet200")
    inst = two_instances()
    points = np.array([[0, 0, 0], [0.2, 0, 0], [1, 0, 0], [5, 5, 5]], np.float32)
    masks = transfer_to_points(inst, points, 0.05)
    paths = write_scene(
        tmp_path, "scene0", inst, masks, points, vocab, scene_dir=tmp_path, extra={"run": {"frames": 2}}
    )
    doc = json.loads(paths["json"].read_text())
    assert doc["scene_dir"] == str(tmp_path.resolve()) and doc["run"] == {"frames": 2}
    assert [i["views"] for i in doc["instances"]] == [2, 1] and doc["instances"][0]["label"] == "chair"
    npz = np.load(paths["npz"])
    np.testing.assert_array_equal(npz["points"], points)
    np.testing.assert_array_equal(npz["instance_of_point"], [0, 0, 1, -1])
    ply = read_ply(paths["ply"])
    np.testing.assert_array_equal(ply.vertex_data["instance"], [0, 0, 1, -1])
    preds = read_predictions(tmp_path, vocab)["scene0"]
    np.testing.assert_array_equal(preds[0].mask, masks[0])
    assert preds[0].label_id == vocab.id_of("chair") and preds[1].label_id is None
    with pytest.raises(ValueError, match="masks must be"):
        write_scene(tmp_path, "scene0", inst, masks[:, :2], points, vocab)


def test_pictures_shapes_and_paint():
    colors = instance_colors(5)
    assert colors.shape == (5, 3) and len({tuple(c) for c in colors}) == 5
    K = np.array([[20.0, 0, 15.5], [0, 20.0, 11.5], [0, 0, 1]])
    depth = np.full((24, 32), 2.0, np.float32)
    frame = Frame(np.full((24, 32, 3), 200, np.uint8), depth, K, np.eye(4), "0", 0)
    wall = Instance3D(0, np.array([[x, y, 2.0] for x in np.linspace(-0.4, 0.4, 9) for y in np.linspace(-0.3, 0.3, 7)]))
    hidden = Instance3D(1, np.array([[0.0, 0.0, 3.0]]))  # behind the wall
    img = render_instances(frame, [wall, hidden], colors[:2], voxel=0.1)
    centre = img[12, 16].astype(int)
    expected = (0.3 * 200 + 0.7 * colors[0]).astype(int)
    assert np.abs(centre - expected).max() <= 1
    assert frames_picture([frame, frame], [wall], 0.1).shape == (48, 64, 3)
    top = top_down_picture([wall, hidden], size=64, names=["wall", "x"])
    assert top.shape == (64, 64, 3) and top.max() > 24
    assert top_down_picture([], size=16).shape == (16, 16, 3)


def grid_mesh(n: int = 6):
    """An n×n grid of vertices 0.1 m apart on z = 0, triangulated, plus a separate triangle far away."""
    xs, ys = np.meshgrid(np.arange(n) * 0.1, np.arange(n) * 0.1, indexing="ij")
    verts = np.stack([xs.ravel(), ys.ravel(), np.zeros(n * n)], 1)
    faces = []
    for i in range(n - 1):
        for j in range(n - 1):
            a, b, c, d = i * n + j, (i + 1) * n + j, i * n + j + 1, (i + 1) * n + j + 1
            faces += [(a, b, c), (b, d, c)]
    verts = np.concatenate([verts, [[5, 5, 0], [5.1, 5, 0], [5, 5.1, 0]]])
    faces.append((n * n, n * n + 1, n * n + 2))
    return verts.astype(np.float32), np.array(faces)


def test_complete_on_mesh_matches_reference_and_stays_on_its_component():
    from tracklift.outputs.transfer import complete_on_mesh, complete_on_mesh_reference, mesh_edges

    verts, faces = grid_mesh()
    n = len(verts)
    observed = np.zeros(n, bool)
    observed[[0, 1, 35]] = True  # two corners of the grid; the far triangle is unseen
    masks = np.zeros((2, n), bool)
    masks[0, [0, 1]] = True
    masks[1, 35] = True
    out = complete_on_mesh(masks, observed, verts, faces, max_distance=0.25)
    np.testing.assert_array_equal(out, complete_on_mesh_reference(masks, observed, verts, faces, 0.25))
    assert out[0, 2] and out[0, 6] and not out[1, 2]  # near corner 0, within 0.25 m
    assert not out[:, 14].any()  # (0.2, 0.2) is ≥ 0.28 m along edges from every seen vertex
    assert out[1, 29] and not out[:, n - 1].any()  # the far triangle has no seen vertex
    assert mesh_edges(verts, faces).nnz == 2 * (2 * 5 * 6 + 25 + 3)
    rng = np.random.default_rng(0)
    verts = verts + rng.normal(0, 0.01, verts.shape).astype(np.float32)  # no ties between path lengths
    observed = rng.random(n) < 0.3
    masks = rng.random((3, n)) < 0.5
    np.testing.assert_array_equal(
        complete_on_mesh(masks, observed, verts, faces, 0.3),
        complete_on_mesh_reference(masks, observed, verts, faces, 0.3),
    )


def test_background_points_block_transfer():
    inst = [Instance3D(0, np.array([[0, 0, 0]], np.float32))]
    verts = np.array([[0.01, 0, 0], [0.09, 0, 0]], np.float32)
    bg = np.array([[0.1, 0, 0]], np.float32)
    np.testing.assert_array_equal(transfer_to_points(inst, verts, 0.1), [[True, True]])
    np.testing.assert_array_equal(transfer_to_points(inst, verts, 0.1, bg), [[True, False]])
    np.testing.assert_array_equal(transfer_to_points_reference(inst, verts, 0.1, bg), [[True, False]])
