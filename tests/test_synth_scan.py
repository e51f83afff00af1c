"""`tracklift synth --realism scan`: determinism, drifting poses, the colour camera, the transferred GT, and
the scene running through `synth-masks` and `segment`."""

from __future__ import annotations

import hashlib
import json

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tracklift.cli import main
from tracklift.data.camera import read_intrinsics_txt, scale_intrinsics
from tracklift.data.scene import open_scene
from tracklift.io.ply import read_ply
from tracklift.io.scannet import read_gt_txt, read_scannet_gt
from tracklift.synth import SynthConfig, generate_scene
from tracklift.synth.annotate import nearest_instance, segment_majority
from tracklift.synth.config import ScanRealism
from tracklift.synth.drift import drifted_poses, max_pose_error
from tracklift.synth.layout import build_scene
from tracklift.synth.mesh import build_mesh
from tracklift.synth.trajectory import camera_path

# 4 cm voxels keep the room's TSDF small: the tests check the pipeline, the defaults are calibrated elsewhere
TINY = SynthConfig(
    seed=4,
    frames=6,
    width=64,
    height=48,
    objects=6,
    realism="scan",
    scan=ScanRealism(voxel=0.04, truncation=0.1, transfer_tolerance=0.08),
)


@pytest.fixture(scope="module")
def scan_scene(tmp_path_factory):
    return generate_scene(tmp_path_factory.mktemp("scan") / "scene0004_00", TINY, progress=False)


