"""Decode colour and depth image files, refusing missing, truncated or corrupt ones with BadFrameError."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tracklift.data.frame import BadFrameError


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadFrameError(f"{path}: missing") from None
    except OSError as err:
        raise BadFrameError(f"{path}: unreadable ({err})") from err
    if not data:
        raise BadFrameError(f"{path}: empty file")
    return data


def _decode(path: Path) -> np.ndarray:
    data = _read_bytes(path)
    # OpenCV 4.x decodes a truncated JPEG into a grey-padded image with only a stderr note, so check
    # for the end-of-image marker ourselves (trailing zero padding is tolerated by decoders too).
    if data[:2] == b"\xff\xd8" and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise BadFrameError(f"{path}: truncated JPEG (no end-of-image marker)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise BadFrameError(f"{path}: corrupt or truncated image (cannot decode {len(data)} bytes)")
    return image


def read_color(path: str | Path) -> np.ndarray:
    """An RGB colour image: [H, W, 3] uint8 (alpha dropped; 16-bit images are reduced to 8 bits)."""
    path = Path(path)
    image = _decode(path)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise BadFrameError(f"{path}: colour must have 3 channels, found shape {image.shape}")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise BadFrameError(f"{path}: colour must be 8- or 16-bit, found {image.dtype}")
    return np.ascontiguousarray(image[:, :, 2::-1])


def read_depth(path: str | Path, scale: float, invalid: int | None = None) -> np.ndarray:
    """A depth map in metres: [H, W] float32, 0 = invalid.

    16-bit PNGs hold raw units (`scale` raw units per metre; raw 0 and raw `invalid` are invalid).
    `.npy` files hold float metres already; NaN, inf and negative values become 0.
    """
    path = Path(path)
    if path.suffix.lower() == ".npy":
        if not path.is_file():
            raise BadFrameError(f"{path}: missing")
        try:
            raw = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise BadFrameError(f"{path}: corrupt .npy depth ({err})") from err
        if raw.ndim != 2 or raw.dtype.kind != "f":
            raise BadFrameError(f"{path}: .npy depth must be [H, W] float metres, found {raw.shape} {raw.dtype}")
        depth = raw.astype(np.float32)
        depth[~np.isfinite(depth) | (depth < 0)] = 0.0
        return depth
    raw = _decode(path)
    if raw.ndim != 2:
        raise BadFrameError(f"{path}: depth must be single-channel, found shape {raw.shape}")
    if raw.dtype != np.uint16:
        raise BadFrameError(f"{path}: depth must be 16-bit, found {raw.dtype}")
    # float32 division is correctly rounded, so raw mm / 1000 gives the nearest float32 to the true metres
    depth = raw.astype(np.float32) / np.float32(scale)
    if invalid is not None:
        depth[raw == invalid] = 0.0
    return depth
