"""Every dataset layout: detection, and the exact depth, pose, intrinsics and colour each reader returns."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.fixtures_rgbd import (
    K_COLOR_128,
    K_DEPTH_64,
    LOSSY,
    MAKERS,
    make_7scenes,
    make_generic,
    make_replica,
    make_scannet,
    make_scannetpp,
    make_tum,
    pose_line,
)
from tracklift.data.frame import BadFrameError
from tracklift.data.scene import detect_layout, open_scene


def check_frames(fx, frames, lossy: bool) -> None:
    """Frames equal the fixture's: names, exact depth (metres) and pose, K, registered colour."""
    assert [f.name for f in frames] == fx.names
    for k, frame in enumerate(frames):
        assert frame.index == k
        assert frame.depth.dtype == np.float32 and frame.depth.shape == (48, 64)
        np.testing.assert_array_equal(frame.depth, fx.depth_m(k))
        # pixel (0, 0) holds 1.234 m in every fixture: raw units / scale, rounded once to float32
        assert frame.depth[0, 0] == np.float32(round(1.234 * fx.depth_scale) / fx.depth_scale)
        assert (frame.depth[10:14, 20:30] == 0).all()
        np.testing.assert_allclose(frame.pose, fx.poses[k], rtol=0, atol=1e-12)
        np.testing.assert_allclose(frame.K, fx.K, rtol=0, atol=1e-12)
        assert frame.color.shape == (48, 64, 3) and frame.color.dtype == np.uint8
        if lossy:
            # JPEG blurs block edges (measured mean error 6-12); swapped RGB/BGR would give ~120
            assert np.abs(frame.color.astype(int) - fx.color[k]).mean() < 15
        else:
            np.testing.assert_array_equal(frame.color, fx.color[k])


@pytest.mark.parametrize("layout", sorted(MAKERS))
def test_each_layout_is_detected_and_read_exactly(tmp_path, layout):
    fx = MAKERS[layout](tmp_path)
    assert detect_layout(fx.root) == layout
    scene = open_scene(fx.root)
    assert scene.layout == layout and scene.name == fx.root.name and scene.root == fx.root
    assert len(scene.stream) == len(fx.names)
    check_frames(fx, list(scene.stream), layout in LOSSY)
    assert scene.stream.skipped == []


@pytest.mark.parametrize("layout", sorted(MAKERS))
def test_explicit_layout_matches_detection(tmp_path, layout):
    fx = MAKERS[layout](tmp_path)
    assert open_scene(fx.root, layout=layout).stream.names == fx.names


def test_scannet_colour_intrinsics_are_rescaled_to_depth(tmp_path):
    # only intrinsic_color.txt (1296×968-style colour K): fx/2 and (c + 0.5)/2 - 0.5 at half resolution
    fx = make_scannet(tmp_path, intrinsic="color")
    frame = open_scene(fx.root).stream[0]
    np.testing.assert_allclose(frame.K, K_DEPTH_64, rtol=0, atol=1e-12)
    assert not np.allclose(K_COLOR_128, K_DEPTH_64)


def test_scannet_missing_intrinsics_is_an_error(tmp_path):
    fx = make_scannet(tmp_path)
    for f in (fx.root / "intrinsic").iterdir():
        f.unlink()
    with pytest.raises(FileNotFoundError, match="intrinsic_depth.txt"):
        open_scene(fx.root)


def test_scannet_scene_files_are_found(tmp_path):
    fx = make_scannet(tmp_path)
    root = fx.root
    for suffix in (
        "_vh_clean_2.ply",
        "_vh_clean.ply",
        "_vh_clean_2.0.010000.segs.json",
        ".aggregation.json",
        "_vh_clean.aggregation.json",
    ):
        (root / f"scene0000_00{suffix}").write_text("{}")
    (root / "gt").mkdir()
    (root / "gt" / "scene0000_00.txt").write_text("0\n")
    (tmp_path / "scannetv2-labels.combined.tsv").write_text("id\traw_category\n")
    scene = open_scene(root)
    assert scene.mesh_path == root / "scene0000_00_vh_clean_2.ply"
    assert scene.segs_path == root / "scene0000_00_vh_clean_2.0.010000.segs.json"
    assert scene.aggregation_path == root / "scene0000_00.aggregation.json"
    assert scene.gt_path == root / "gt" / "scene0000_00.txt"
    assert scene.labels_tsv == tmp_path / "scannetv2-labels.combined.tsv"