def _digest(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes(scan_scene, tmp_path):
    again = generate_scene(tmp_path / "scene0004_00", TINY, progress=False)
    assert _digest(again) == _digest(scan_scene)


def test_exact_mode_keeps_its_bytes(tmp_path):
    # Digest of the text outputs (poses, intrinsics, GT, superpoints, aggregation, scene.json) of this tiny exact
    # scene as written before realism modes existed (commit 6fdc032); images are left out because PNG/JPEG
    # encoders may differ between library builds.
    out = generate_scene(
        tmp_path / "scene0004_00", SynthConfig(seed=4, frames=4, width=64, height=48, objects=6), progress=False
    )
    digest = hashlib.sha256()
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.suffix in (".txt", ".json"):
            digest.update(str(path.relative_to(out)).encode())
            digest.update(path.read_bytes())
    assert digest.hexdigest() == "a57dcd0952420677c9224a02f760e3f731d51e27853f26bfe4c8b9b4f1d3bbba"


def test_realism_is_validated():
    with pytest.raises(ValueError, match="exact|scan"):
        SynthConfig(realism="photo")
    with pytest.raises(ValueError, match="voxel"):
        ScanRealism(voxel=0)


def test_written_poses_drift_within_the_configured_bound():
    realism = ScanRealism()
    scene = build_scene(0, 10)
    true = camera_path(scene, 300, 0)
    written = drifted_poses(true, 0, realism)
    shift = np.linalg.norm(written[:, :3, 3] - true[:, :3, 3], axis=1)
    angle = np.degrees(Rotation.from_matrix(written[:, :3, :3] @ true[:, :3, :3].transpose(0, 2, 1)).magnitude())
    max_t, max_r = max_pose_error(realism)
    assert shift.max() <= max_t + 1e-12 and angle.max() <= max_r + 1e-9
    assert shift.min() > 0 and angle.min() > 0
    # drift grows with time: late frames are farther off than the first ones, and the walk really drifts
    assert np.median(shift[-100:]) > 2 * np.median(shift[:5])
    assert shift.max() > 0.5 * realism.drift_max_translation
    np.testing.assert_allclose(np.linalg.det(written[:, :3, :3]), 1.0, atol=1e-12)
    zero = ScanRealism(drift_step_translation=0, drift_step_rotation=0, jitter_translation=0, jitter_rotation=0)
    np.testing.assert_allclose(drifted_poses(true, 0, zero), true, atol=1e-15)


def test_pose_files_are_the_drifted_path(scan_scene):
    scene = build_scene(TINY.seed, TINY.objects)
    expected = drifted_poses(camera_path(scene, TINY.frames, TINY.seed, TINY.loops), TINY.seed, TINY.scan)
    for i in range(TINY.frames):
        np.testing.assert_allclose(np.loadtxt(scan_scene / "pose" / f"{i}.txt"), expected[i], atol=1e-8)


def test_colour_camera_differs_from_depth_and_is_consistent(scan_scene):
    color = cv2.imread(str(scan_scene / "color" / "0.jpg"))
    depth = cv2.imread(str(scan_scene / "depth" / "0.png"), cv2.IMREAD_UNCHANGED)
    assert depth.shape == (48, 64) and depth.dtype == np.uint16
    assert color.shape == (97, 130, 3)  # ScanNet's 1296/640 × 968/480
    Kd = read_intrinsics_txt(scan_scene / "intrinsic" / "intrinsic_depth.txt")
    Kc = read_intrinsics_txt(scan_scene / "intrinsic" / "intrinsic_color.txt")
    assert not np.allclose(Kc, Kd)
    # the colour intrinsics are the resized depth ones up to the configured small errors
    resized = scale_intrinsics(Kd, (64, 48), (130, 97))
    assert np.abs(Kc[[0, 1], [0, 1]] / resized[[0, 1], [0, 1]] - 1).max() < 5 * TINY.scan.color_focal_error
    assert np.abs(Kc[:2, 2] - resized[:2, 2]).max() < 5 * TINY.scan.color_center_error
    frame = open_scene(scan_scene).stream[0]  # the reader registers colour onto depth
    assert frame.color.shape == (48, 64, 3)
    np.testing.assert_allclose(frame.K, Kd)


def test_depth_has_holes_and_sensor_noise(scan_scene):
    depth = np.stack([cv2.imread(str(scan_scene / "depth" / f"{i}.png"), cv2.IMREAD_UNCHANGED) for i in range(6)])
    holes = (depth == 0).mean()
    assert 0.02 < holes < 0.5


def test_transferred_gt_follows_the_objects(scan_scene):
    mesh = read_ply(scan_scene / "scene0004_00_vh_clean_2.ply")
    gt = read_gt_txt(scan_scene / "gt" / "scene0004_00.txt")
    assert len(gt) == len(mesh.vertices) and mesh.colors is not None and len(mesh.faces) > 0
    np.testing.assert_array_equal(
        read_scannet_gt(
            scan_scene / "scene0004_00_vh_clean_2.0.010000.segs.json", scan_scene / "scene0004_00.aggregation.json"
        ),
        gt,
    )
    scene = build_scene(TINY.seed, TINY.objects)
    exact = build_mesh(scene, 0.02, 250)
    # the instance of the exact surface right at each reconstruction vertex (2.5 cm: within the drift bound
    # and the 4 cm voxels)
    truth = nearest_instance(mesh.vertices, exact.mesh.vertices, exact.instance, 0.025)
    instance = gt % 1000
    objects = (truth >= 1) & (truth <= TINY.objects)
    assert objects.sum() > 200
    assert (instance[objects] == truth[objects]).mean() > 0.8
    meta = json.loads((scan_scene / "scene.json").read_text())
    assert meta["config"]["realism"] == "scan"
    for o in meta["objects"]:  # boxes are the extents of the annotated reconstruction
        assert (np.array(o["box"][3:]) > 0).all() == (o["observed_vertices"] > 1)


def test_2d_gt_is_the_reconstruction_seen_with_the_written_poses(scan_scene):
    instance = cv2.imread(str(scan_scene / "gt_2d" / "instance" / "0.png"), cv2.IMREAD_UNCHANGED)
    semantic = cv2.imread(str(scan_scene / "gt_2d" / "semantic" / "0.png"), cv2.IMREAD_UNCHANGED)
    depth = cv2.imread(str(scan_scene / "depth" / "0.png"), cv2.IMREAD_UNCHANGED)
    assert instance.shape == depth.shape and instance.dtype == np.uint16
    meta = json.loads((scan_scene / "scene.json").read_text())
    label_of = {o["instance"]: o["label_id"] for o in meta["objects"]}
    ids = np.unique(instance[instance > 0])
    assert len(ids) >= 2
    for i in ids:
        assert (semantic[instance == i] == label_of[int(i)]).all()
    # Where the sensor measured depth the rendered reconstruction mostly has a label. Measured 0.75 here
    # (6 frames of 64×48 leave holes in the mesh; depth beyond 4 m is not fused), 0.70–0.995 per frame on a
    # 60-frame 640×480 scene.
    assert (instance[depth > 0] > 0).mean() > 0.6


def test_runs_through_synth_masks_and_segment(scan_scene, tmp_path):
    assert main(["synth-masks", str(scan_scene), "--out", str(tmp_path / "masks"), "--preset", "mild", "--quiet"]) == 0
    assert len(list((tmp_path / "masks").glob("*.png"))) == TINY.frames
    assert main(["segment", str(scan_scene), "--out", str(tmp_path / "pred"), "--masks", str(tmp_path / "masks")]) == 0
    assert (tmp_path / "pred" / "scene0004_00.txt").is_file()


def test_segment_majority_hand_computed():
    segment = np.array([5, 5, 5, 9, 9, 2])
    votes = np.array([1, 1, 0, 3, 0, 0])
    np.testing.assert_array_equal(segment_majority(segment, votes), [1, 1, 1, 0, 0, 0])  # tie 3 vs 0: smaller
    np.testing.assert_array_equal(
        nearest_instance(np.array([[0.0, 0, 0], [1, 0, 0]]), np.array([[0.01, 0, 0]]), np.array([4]), 0.05), [4, 0]
    )


def test_cli_scan_flag(tmp_path, capsys):
    assert (
        main(
            [
                "synth",
                str(tmp_path / "s"),
                "--frames",
                "2",
                "--width",
                "32",
                "--height",
                "24",
                "--objects",
                "5",
                "--realism",
                "scan",
                "--quiet",
            ]
        )
        == 0
    )
    assert "scan" in capsys.readouterr().out
    assert json.loads((tmp_path / "s" / "scene.json").read_text())["config"]["scan"]["voxel"] == 0.02
    assert main(["synth", str(tmp_path / "t"), "--realism", "scan", "--no-noise", "--quiet"]) == 2
    assert "--no-noise" in capsys.readouterr().err
