"""Tiny on-disk RGB-D scenes in every supported layout, with the values a reader must return.

Depth is 64×48. Where a layout has larger colour, colour is 128×96 made of 16×16 constant blocks, so the
INTER_AREA registration to 64×48 is exactly `source[::2, ::2]` (for lossless PNG colour).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

W, H = 64, 48
PALETTE = np.array([[220, 30, 30], [30, 200, 40], [30, 40, 210], [230, 220, 40]], np.uint8)


@dataclass
class Fixture:
    """What a reader of `root` must produce, frame by frame (good frames only)."""

    root: Path
    names: list[str]
    raw_depth: list[np.ndarray]  # [H, W] uint16 as written
    depth_scale: float
    poses: list[np.ndarray]  # [4, 4] float64 c2w
    K: np.ndarray  # [3, 3] float64, of the depth image
    color: list[np.ndarray]  # [H, W, 3] uint8 RGB registered to depth (exact for PNG, approximate for JPEG)
    files: dict[str, dict[str, Path]] = field(default_factory=dict)  # name -> {"color", "depth", "pose"}
    depth_invalid: int | None = None  # raw value meaning "no measurement" besides 0

    def depth_m(self, k: int) -> np.ndarray:
        """[H, W] float32 metres: raw / scale computed in float64, rounded once to float32."""
        depth = (self.raw_depth[k].astype(np.float64) / self.depth_scale).astype(np.float32)
        if self.depth_invalid is not None:
            depth[self.raw_depth[k] == self.depth_invalid] = 0.0
        return depth


def color_image(i: int, width: int, height: int) -> np.ndarray:
    """[height, width, 3] uint8 RGB of 16×16 (at 128×96; scaled with the size) constant blocks from PALETTE:
    aligned with JPEG's 16×16 chroma blocks, so JPEG changes colours only slightly."""
    block = max(1, 16 * width // 128)
    yy, xx = np.mgrid[0:height, 0:width]
    return PALETTE[(yy // block + 2 * (xx // block) + i) % len(PALETTE)]


def raw_depth(i: int, scale: float) -> np.ndarray:
    """[H, W] uint16 depth in raw units: 0.5–4 m, a zero (invalid) patch, pixel (0, 0) = 1.234 m."""
    rng = np.random.default_rng(100 + i)
    raw = rng.integers(int(0.5 * scale), int(4.0 * scale), size=(H, W)).astype(np.uint16)
    raw[10:14, 20:30] = 0
    raw[0, 0] = round(1.234 * scale)
    return raw


def pose(i: int) -> np.ndarray:
    """[4, 4] float64 c2w: rotation about z by 0.3·i rad, translation (0.1·i, 0.2, 1.5)."""
    c, s = np.cos(0.3 * i), np.sin(0.3 * i)
    T = np.eye(4)
    T[:3, :3] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]
    T[:3, 3] = [0.1 * i, 0.2, 1.5]
    return T


def write_image(path: Path, rgb_or_depth: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = rgb_or_depth[:, :, ::-1] if rgb_or_depth.ndim == 3 else rgb_or_depth
    ok, buf = cv2.imencode(path.suffix, image, [cv2.IMWRITE_JPEG_QUALITY, 98] if path.suffix == ".jpg" else [])
    assert ok
    path.write_bytes(buf.tobytes())


def write_matrix(path: Path, matrix: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(" ".join(repr(float(v)) for v in row) for row in matrix) + "\n")


def pose_line(matrix: np.ndarray) -> str:
    return " ".join(repr(float(v)) for v in matrix.reshape(-1))


def K_of(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float64)


# colour intrinsics at 128×96 and the depth intrinsics they become at 64×48: f/2, (c + 0.5)/2 - 0.5
K_COLOR_128 = K_of(100.0, 102.0, 63.5, 47.5)
K_DEPTH_64 = K_of(50.0, 51.0, 31.5, 23.5)


def _frames(root: Path, n: int, scale: float, color_size: tuple[int, int], K: np.ndarray) -> Fixture:
    cw, ch = color_size
    factor = cw // W
    color = [color_image(i, cw, ch)[::factor, ::factor] for i in range(n)]
    return Fixture(root, [], [raw_depth(i, scale) for i in range(n)], scale, [pose(i) for i in range(n)], K, color)


def make_scannet(root: Path, n: int = 4, intrinsic: str = "depth", name: str = "scene0000_00") -> Fixture:
    """ScanNet SensReader export in `root/name`: 128×96 JPEG colour, 64×48 mm depth."""
    root = root / name
    fx = _frames(root, n, 1000.0, (128, 96), K_DEPTH_64)
    if intrinsic == "depth":
        write_matrix(root / "intrinsic" / "intrinsic_depth.txt", _as4(K_DEPTH_64))
    write_matrix(root / "intrinsic" / "intrinsic_color.txt", _as4(K_COLOR_128))
    for i in range(n):
        files = {"color": root / "color" / f"{i}.jpg", "depth": root / "depth" / f"{i}.png"}
        files["pose"] = root / "pose" / f"{i}.txt"
        write_image(files["color"], color_image(i, 128, 96))
        write_image(files["depth"], fx.raw_depth[i])
        write_matrix(files["pose"], fx.poses[i])
        fx.names.append(str(i))
        fx.files[str(i)] = files
    return fx


def _as4(K: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = K
    return out


def make_posed_images(root: Path, n: int = 4) -> Fixture:
    root = root / "scene0001_00"
    fx = _frames(root, n, 1000.0, (128, 96), K_DEPTH_64)
    write_matrix(root / "intrinsic.txt", _as4(K_COLOR_128))
    for i in range(n):
        stem = f"{i:05d}"
        files = {"color": root / f"{stem}.jpg", "depth": root / f"{stem}.png", "pose": root / f"{stem}.txt"}
        write_image(files["color"], color_image(i, 128, 96))
        write_image(files["depth"], fx.raw_depth[i])
        write_matrix(files["pose"], fx.poses[i])
        fx.names.append(stem)
        fx.files[stem] = files
    return fx


def make_replica(root: Path, n: int = 4, cam_params: str = "parent") -> Fixture:
    """NICE-SLAM Replica `root/room0`: 64×48 JPEG colour and depth (scale 6553.5); cam_params.json in the
    parent folder ("parent"), the scene folder ("scene") or nowhere ("none")."""
    scene = root / "room0"
    K = K_of(40.0, 41.0, 31.5, 23.5)
    fx = _frames(scene, n, 6553.5, (W, H), K)
    camera = {"camera": {"w": W, "h": H, "fx": 40.0, "fy": 41.0, "cx": 31.5, "cy": 23.5, "scale": 6553.5}}
    if cam_params != "none":
        folder = root if cam_params == "parent" else scene
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cam_params.json").write_text(json.dumps(camera))
    for i in range(n):
        name = f"frame{i:06d}"
        files = {"color": scene / "results" / f"{name}.jpg", "depth": scene / "results" / f"depth{i:06d}.png"}
        write_image(files["color"], color_image(i, W, H))
        write_image(files["depth"], fx.raw_depth[i])
        fx.names.append(name)
        fx.files[name] = files
    (scene / "traj.txt").write_text("".join(pose_line(p) + "\n" for p in fx.poses))
    (root / "room0_mesh.ply").write_text("ply\n")
    return fx


def make_scannetpp(root: Path, n: int = 4) -> Fixture:
    """ScanNet++ scene `root/0a5c013435`: 128×96 JPEG rgb, 64×48 mm depth, per-frame JSON pose/intrinsic;
    the JSON also lists frames that have no exported image (as the real data does)."""
    scene = root / "0a5c013435"
    iphone = scene / "iphone"
    fx = _frames(scene, n, 1000.0, (128, 96), K_DEPTH_64)
    meta = {}
    for i in range(n):
        name = f"frame_{i * 10:06d}"
        files = {"color": iphone / "rgb" / f"{name}.jpg", "depth": iphone / "depth" / f"{name}.png"}
        write_image(files["color"], color_image(i, 128, 96))
        write_image(files["depth"], fx.raw_depth[i])
        meta[name] = {
            "timestamp": i * 0.1,
            "intrinsic": K_COLOR_128.tolist(),
            "aligned_pose": fx.poses[i].tolist(),
            "pose": np.eye(4).tolist(),
        }
        meta[f"frame_{i * 10 + 5:06d}"] = {"intrinsic": K_COLOR_128.tolist(), "aligned_pose": np.eye(4).tolist()}
        fx.names.append(name)
        fx.files[name] = files
    (iphone / "pose_intrinsic_imu.json").write_text(json.dumps(meta))
    (scene / "scans").mkdir()
    (scene / "scans" / "mesh_aligned_0.05.ply").write_text("ply\n")
    return fx


def quaternion_wxyz(matrix: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) of a rotation about z (all the fixture poses rotate about z)."""
    angle = np.arctan2(matrix[1, 0], matrix[0, 0])
    return np.array([np.cos(angle / 2), 0.0, 0.0, np.sin(angle / 2)])


def make_tum(root: Path, n: int = 4, calibration: bool = False) -> Fixture:
    """TUM sequence: PNG colour and depth (scale 5000) at 64×48; depth 5 ms after colour; an extra colour
    image without depth; ground truth at 100 Hz."""
    scene = root / "rgbd_dataset_freiburg1_xyz"
    K = K_of(40.0, 41.0, 30.0, 22.0) if calibration else K_of(525.0, 525.0, 319.5, 239.5)
    fx = _frames(scene, n, 5000.0, (W, H), K)
    scene.mkdir(parents=True, exist_ok=True)
    if calibration:
        (scene / "calibration.txt").write_text("40.0 41.0 30.0 22.0\n")
    rgb_lines, depth_lines, gt_lines = ["# color images"], ["# depth maps"], ["# timestamp tx ty tz qx qy qz qw"]
    t0 = 1305031102.0
    for i in range(n):
        t = t0 + i / 30.0
        name = f"{t:.6f}"
        files = {"color": scene / "rgb" / f"{name}.png", "depth": scene / "depth" / f"{t + 0.005:.6f}.png"}
        write_image(files["color"], color_image(i, W, H))
        write_image(files["depth"], fx.raw_depth[i])
        rgb_lines.append(f"{name} rgb/{name}.png")
        depth_lines.append(f"{t + 0.005:.6f} depth/{t + 0.005:.6f}.png")
        fx.names.append(name)
        fx.files[name] = files
    # a colour image 0.1 s after the last one with no depth near it: not a frame
    rgb_lines.append(f"{t0 + n / 30.0 + 0.1:.6f} rgb/orphan.png")
    for k in range(int(n / 30.0 * 100) + 3):
        t = t0 + k / 100.0
        # poses of the fixture frames, held piecewise constant between them
        i = min(int(round((t - t0) * 30.0)), n - 1)
        q = quaternion_wxyz(fx.poses[i])
        values = [*fx.poses[i][:3, 3], q[1], q[2], q[3], q[0]]
        gt_lines.append(f"{t + 0.005:.4f} " + " ".join(repr(float(v)) for v in values))
    (scene / "rgb.txt").write_text("\n".join(rgb_lines) + "\n")
    (scene / "depth.txt").write_text("\n".join(depth_lines) + "\n")
    (scene / "groundtruth.txt").write_text("\n".join(gt_lines) + "\n")
    return fx


def make_7scenes(
    root: Path, n: int = 3, sequences: int = 2, color_ext: str = "png", intrinsics: bool = False
) -> Fixture:
    """7-Scenes `root/chess` with `sequences` seq-XX folders of n frames each; colour (`color_ext`) and depth at
    64×48; depth 65535 marks no measurement (pixel (1, 1) of every frame). intrinsics: write the scene's
    `camera-intrinsics.txt` (3×3, not the dataset default) as the redkitchen copy has it."""
    scene = root / "chess"
    K = K_of(60.0, 61.0, 31.5, 23.5) if intrinsics else K_of(585.0, 585.0, 320.0, 240.0)
    if intrinsics:
        write_matrix(scene / "camera-intrinsics.txt", K)
    total = n * sequences
    fx = _frames(scene, total, 1000.0, (W, H), K)
    fx.depth_invalid = 65535
    for k in range(total):
        seq, i = divmod(k, n)
        folder = scene / f"seq-{seq + 1:02d}"
        stem = f"frame-{i:06d}"
        fx.raw_depth[k][1, 1] = 65535
        files = {
            suffix: folder / f"{stem}.{suffix}.{ext}"
            for suffix, ext in (("color", color_ext), ("depth", "png"), ("pose", "txt"))
        }
        write_image(files["color"], color_image(k, W, H))
        write_image(files["depth"], fx.raw_depth[k])
        write_matrix(files["pose"], fx.poses[k])
        name = f"seq-{seq + 1:02d}/{stem}"
        fx.names.append(name)
        fx.files[name] = files
    return fx


def make_generic(
    root: Path, n: int = 4, poses_file: bool = False, depth_npy: bool = False, settings: dict | None = None
) -> Fixture:
    """Generic layout `root/my_scene`: 128×96 PNG colour, 64×48 depth PNG (scale from settings, default 1000)
    or float32 .npy metres; intrinsics.txt of the depth image unless settings say "color"."""
    scene = root / "my_scene"
    settings = settings or {}
    scale = float(settings.get("depth_scale", 1000.0))
    fx = _frames(scene, n, scale, (128, 96), K_DEPTH_64)
    if settings:
        scene.mkdir(parents=True, exist_ok=True)
        (scene / "tracklift.json").write_text(json.dumps(settings))
    K_file = K_COLOR_128 if settings.get("intrinsics_of") == "color" else K_DEPTH_64
    write_matrix(scene / "intrinsics.txt", K_file)
    for i in range(n):
        stem = f"{i:06d}"
        files = {"color": scene / "color" / f"{stem}.png", "pose": scene / "poses" / f"{stem}.txt"}
        write_image(files["color"], color_image(i, 128, 96))
        if depth_npy:
            files["depth"] = scene / "depth" / f"{stem}.npy"
            files["depth"].parent.mkdir(parents=True, exist_ok=True)
            np.save(files["depth"], fx.depth_m(i))
        else:
            files["depth"] = scene / "depth" / f"{stem}.png"
            write_image(files["depth"], fx.raw_depth[i])
        if not poses_file:
            write_matrix(files["pose"], fx.poses[i])
        fx.names.append(stem)
        fx.files[stem] = files
    if poses_file:
        (scene / "poses.txt").write_text("".join(pose_line(p) + "\n" for p in fx.poses))
    return fx


MAKERS = {
    "scannet": make_scannet,
    "posed_images": make_posed_images,
    "replica": make_replica,
    "scannetpp": make_scannetpp,
    "tum": make_tum,
    "7scenes": make_7scenes,
    "generic": make_generic,
}

# layouts whose colour is JPEG: registered colour is compared approximately
LOSSY = {"scannet", "posed_images", "replica", "scannetpp"}
