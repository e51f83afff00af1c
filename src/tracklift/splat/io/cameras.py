"""Posed images of Gaussian-splatting datasets: COLMAP (text or binary) and NeRF `transforms.json`.

Everything is converted to the project's conventions: camera-to-world poses with OpenCV axes and
pixel centres at integer coordinates (COLMAP and NeRF put the first pixel's centre at (0.5, 0.5)).
Lens distortion is not modelled: distortion parameters are dropped with a warning.
"""

from __future__ import annotations

import json
import logging
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracklift.io.paths import contained_path
from tracklift.splat.render.camera import Camera

log = logging.getLogger(__name__)

# COLMAP camera models: id -> (name, number of parameters). Only pinhole-like models are supported.
COLMAP_MODELS = {
    0: ("SIMPLE_PINHOLE", 3),
    1: ("PINHOLE", 4),
    2: ("SIMPLE_RADIAL", 4),
    3: ("RADIAL", 5),
    4: ("OPENCV", 8),
    5: ("OPENCV_FISHEYE", 8),
    6: ("FULL_OPENCV", 12),
    7: ("FOV", 5),
    8: ("SIMPLE_RADIAL_FISHEYE", 4),
    9: ("RADIAL_FISHEYE", 5),
    10: ("THIN_PRISM_FISHEYE", 12),
}
_FOCAL_CENTRE = {  # model -> indices of (fx, fy, cx, cy) in its parameter list
    "SIMPLE_PINHOLE": (0, 0, 1, 2),
    "PINHOLE": (0, 1, 2, 3),
    "SIMPLE_RADIAL": (0, 0, 1, 2),
    "RADIAL": (0, 0, 1, 2),
    "OPENCV": (0, 1, 2, 3),
    "FULL_OPENCV": (0, 1, 2, 3),
}
# OpenGL/NeRF camera axes (x right, y up, z backwards) -> OpenCV (x right, y down, z forward).
_GL_TO_CV = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass
class PosedImage:
    """A camera and the image file it took (the image may be missing on disk: checked when loaded)."""

    camera: Camera
    image_path: Path


def _intrinsics(model: str, params: list[float], where: str) -> np.ndarray:
    if model not in _FOCAL_CENTRE:
        raise ValueError(f"{where}: COLMAP camera model {model} is not supported (pinhole-like models only)")
    i_fx, i_fy, i_cx, i_cy = _FOCAL_CENTRE[model]
    distortion = [p for i, p in enumerate(params) if i > max(i_fx, i_fy, i_cx, i_cy)]
    if any(abs(p) > 0 for p in distortion):
        log.warning("%s: %s distortion %s ignored (images are assumed undistorted)", where, model, distortion)
    return np.array([[params[i_fx], 0.0, params[i_cx] - 0.5], [0.0, params[i_fy], params[i_cy] - 0.5], [0.0, 0.0, 1.0]])