def test_scene_files_absent_are_none_and_single_ply_is_taken(tmp_path):
    fx = make_generic(tmp_path)
    scene = open_scene(fx.root)
    assert (scene.mesh_path, scene.segs_path, scene.aggregation_path, scene.gt_path, scene.labels_tsv) == (None,) * 5
    (fx.root / "room.ply").write_text("ply\n")
    assert open_scene(fx.root).mesh_path == fx.root / "room.ply"
    (fx.root / "other.ply").write_text("ply\n")
    assert open_scene(fx.root).mesh_path is None  # ambiguous: two meshes


@pytest.mark.parametrize("where", ["parent", "scene", "none"])
def test_replica_camera_from_cam_params_or_default(tmp_path, where):
    fx = make_replica(tmp_path, cam_params=where)
    scene = open_scene(fx.root)
    assert scene.mesh_path == tmp_path / "room0_mesh.ply"
    if where == "none":
        # the standard Replica camera (1200×680) is assumed; the 64×48 fixture then has the wrong size
        assert scene.stream.spec.depth_size == (1200, 680) and scene.stream.spec.depth_scale == 6553.5
        with pytest.raises(BadFrameError, match="1200×680"):
            scene.stream[0]
    else:
        check_frames(fx, list(scene.stream), lossy=True)


def test_replica_bad_traj_lines_cost_only_their_frames(tmp_path):
    fx = make_replica(tmp_path, n=4)
    lines = [pose_line(p) for p in fx.poses]
    lines[1] = "1 0 0"  # malformed
    (fx.root / "traj.txt").write_text("\n".join(lines[:3]) + "\n")  # frame 3 has no line
    stream = open_scene(fx.root).stream
    assert [f.name for f in stream] == ["frame000000", "frame000002"]
    reasons = dict(stream.skipped)
    assert "traj.txt line 2" in reasons["frame000001"]
    assert "no line for frame 3" in reasons["frame000003"]


def test_replica_incomplete_cam_params_is_an_error(tmp_path):
    fx = make_replica(tmp_path)
    (tmp_path / "cam_params.json").write_text(json.dumps({"camera": {"w": 64}}))
    with pytest.raises(ValueError, match="cam_params.json.*lacks"):
        open_scene(fx.root)


def test_scannetpp_uses_aligned_pose_and_per_frame_rgb_intrinsics(tmp_path):
    fx = make_scannetpp(tmp_path)
    scene = open_scene(fx.root)
    assert scene.mesh_path == fx.root / "scans" / "mesh_aligned_0.05.ply"
    # the JSON lists frame_000005 etc. without images: they are not frames
    assert scene.stream.names == fx.names
    # the iphone/ folder itself is also accepted
    assert open_scene(fx.root / "iphone").stream.names == fx.names


def test_scannetpp_frame_without_json_entry_is_skipped(tmp_path):
    fx = make_scannetpp(tmp_path)
    path = fx.root / "iphone" / "pose_intrinsic_imu.json"
    meta = json.loads(path.read_text())
    del meta["frame_000010"]
    meta["frame_000020"]["aligned_pose"] = [[float("-inf")] * 4] * 4
    path.write_text(json.dumps(meta))
    stream = open_scene(fx.root).stream
    assert [f.name for f in stream] == ["frame_000000", "frame_000030"]
    reasons = dict(stream.skipped)
    assert "no entry for frame_000010" in reasons["frame_000010"]
    assert "NaN or inf" in reasons["frame_000020"]


def test_tum_association_and_calibration(tmp_path):
    fx = make_tum(tmp_path, calibration=True)
    scene = open_scene(fx.root)
    # the orphan colour image (no depth within 0.02 s) is not listed
    assert scene.stream.names == fx.names
    check_frames(fx, list(scene.stream), lossy=False)


def test_tum_frame_without_ground_truth_is_skipped(tmp_path):
    fx = make_tum(tmp_path, n=4)
    gt = fx.root / "groundtruth.txt"
    lines = gt.read_text().splitlines()
    # drop ground truth within 0.02 s of the third frame's depth time (t0 + 2/30 + 0.005)
    t2 = float(fx.names[2]) + 0.005
    gt.write_text(
        "\n".join(row for row in lines if row.startswith("#") or abs(float(row.split()[0]) - t2) > 0.02) + "\n"
    )
    stream = open_scene(fx.root).stream
    assert [f.name for f in stream] == [fx.names[0], fx.names[1], fx.names[3]]
    assert "no ground-truth pose within 0.02 s" in dict(stream.skipped)[fx.names[2]]


