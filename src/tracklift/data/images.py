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


# OpenCV's JPEG decoder scales by 1/2, 1/4, 1/8 in the DCT itself, several times faster than a full decode.
_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def jpeg_components(data: bytes) -> int | None:
    """Colour components of a JPEG (1 grey, 3 colour) from its start-of-frame header, or None if `data` is not
    a JPEG with one before the scan."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker in _SOF:
            return data[i + 9]
        if marker == 0xDA:  # start of scan: no frame header before it
            return None
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


# start-of-frame markers (baseline, progressive, …); C4, C8 and CC are other segments
_SOF = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))


def _decode(path: Path, reduce: int = 1) -> np.ndarray:
    data = _read_bytes(path)
    # OpenCV 4.x decodes a truncated JPEG into a grey-padded image with only a stderr note, so check
    # for the end-of-image marker ourselves (trailing zero padding is tolerated by decoders too).
    if data[:2] == b"\xff\xd8" and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise BadFrameError(f"{path}: truncated JPEG (no end-of-image marker)")
    # a reduced decode always gives 3 channels: only colour JPEGs take it, so a grey one is still refused
    flags = _REDUCED[reduce] if reduce > 1 and jpeg_components(data) == 3 else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise BadFrameError(f"{path}: corrupt or truncated image (cannot decode {len(data)} bytes)")
    return image


def reduced_size(size: tuple[int, int], reduce: int) -> tuple[int, int]:
    """(width, height) of an image of `size` decoded with `read_color(..., reduce)` when it is a JPEG."""
    return (-(-size[0] // reduce), -(-size[1] // reduce)) if reduce > 1 else size


def read_color(path: str | Path, reduce: int = 1) -> np.ndarray:
    """An RGB colour image: [H, W, 3] uint8 (alpha dropped; 16-bit images are reduced to 8 bits).

    reduce: 1, 2, 4 or 8 — a JPEG is decoded at 1/reduce of its size (`reduced_size`); other formats at full size.
    """
    if reduce not in (1, *_REDUCED):
        raise ValueError(f"reduce must be 1, 2, 4 or 8, got {reduce}")
    path = Path(path)
    image = _decode(path, reduce)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise BadFrameError(f"{path}: colour must have 3 channels, found shape {image.shape}")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise BadFrameError(f"{path}: colour must be 8- or 16-bit, found {image.dtype}")
    # OpenCV's channel swap is ~20× faster than a contiguous copy of the reversed-channel view
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGB)


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
    # (one pass: the uint16 -> float32 cast happens inside the division)
    depth = np.divide(raw, np.float32(scale), dtype=np.float32)
    if invalid is not None:
        depth[raw == invalid] = 0.0
    return depth