def _qvec_to_rotmat(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.asarray(q, np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def _c2w_from_colmap(qvec: np.ndarray, tvec: np.ndarray) -> np.ndarray:
    """COLMAP stores world-to-camera (R(q), t); return the camera-to-world [4, 4]."""
    R = _qvec_to_rotmat(qvec)
    pose = np.eye(4)
    pose[:3, :3] = R.T
    pose[:3, 3] = -R.T @ np.asarray(tvec, np.float64)
    return pose


def _data_lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def _read_cameras_txt(path: Path) -> dict[int, tuple[str, int, int, list[float]]]:
    cameras = {}
    for line in _data_lines(path):
        parts = line.split()
        try:
            cameras[int(parts[0])] = (parts[1], int(parts[2]), int(parts[3]), [float(p) for p in parts[4:]])
        except (IndexError, ValueError) as err:
            raise ValueError(f"{path}: bad camera line {line!r}") from err
    return cameras


def _read_images_txt(path: Path) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    images = []
    # Each image takes two lines; the second (its 2D points) may be empty, so pair by position in the raw file.
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]
    for line in lines[::2]:
        parts = line.split()
        if not parts:
            continue
        try:
            q = np.array([float(p) for p in parts[1:5]])
            t = np.array([float(p) for p in parts[5:8]])
            images.append((" ".join(parts[9:]), q, t, int(parts[8])))
        except (IndexError, ValueError) as err:
            raise ValueError(f"{path}: bad image line {line!r}") from err
    return images


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path, self.data, self.pos = path, path.read_bytes(), 0

    def read(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.data):
            raise ValueError(f"{self.path}: truncated COLMAP binary file")
        out = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return out

    def read_name(self) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise ValueError(f"{self.path}: truncated COLMAP binary file")
        name = self.data[self.pos : end].decode("utf-8")
        self.pos = end + 1
        return name


def _read_cameras_bin(path: Path) -> dict[int, tuple[str, int, int, list[float]]]:
    r = _Reader(path)
    cameras = {}
    for _ in range(r.read("Q")[0]):
        cam_id, model_id, width, height = r.read("iiQQ")
        if model_id not in COLMAP_MODELS:
            raise ValueError(f"{path}: unknown COLMAP camera model id {model_id}")
        name, n_params = COLMAP_MODELS[model_id]
        cameras[cam_id] = (name, width, height, list(r.read("d" * n_params)))
    return cameras


def _read_images_bin(path: Path) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    r = _Reader(path)
    images = []
    for _ in range(r.read("Q")[0]):
        values = r.read("idddddddi")
        name = r.read_name()
        n_points = r.read("Q")[0]
        r.read("ddq" * n_points)
        images.append((name, np.array(values[1:5]), np.array(values[5:8]), values[8]))
    return images


def find_colmap_model(root: str | Path) -> Path | None:
    """The folder holding cameras.{txt,bin} and images.{txt,bin}: root, root/sparse/0 or root/sparse."""
    root = Path(root)
    for d in (root, root / "sparse" / "0", root / "sparse"):
        if all((d / f"{n}.txt").is_file() or (d / f"{n}.bin").is_file() for n in ("cameras", "images")):
            return d
    return None


def read_colmap(model_dir: str | Path, images_dir: str | Path) -> list[PosedImage]:
    """Cameras of a COLMAP model (text preferred over binary), sorted by image name."""
    model_dir, images_dir = Path(model_dir), Path(images_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: no such COLMAP model folder")

    def pick(name: str) -> Path:
        for ext in ("txt", "bin"):
            if (model_dir / f"{name}.{ext}").is_file():
                return model_dir / f"{name}.{ext}"
        raise FileNotFoundError(f"{model_dir}: no {name}.txt or {name}.bin")

    cam_path, img_path = pick("cameras"), pick("images")
    cameras = _read_cameras_txt(cam_path) if cam_path.suffix == ".txt" else _read_cameras_bin(cam_path)
    images = _read_images_txt(img_path) if img_path.suffix == ".txt" else _read_images_bin(img_path)
    out = []
    for name, q, t, cam_id in sorted(images, key=lambda item: item[0]):
        if cam_id not in cameras:
            raise ValueError(f"{img_path}: image {name!r} refers to camera {cam_id}, absent from {cam_path}")
        model, width, height, params = cameras[cam_id]
        K = _intrinsics(model, params, f"{cam_path} camera {cam_id}")
        image = contained_path(images_dir, name, f"{img_path} image {name!r}", "image name")
        out.append(PosedImage(Camera(K, _c2w_from_colmap(q, t), width, height, name), image))
    if not out:
        raise ValueError(f"{img_path}: no registered images")
    return out


def read_colmap_points(model_dir: str | Path) -> tuple[np.ndarray, np.ndarray] | None:
    """COLMAP sparse points: ([M, 3] float32 world metres, [M, 3] float32 colours in [0, 1]), or None."""
    model_dir = Path(model_dir)
    if (model_dir / "points3D.txt").is_file():
        rows = [ln.split() for ln in _data_lines(model_dir / "points3D.txt")]
        if not rows:
            return None
        xyz = np.array([[float(v) for v in r[1:4]] for r in rows], np.float32)
        rgb = np.array([[float(v) for v in r[4:7]] for r in rows], np.float32) / 255.0
        return xyz, rgb
    if (model_dir / "points3D.bin").is_file():
        r = _Reader(model_dir / "points3D.bin")
        xyz, rgb = [], []
        for _ in range(r.read("Q")[0]):
            values = r.read("QdddBBBd")
            xyz.append(values[1:4])
            rgb.append(values[4:7])
            r.read("ii" * r.read("Q")[0])
        return (np.array(xyz, np.float32), np.array(rgb, np.float32) / 255.0) if xyz else None
    return None


def read_transforms_json(path: str | Path) -> list[PosedImage]:
    """NeRF / instant-ngp / nerfstudio `transforms.json`: OpenGL c2w `transform_matrix` per frame,
    intrinsics fl_x/fl_y/cx/cy/w/h (global or per frame) or `camera_angle_x` (needs w/h or the image)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such transforms.json")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    frames = meta.get("frames") if isinstance(meta, dict) else None
    if not isinstance(frames, list) or not frames:
        raise ValueError(f"{path}: no 'frames' list")
    out = []
    for i, frame in enumerate(frames):
        where = f"{path} frame {i}"
        try:
            out.append(_transforms_frame(path, meta, frame, where))
        except (TypeError, ValueError, OverflowError) as err:
            if str(err).startswith(where):
                raise
            # a field of the wrong type (a number as file_path, a string as matrix or focal length)
            raise ValueError(f"{where}: malformed entry ({err})") from err
    return out


def _transforms_frame(path: Path, meta: dict, frame: object, where: str) -> PosedImage:
    """One `frames` entry of a transforms.json (with the file-wide fields of `meta`) as a PosedImage."""
    if not isinstance(frame, dict):
        raise ValueError(f"{where}: must be an object, got {type(frame).__name__}")
    info = {**meta, **frame}
    if "file_path" not in frame or "transform_matrix" not in frame:
        raise ValueError(f"{where}: needs 'file_path' and 'transform_matrix'")
    if not isinstance(frame["file_path"], str):
        raise ValueError(f"{where}: 'file_path' must be a string, got {type(frame['file_path']).__name__}")
    name = frame["file_path"]
    if not Path(name).suffix:  # the NeRF synthetic scenes omit the extension
        name += ".png"
    image_path = contained_path(path.parent, name, where, "'file_path'")
    c2w = np.asarray(frame["transform_matrix"], np.float64)
    if c2w.shape == (3, 4):
        c2w = np.vstack([c2w, [0, 0, 0, 1]])
    if c2w.shape != (4, 4):
        raise ValueError(f"{where}: transform_matrix must be 4x4, got {list(c2w.shape)}")
    width, height = info.get("w"), info.get("h")
    if width is None or height is None:
        width, height = _image_size(image_path, where)
    if "fl_x" in info:
        fx = float(info["fl_x"])
        fy = float(info.get("fl_y", fx))
    elif "camera_angle_x" in info:
        fx = 0.5 * width / math.tan(0.5 * float(info["camera_angle_x"]))
        fy = 0.5 * height / math.tan(0.5 * float(info["camera_angle_y"])) if "camera_angle_y" in info else fx
    else:
        raise ValueError(f"{where}: no focal length (fl_x or camera_angle_x)")
    cx = float(info.get("cx", width / 2.0)) - 0.5
    cy = float(info.get("cy", height / 2.0)) - 0.5
    K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]])
    return PosedImage(Camera(K, c2w @ _GL_TO_CV, int(width), int(height), frame["file_path"]), image_path)


def _image_size(path: Path, where: str) -> tuple[int, int]:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FileNotFoundError(f"{where}: image {path} is missing or unreadable (needed for its size)")
    return image.shape[1], image.shape[0]


def read_posed_images(source: str | Path) -> tuple[list[PosedImage], tuple[np.ndarray, np.ndarray] | None]:
    """Detect and read a splatting dataset: a transforms.json file or a folder holding one, or a COLMAP
    folder (root, sparse/0 or sparse; images in root/images). Returns the posed images and the sparse
    points with colours when the dataset has them."""
    source = Path(source)
    if source.is_file() and source.suffix == ".json":
        return read_transforms_json(source), None
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: no such dataset folder or transforms.json")
    if (source / "transforms.json").is_file():
        return read_transforms_json(source / "transforms.json"), None
    model = find_colmap_model(source)
    if model is None:
        raise ValueError(f"{source}: neither transforms.json nor a COLMAP model (cameras/images .txt or .bin)")
    return read_colmap(model, source / "images"), read_colmap_points(model)


def load_image(item: PosedImage) -> np.ndarray:
    """The RGB image of a posed image as [H, W, 3] uint8 at the camera's resolution.

    A missing file -> FileNotFoundError naming it; a different size -> ValueError (images must match
    the cameras: resize the dataset or its intrinsics first)."""
    import cv2

    image = cv2.imread(str(item.image_path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"camera {item.camera.name!r}: image {item.image_path} is missing or unreadable")
    h, w = image.shape[:2]
    if (w, h) != (item.camera.width, item.camera.height):
        raise ValueError(
            f"{item.image_path}: image is {w}x{h}, its camera {item.camera.name!r} is "
            f"{item.camera.width}x{item.camera.height}"
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
