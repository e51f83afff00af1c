"""Camera readers (COLMAP text/binary, transforms.json) and training entry points that read from disk."""

from __future__ import annotations

import json
import struct

import cv2
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from tracklift.splat.io.cameras import (
    PosedImage,
    load_image,
    read_colmap,
    read_colmap_points,
    read_posed_images,
    read_transforms_json,
)
from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians, rgb_to_sh_dc
from tracklift.splat.render.rasterizer import rasterize
from tracklift.splat.train import TrainConfig, train_from_dataset, train_from_scene

W, H = 24, 16


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _poses(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    poses = []
    for _ in range(n):
        pose = np.eye(4)
        pose[:3, :3] = Rotation.from_rotvec(rng.normal(scale=0.1, size=3)).as_matrix()
        pose[:3, 3] = rng.normal(scale=0.2, size=3) + [0, 0, -2.0]
        poses.append(pose)
    return poses


def _colmap_records(poses):
    """(name, qvec wxyz, tvec) of world-to-camera transforms, as COLMAP stores them."""
    out = []
    for i, pose in enumerate(poses):
        R, t = pose[:3, :3].T, -pose[:3, :3].T @ pose[:3, 3]
        x, y, z, w = Rotation.from_matrix(R).as_quat()
        out.append((f"img_{i:02d}.png", np.array([w, x, y, z]), t))
    return out


def _write_colmap_text(d, poses, points: bool = True) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "cameras.txt").write_text(
        "# comment\n1 PINHOLE 24 16 20.0 21.0 12.0 8.0\n2 SIMPLE_RADIAL 24 16 19.0 12.5 8.5 0.0\n"
    )
    lines = ["# IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME"]
    for i, (name, q, t) in enumerate(_colmap_records(poses)):
        lines.append(" ".join(map(str, [i + 1, *q, *t, 1 + i % 2, name])))
        lines.append("1.0 2.0 -1" if i % 2 else "")
    (d / "images.txt").write_text("\n".join(lines) + "\n")
    if points:
        (d / "points3D.txt").write_text("# pts\n1 0.5 0.25 1.0 255 0 51 0.1 1 0\n2 -0.5 0 1 0 255 0 0.2 1 1 2 0\n")


def _write_colmap_binary(d, poses) -> None:
    d.mkdir(parents=True, exist_ok=True)
    cams = struct.pack("<Q", 2)
    cams += struct.pack("<iiQQ", 1, 1, 24, 16) + struct.pack("<4d", 20.0, 21.0, 12.0, 8.0)
    cams += struct.pack("<iiQQ", 2, 2, 24, 16) + struct.pack("<4d", 19.0, 12.5, 8.5, 0.0)
    (d / "cameras.bin").write_bytes(cams)
    records = _colmap_records(poses)
    imgs = struct.pack("<Q", len(records))
    for i, (name, q, t) in enumerate(records):
        imgs += struct.pack("<i4d3di", i + 1, *q, *t, 1 + i % 2) + name.encode() + b"\x00"
        imgs += struct.pack("<Q", 1) + struct.pack("<ddq", 1.0, 2.0, -1)
    (d / "images.bin").write_bytes(imgs)
    pts = struct.pack("<Q", 1) + struct.pack("<Q3d3Bd", 1, 0.5, 0.25, 1.0, 255, 0, 51, 0.1)
    pts += struct.pack("<Q", 1) + struct.pack("<ii", 1, 0)
    (d / "points3D.bin").write_bytes(pts)


@pytest.mark.parametrize("writer", [_write_colmap_text, _write_colmap_binary])
def test_colmap_cameras_in_our_conventions(tmp_path, writer):
    poses = _poses(3)
    writer(tmp_path / "sparse" / "0", poses)
    posed, points = read_posed_images(tmp_path)
    assert [p.image_path.name for p in posed] == ["img_00.png", "img_01.png", "img_02.png"]
    assert posed[0].image_path == tmp_path / "images" / "img_00.png"
    for item, pose in zip(posed, poses):
        np.testing.assert_allclose(item.camera.pose, pose, atol=1e-9)
    # COLMAP's principal point counts from the pixel corner; ours from the first pixel's centre.
    np.testing.assert_allclose(posed[0].camera.K, [[20, 0, 11.5], [0, 21, 7.5], [0, 0, 1]])
    np.testing.assert_allclose(posed[1].camera.K, [[19, 0, 12.0], [0, 19, 8.0], [0, 0, 1]])
    xyz, rgb = points
    np.testing.assert_allclose(xyz[0], [0.5, 0.25, 1.0])
    np.testing.assert_allclose(rgb[0], [1.0, 0.0, 0.2], atol=1e-6)


