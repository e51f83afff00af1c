"""Camera parameters from text: 4×4 poses, 3×3 intrinsics, quaternions, and intrinsics rescaling.

Conventions (docs/conventions.md): poses are camera-to-world with OpenCV axes; `K` is in pixels and
pixel centres sit at integer coordinates.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tracklift.data.frame import BadFrameError
from tracklift.io.textfile import read_text

# A pose whose rotation drifts further than this from orthonormal is corrupt, not rounded: text poses
# written with 5+ decimals stay below 1e-4.
RIGID_TOLERANCE = 1e-2
# A camera further than this from the origin (metres) is a corrupt pose, not a large scene: the biggest
# indoor and city-block captures stay within a few hundred metres, and voxel keys overflow far beyond.
MAX_TRANSLATION = 1e4


def read_matrix_txt(path: str | os.PathLike, shape: tuple[int, int]) -> np.ndarray:
    """A whitespace-separated matrix of `shape` from a text file: float64.

    Raises BadFrameError naming the file when it is missing, unparsable or has the wrong number of values.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise BadFrameError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError) as err:
        raise BadFrameError(f"{path}: unreadable ({err})") from err
    try:
        values = np.array([float(v) for v in text.split()], dtype=np.float64)
    except ValueError as err:
        raise BadFrameError(f"{path}: not a numeric matrix ({err})") from None
    if values.size != shape[0] * shape[1]:
        rows, cols = shape
        raise BadFrameError(f"{path}: expected a {rows}×{cols} matrix ({rows * cols} values), found {values.size}")
    return values.reshape(shape)


def read_intrinsics_txt(path: str | os.PathLike) -> np.ndarray:
    """Pixel intrinsics `K: [3, 3] float64` from a text file holding a 3×3 or 4×4 matrix
    (ScanNet writes 4×4; its top-left 3×3 is K) or the four numbers `fx fy cx cy`.

    Raises ValueError naming the file when it holds anything else.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such intrinsics file")
    try:
        values = np.array([float(v) for v in read_text(path).split()], dtype=np.float64)
    except ValueError as err:
        raise ValueError(f"{path}: intrinsics must be numbers ({err})") from None
    if values.size == 4:
        fx, fy, cx, cy = values
        K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    elif values.size in (9, 16):
        side = 3 if values.size == 9 else 4
        M = values.reshape(side, side)
        if side == 4 and not (np.array_equal(M[:3, 3], np.zeros(3)) and np.array_equal(M[3], [0, 0, 0, 1])):
            raise ValueError(f"{path}: a 4×4 intrinsic matrix must end in column 0 0 0 and row 0 0 0 1")
        K = M[:3, :3].copy()
    else:
        raise ValueError(f"{path}: expected a 3×3 or 4×4 matrix or 'fx fy cx cy', found {values.size} numbers")
    check_intrinsics(K, str(path))
    return K


def intrinsics_matrix(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """`K: [3, 3] float64` from focal lengths and principal point, pixels."""
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)


def check_intrinsics(K: np.ndarray, where: str) -> None:
    """Raise ValueError naming `where` unless K is a finite [3, 3] with positive focal lengths and entries
    within a million pixels (no camera has more: a larger value is a corrupt file, which would otherwise
    surface later as points far from everything, blamed on another file)."""
    if K.shape != (3, 3) or not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f"{where}: intrinsics must be a finite 3×3 matrix with positive fx, fy; found {K.tolist()}")
    if np.abs(K).max() > 1e6:
        raise ValueError(f"{where}: intrinsics have an entry beyond 1e6 pixels; found {K.tolist()}")
    if K[2].tolist() != [0.0, 0.0, 1.0]:
        raise ValueError(f"{where}: the intrinsic matrix's last row must be 0 0 1; found {K.tolist()}")


def scale_intrinsics(K: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """Intrinsics of an image resized from `from_size` to `to_size` (both (width, height)).

    Pixel centres are at integer coordinates and resizing maps image *edges* onto each other (as
    cv2.resize does), so a centre coordinate c becomes (c + 0.5) * s - 0.5 while focal lengths scale by s.
    K: [3, 3] float64, pixels of the source image. Returns a new [3, 3] float64.
    """
    sx = to_size[0] / from_size[0]
    sy = to_size[1] / from_size[1]
    out = np.array(K, dtype=np.float64, copy=True)
    out[0, 0] *= sx
    out[0, 1] *= sx
    out[1, 1] *= sy
    out[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
    out[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
    return out


def pose_problem(pose: np.ndarray) -> str | None:
    """Why a camera-to-world pose cannot be used, or None when it is a finite rigid 4×4 transform.

    ScanNet marks frames without tracking with rows of -inf; other datasets use NaN.
    """
    if pose.shape != (4, 4):
        return f"pose must be 4×4, found shape {pose.shape}"
    if not np.isfinite(pose).all():
        return "pose has NaN or inf entries (invalid tracking)"
    rot = pose[:3, :3]
    drift = float(np.abs(rot.T @ rot - np.eye(3)).max())
    if drift > RIGID_TOLERANCE or np.abs(pose[3] - (0.0, 0.0, 0.0, 1.0)).max() > RIGID_TOLERANCE:
        return f"pose is not a rigid transform (max |RᵀR − I| = {drift:.3g}, last row {pose[3].tolist()})"
    if np.linalg.det(rot) < 0:
        return "pose rotation is a reflection (determinant < 0)"
    distance = float(np.linalg.norm(pose[:3, 3]))
    if distance > MAX_TRANSLATION:
        return f"pose translation is farther than {MAX_TRANSLATION:g} m from the origin (|t| = {distance:.3g} m)"
    return None


def quaternion_to_matrix(wxyz: np.ndarray) -> np.ndarray:
    """Rotation matrices from quaternions. wxyz: [..., 4] (normalised here; a zero quaternion gives NaN,
    which pose checks then reject). Returns [..., 3, 3] float64."""
    q = np.asarray(wxyz, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )
