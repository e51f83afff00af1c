"""The naive baseline: lift masks, voxelise, merge greedily by voxel overlap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.naive_baseline import (
    LiftedMask,
    NaiveConfig,
    greedy_merge,
    greedy_merge_reference,
    lift_frame,
    objects_to_instances,
    vertex_objects,
)
from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame

H, W = 48, 64
K = np.array([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]])


def wall_frame(depth_m: float = 2.0) -> Frame:
    """A camera at the origin looking along +z at a fronto-parallel wall `depth_m` away."""
    depth = np.full((H, W), depth_m, np.float32)
    depth[:4] = 0  # a band without depth
    return Frame(np.zeros((H, W, 3), np.uint8), depth, K, np.eye(4), "0", 0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), min_overlap=st.sampled_from([0.0, 0.25, 0.5, 1.0]))
def test_greedy_merge_matches_the_plain_reference(seed, min_overlap):
    rng = np.random.default_rng(seed)
    masks = [np.unique(rng.integers(0, 60, rng.integers(0, 25))) for _ in range(rng.integers(0, 12))]
    fast = greedy_merge(masks, min_overlap)
    slow = greedy_merge_reference(masks, min_overlap)
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)


def test_greedy_merge_hand_case():
    masks = [np.array([1, 2, 3, 4]), np.array([3, 4, 5, 6]), np.array([10, 11]), np.array([5, 6, 10, 11, 12])]
    assigned, keys, owners = greedy_merge(masks, 0.5)
    # mask 1 shares 2 of 4 voxels with object 0; mask 3 shares 2 with object 0 and 2 with object 1
    # (not half of 5 for either), so it starts object 2 and claims only the free voxel 12
    assert assigned.tolist() == [0, 0, 1, 2]
    assert keys.tolist() == [1, 2, 3, 4, 5, 6, 10, 11, 12]
    assert owners.tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 2]


def test_lift_frame_voxels_lie_on_the_wall_and_skip_invalid_depth():
    masks = np.zeros((3, H, W), bool)
    masks[0, 10:20, 10:20] = True
    masks[1, :4, :] = True  # only where depth is missing
    masks[2, 30:, 40:] = True
    lifted = lift_frame(
        wall_frame(), FrameMasks(masks, ["chair", None, "table"], np.array([0.9, 0.5, 0.7])), NaiveConfig(voxel=0.1)
    )
    assert [m.label for m in lifted] == ["chair", "table"] and [m.score for m in lifted] == pytest.approx([0.9, 0.7])
    from tracklift.lift.voxels import key_centres

    centres = key_centres(lifted[0].keys, 0.1)
    assert np.allclose(centres[:, 2], 2.05)  # every voxel in the slab 2.0 <= z < 2.1
    # 10 pixels at 2 m / 50 px = 0.4 m wide: 4 to 5 voxels of 0.1 m each way
    assert 16 <= len(lifted[0].keys) <= 25 and np.all(np.diff(lifted[0].keys) > 0)


def test_lift_frame_rejects_masks_of_another_size():
    with pytest.raises(ValueError, match=r"frame '0': masks are \(10, 10\)"):
        lift_frame(wall_frame(), FrameMasks(np.zeros((1, 10, 10), bool)), NaiveConfig())


def test_vertex_objects_looks_up_each_vertex_voxel():
    from tracklift.lift.voxels import voxel_keys

    vertices = np.array([[0.01, 0.01, 0.01], [0.26, 0.0, 0.0], [5.0, 5.0, 5.0]], np.float32)
    keys = np.sort(voxel_keys(vertices[:2], 0.25))
    owners = np.array([3, 7]) if keys[0] == voxel_keys(vertices[:1], 0.25)[0] else np.array([7, 3])
    assert vertex_objects(vertices, keys, owners, 0.25).tolist() == [3, 7, -1]
    assert vertex_objects(vertices, np.zeros(0, np.int64), np.zeros(0, np.int64), 0.25).tolist() == [-1, -1, -1]


def test_objects_to_instances_votes_labels_and_scores_support():
    lifted = [
        LiftedMask(np.array([1]), "chair", 0.6),
        LiftedMask(np.array([2]), "sofa bed", 0.9),
        LiftedMask(np.array([3]), "chair", 0.6),
        LiftedMask(np.array([4]), None, 0.3),
    ]
    assigned = np.array([0, 0, 0, 1])
    vertex_object = np.array([0, 0, 1, -1, 2])  # object 2 has no mask: never happens, must not crash
    instances = objects_to_instances(lifted, assigned, vertex_object, {"chair": 2, "table": 4})
    assert len(instances) == 2
    assert instances[0].label_id == 2 and instances[0].mask.tolist() == [True, True, False, False, False]
    assert instances[0].score == pytest.approx(0.7 * 3 / 4)  # "sofa bed" is no vocabulary name: no vote
    assert instances[1].label_id is None and instances[1].score == pytest.approx(0.3 / 2)


def make_wall_scene(root, frames: int = 2):
    """A ScanNet-layout scene: a wall 2.02 m in front of a fixed camera, left half a chair (2001), right
    half a table (4001); mesh vertices on a 5 cm grid; 2D masks split the image at the same line."""
    import cv2

    from tracklift.io.ply import Mesh, write_ply

    for d in ("color", "depth", "pose", "intrinsic", "gt"):
        (root / d).mkdir(parents=True)
    K4 = np.eye(4)
    K4[:3, :3] = K
    np.savetxt(root / "intrinsic" / "intrinsic_depth.txt", K4)
    masks_dir = root.parent / "masks"
    masks_dir.mkdir()
    ids = np.zeros((H, W), np.uint16)
    ids[:, :32] = 1  # x < 0 on the wall
    ids[:, 32:] = 2
    for f in range(frames):
        cv2.imwrite(str(root / "color" / f"{f}.jpg"), np.zeros((H, W, 3), np.uint8))
        cv2.imwrite(str(root / "depth" / f"{f}.png"), np.full((H, W), 2020, np.uint16))
        np.savetxt(root / "pose" / f"{f}.txt", np.eye(4))
        cv2.imwrite(str(masks_dir / f"{f}.png"), ids)
        (masks_dir / f"{f}.json").write_text(
            '{"1": {"label": "chair", "score": 0.9}, "2": {"label": "table", "score": 0.6}}'
        )
    x, y = np.meshgrid(np.arange(-1.2, 1.2, 0.05) + 0.025, np.arange(-0.9, 0.9, 0.05) + 0.025)
    vertices = np.stack([x.ravel(), y.ravel(), np.full(x.size, 2.02)], 1).astype(np.float32)
    write_ply(root / f"{root.name}_vh_clean_2.ply", Mesh(vertices))
    gt = np.where(vertices[:, 0] < 0, 2001, 4001)
    (root / "gt" / f"{root.name}.txt").write_text("".join(f"{i}\n" for i in gt))
    return masks_dir, gt


def test_naive_baseline_end_to_end_is_perfect_on_a_clean_scene(tmp_path):
    pytest.importorskip("tracklift.segment2d.precomputed")
    from benchmarks.naive_baseline import naive_baseline
    from tracklift.data.scene import open_scene
    from tracklift.eval import evaluate
    from tracklift.vocab import load_vocabulary

    masks_dir, gt = make_wall_scene(tmp_path / "scene0000_00")
    scene = open_scene(tmp_path / "scene0000_00")
    instances = naive_baseline(scene, masks_dir)
    assert sorted(p.label_id for p in instances) == [2, 4]
    assert sorted(p.score for p in instances) == pytest.approx([0.6 * 2 / 3, 0.9 * 2 / 3])
    vocab = load_vocabulary("scannet200")
    for agnostic in (False, True):
        result = evaluate({scene.name: instances}, {scene.name: gt}, vocab, agnostic=agnostic)
        assert result["all"] == {"ap": 1.0, "ap50": 1.0, "ap25": 1.0}


def test_naive_baseline_needs_a_mesh(tmp_path):
    from benchmarks.naive_baseline import naive_baseline
    from tracklift.data.scene import open_scene

    masks_dir, _ = make_wall_scene(tmp_path / "scene0000_00")
    (tmp_path / "scene0000_00" / "scene0000_00_vh_clean_2.ply").unlink()
    with pytest.raises(FileNotFoundError, match="has no mesh"):
        naive_baseline(open_scene(tmp_path / "scene0000_00"), masks_dir)