def test_colmap_text_and_binary_agree(tmp_path):
    poses = _poses(4)
    _write_colmap_text(tmp_path / "t", poses)
    _write_colmap_binary(tmp_path / "b", poses)
    a, b = read_colmap(tmp_path / "t", tmp_path), read_colmap(tmp_path / "b", tmp_path)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.camera.pose, y.camera.pose, atol=1e-12)
        np.testing.assert_allclose(x.camera.K, y.camera.K)
    assert read_colmap_points(tmp_path / "t")[0].shape == (2, 3)


def test_colmap_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such COLMAP model"):
        read_colmap(tmp_path / "nope", tmp_path)
    d = tmp_path / "m"
    _write_colmap_text(d, _poses(1))
    (d / "cameras.txt").write_text("1 OPENCV_FISHEYE 24 16 20 20 12 8 0.1 0 0 0\n")
    with pytest.raises(ValueError, match="OPENCV_FISHEYE is not supported"):
        read_colmap(d, tmp_path)
    (d / "cameras.txt").write_text("5 PINHOLE 24 16 20 20 12 8\n")
    with pytest.raises(ValueError, match="refers to camera 1"):
        read_colmap(d, tmp_path)
    _write_colmap_binary(tmp_path / "bin", _poses(2))
    data = (tmp_path / "bin" / "images.bin").read_bytes()
    (tmp_path / "bin" / "images.bin").write_bytes(data[:40])
    with pytest.raises(ValueError, match="truncated"):
        read_colmap(tmp_path / "bin", tmp_path)
    with pytest.raises(ValueError, match="neither transforms.json nor a COLMAP model"):
        read_posed_images(tmp_path / "m" / "..")  # tmp_path has no model at its top level
    with pytest.raises(FileNotFoundError):
        read_posed_images(tmp_path / "missing")


def test_transforms_json_opengl_to_opencv(tmp_path):
    # A camera at z = 3 looking down -z in OpenGL axes sees the origin at the image centre.
    c2w = np.eye(4)
    c2w[2, 3] = 3.0
    frames = [{"file_path": "images/a", "transform_matrix": c2w.tolist()}]
    meta = {"fl_x": 20.0, "fl_y": 22.0, "cx": 12.0, "cy": 8.0, "w": W, "h": H, "frames": frames}
    (tmp_path / "transforms.json").write_text(json.dumps(meta))
    (posed,), points = read_posed_images(tmp_path)
    assert points is None and posed.image_path == tmp_path / "images" / "a.png"
    cam = posed.camera
    p_cam = cam.world_to_camera() @ np.array([0.0, 0.1, 0.0, 1.0])
    assert p_cam[2] == pytest.approx(3.0)  # in front, z forward
    v = cam.K[1, 1] * p_cam[1] / p_cam[2] + cam.K[1, 2]
    assert v < cam.K[1, 2]  # world up is image up (smaller row)
    np.testing.assert_allclose(cam.K, [[20, 0, 11.5], [0, 22, 7.5], [0, 0, 1]])