def test_tum_malformed_list_line_names_file_and_line(tmp_path):
    fx = make_tum(tmp_path)
    with (fx.root / "groundtruth.txt").open("a") as f:
        f.write("1305031103.0 1 2 3\n")
    with pytest.raises(ValueError, match=r"groundtruth.txt line \d+: expected 8 fields"):
        open_scene(fx.root)


def test_tum_without_ground_truth_is_an_error(tmp_path):
    fx = make_tum(tmp_path)
    (fx.root / "groundtruth.txt").unlink()
    with pytest.raises(FileNotFoundError, match="groundtruth.txt"):
        open_scene(fx.root)


def test_7scenes_single_sequence_folder_uses_plain_stems(tmp_path):
    fx = make_7scenes(tmp_path, n=3, sequences=1)
    scene = open_scene(fx.root / "seq-01")
    assert scene.layout == "7scenes"
    assert scene.stream.names == ["frame-000000", "frame-000001", "frame-000002"]
    assert scene.stream[0].depth[1, 1] == 0  # raw 65535 = no measurement


@pytest.mark.parametrize("sequences", [1, 2])
def test_7scenes_jpeg_colour_and_camera_intrinsics_file(tmp_path, sequences):
    # the redkitchen copy: frame-XXXXXX.color.jpg and a 3×3 camera-intrinsics.txt beside the frames
    fx = make_7scenes(tmp_path, n=3, sequences=sequences, color_ext="jpg", intrinsics=True)
    root = fx.root / "seq-01" if sequences == 1 else fx.root
    if sequences == 1:
        (fx.root / "camera-intrinsics.txt").rename(root / "camera-intrinsics.txt")
        fx.names = [n.split("/")[1] for n in fx.names]
    scene = open_scene(root)
    assert scene.layout == "7scenes"
    check_frames(fx, list(scene.stream), lossy=True)


@pytest.mark.parametrize(
    "options",
    [
        {"poses_file": True},
        {"depth_npy": True},
        {"settings": {"depth_scale": 5000.0}},
        {"settings": {"intrinsics_of": "color"}},
    ],
    ids=["poses.txt", "npy-depth", "depth-scale", "colour-intrinsics"],
)
def test_generic_layout_variants(tmp_path, options):
    fx = make_generic(tmp_path, **options)
    scene = open_scene(fx.root)
    assert scene.layout == "generic"
    check_frames(fx, list(scene.stream), lossy=False)


def test_generic_depth_invalid_setting(tmp_path):
    fx = make_generic(tmp_path, settings={"depth_invalid": 3000})
    fx.depth_invalid = 3000
    check_frames(fx, list(open_scene(fx.root).stream), lossy=False)


def test_generic_npy_depth_non_finite_becomes_invalid(tmp_path):
    fx = make_generic(tmp_path, depth_npy=True)
    depth = fx.depth_m(0)
    depth[0, 1], depth[0, 2], depth[0, 3] = np.nan, np.inf, -1.0
    np.save(fx.files["000000"]["depth"], depth)
    frame = open_scene(fx.root).stream[0]
    assert (frame.depth[0, 1:4] == 0).all() and frame.depth[0, 0] == depth[0, 0]


def test_generic_unknown_setting_is_an_error(tmp_path):
    fx = make_generic(tmp_path, settings={"depthscale": 1000})
    with pytest.raises(ValueError, match="tracklift.json: unknown keys \\['depthscale'\\]"):
        open_scene(fx.root)


def test_generic_bad_setting_value_is_an_error(tmp_path):
    fx = make_generic(tmp_path, settings={"intrinsics_of": "rgb"})
    with pytest.raises(ValueError, match="bad settings.*K_of"):
        open_scene(fx.root)


def test_generic_pose_count_mismatch_is_an_error(tmp_path):
    fx = make_generic(tmp_path, poses_file=True)
    (fx.root / "poses.txt").write_text(pose_line(fx.poses[0]) + "\n")
    with pytest.raises(ValueError, match="1 poses for 4 frames"):
        open_scene(fx.root)