def test_transforms_json_camera_angle_and_errors(tmp_path):
    image = np.zeros((H, W, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "r_0.png"), image)
    identity = np.eye(4).tolist()
    meta = {"camera_angle_x": 2 * np.arctan(0.5), "frames": [{"file_path": "./r_0", "transform_matrix": identity}]}
    path = tmp_path / "transforms.json"
    path.write_text(json.dumps(meta))
    (posed,) = read_transforms_json(path)
    assert (posed.camera.width, posed.camera.height) == (W, H)  # size read from the image
    assert posed.camera.K[0, 0] == pytest.approx(W)
    path.write_text(json.dumps({"w": W, "h": H, "frames": [{"file_path": "x", "transform_matrix": identity}]}))
    with pytest.raises(ValueError, match="frame 0: no focal length"):
        read_transforms_json(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_transforms_json(path)
    path.write_text(json.dumps({"frames": []}))
    with pytest.raises(ValueError, match="no 'frames'"):
        read_transforms_json(path)


def test_load_image_errors(tmp_path):
    cam = Camera(np.array([[20.0, 0, 11.5], [0, 20, 7.5], [0, 0, 1]]), np.eye(4), W, H, "a")
    with pytest.raises(FileNotFoundError, match="camera 'a': image .*missing.png is missing"):
        load_image(PosedImage(cam, tmp_path / "missing.png"))
    cv2.imwrite(str(tmp_path / "small.png"), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="small.png: image is 4x4, its camera 'a' is 24x16"):
        load_image(PosedImage(cam, tmp_path / "small.png"))
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[..., 0] = 200
    cv2.imwrite(str(tmp_path / "red.png"), rgb[..., ::-1])
    assert load_image(PosedImage(cam, tmp_path / "red.png"))[0, 0].tolist() == [200, 0, 0]


def _gt_scene() -> Gaussians:
    gen = torch.Generator().manual_seed(0)
    n = 40
    return Gaussians(
        means=torch.randn(n, 3, generator=gen) * torch.tensor([0.4, 0.3, 0.1]),
        log_scales=torch.full((n, 3), -2.0),
        quats=torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1),
        opacity_logits=torch.full((n,), 3.0),
        sh=rgb_to_sh_dc(torch.rand(n, 1, 3, generator=gen)),
    )


def _render_views(poses, K):
    gt = _gt_scene()
    out = []
    with torch.no_grad():
        for pose in poses:
            r = rasterize(gt, Camera(K, pose, W, H))
            color = (r.color.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
            depth = torch.where(r.alpha > 0.5, r.depth, torch.zeros_like(r.depth)).numpy()
            out.append((color, depth))
    return out


def test_train_from_dataset_colmap_and_missing_images(tmp_path):
    poses = _poses(4)
    _write_colmap_text(tmp_path / "sparse" / "0", poses, points=False)
    posed, _ = read_posed_images(tmp_path)
    (tmp_path / "images").mkdir()
    config = TrainConfig(iterations=3, sh_degree=0, random_init_points=50, holdout_every=2, checkpoint_every=0)
    with pytest.raises(FileNotFoundError, match="img_00.png is missing"):
        train_from_dataset(tmp_path, tmp_path / "out", config, progress=False)
    for item in posed:
        color = _render_views([item.camera.pose], item.camera.K)[0][0]
        cv2.imwrite(str(item.image_path), color[..., ::-1])
    g, metrics = train_from_dataset(tmp_path, tmp_path / "out", config, progress=False)
    assert g.n == 50 and metrics["iterations"] == 3 and metrics["holdout_views"] == 2


def test_train_from_scene_reads_an_rgbd_folder(tmp_path):
    K = np.array([[20.0, 0, 11.5], [0, 20.0, 7.5], [0, 0, 1]])
    root = tmp_path / "scene0000_00"
    for sub in ("color", "depth", "pose", "intrinsic"):
        (root / sub).mkdir(parents=True)
    K4 = np.eye(4)
    K4[:3, :3] = K
    np.savetxt(root / "intrinsic" / "intrinsic_depth.txt", K4)
    poses = _poses(4)
    for i, (pose, (color, depth)) in enumerate(zip(poses, _render_views(poses, K))):
        cv2.imwrite(str(root / "color" / f"{i}.png"), color[..., ::-1])
        cv2.imwrite(str(root / "depth" / f"{i}.png"), (depth * 1000).round().astype(np.uint16))
        np.savetxt(root / "pose" / f"{i}.txt", pose)
    config = TrainConfig(iterations=4, sh_degree=1, holdout_every=4, checkpoint_every=0)
    g, metrics = train_from_scene(root, tmp_path / "out", config, progress=False)
    assert metrics["iterations"] == 4 and metrics["train_views"] == 3 and metrics["skipped_frames"] == 0
    assert g.n > 10 and np.isfinite(metrics["psnr_holdout"])
    with pytest.raises(ValueError, match="need at least 2 usable frames"):
        train_from_scene(root, tmp_path / "out2", config, max_frames=1, progress=False)
