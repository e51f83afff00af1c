"""TUM RGB-D: `rgb.txt` and `depth.txt` (`timestamp path` lines), `groundtruth.txt`
(`timestamp tx ty tz qx qy qz qw`, camera-to-world), depth PNGs of raw / 5000 = metres.

Colour and depth are paired by nearest timestamp (one-to-one, at most 0.02 s apart, as TUM's associate.py),
each pair takes the ground-truth pose nearest to its depth timestamp (at most 0.02 s away, else the frame
is reported bad). Intrinsics: `intrinsics.txt` or `calibration.txt` in the sequence folder (3×3 or
`fx fy cx cy`), else the default Freiburg values fx = fy = 525, cx = 319.5, cy = 239.5.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from tracklift.data.camera import (
    intrinsics_matrix,
    quaternion_to_matrix,
    read_intrinsics_txt,
)
from tracklift.data.formats.common import NO_POSE, Layout, Listing, require_frames
from tracklift.data.stream import FrameRecord, SensorSpec
from tracklift.io.paths import contained_path
from tracklift.io.textfile import read_text

log = logging.getLogger(__name__)

MAX_DT = 0.02
DEFAULT_K = intrinsics_matrix(525.0, 525.0, 319.5, 239.5)


def detect(root: Path) -> bool:
    return (root / "rgb.txt").is_file() and (root / "depth.txt").is_file()


def _read_rows(path: Path, columns: int, numeric: bool = False) -> tuple[np.ndarray, list[list]]:
    """Timestamps [N] float64 and the remaining fields (floats when `numeric`) of each data line of a TUM list file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (TUM sequences need rgb.txt, depth.txt and groundtruth.txt)")
    stamps, fields = [], []
    for line_no, line in enumerate(read_text(path).splitlines(), start=1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        try:
            if len(parts) != columns:
                raise ValueError(f"expected {columns} fields, found {len(parts)}")
            stamps.append(float(parts[0]))
            fields.append([float(p) for p in parts[1:]] if numeric else parts[1:])
        except ValueError as err:
            raise ValueError(f"{path} line {line_no}: {err}: {line.strip()[:80]!r}") from None
    return np.array(stamps, dtype=np.float64), fields


def nearest(query: np.ndarray, ref: np.ndarray, max_dt: float = MAX_DT) -> np.ndarray:
    """For each query time the index of the nearest reference time, or -1 when none is within max_dt.

    query: [N] float64 seconds; ref: [M] float64 seconds, sorted ascending. Returns [N] int64.
    """
    if len(ref) == 0:
        return np.full(len(query), -1, dtype=np.int64)
    right = np.searchsorted(ref, query).clip(0, len(ref) - 1)
    left = (right - 1).clip(0)
    pick = np.where(np.abs(ref[left] - query) <= np.abs(ref[right] - query), left, right)
    return np.where(np.abs(ref[pick] - query) <= max_dt, pick, -1).astype(np.int64)


def associate(a: np.ndarray, b: np.ndarray, max_dt: float = MAX_DT) -> list[tuple[int, int]]:
    """One-to-one pairs (i, j) of times a[i], b[j] at most max_dt apart, closest pairs taken first (the
    greedy rule of TUM's associate.py). a: [N], b: [M] float64 seconds, any order. Returns pairs sorted by i.
    """
    order = np.argsort(b, kind="stable")
    sorted_b = b[order]
    lo = np.searchsorted(sorted_b, a - max_dt, side="left")
    hi = np.searchsorted(sorted_b, a + max_dt, side="right")
    # the search bounds are only candidates: float rounding of a ± max_dt can admit a pair just outside
    candidates = sorted(
        (dt, i, int(order[k]))
        for i in range(len(a))
        for k in range(lo[i], hi[i])
        if (dt := abs(a[i] - sorted_b[k])) <= max_dt
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for _, i, j in candidates:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def _intrinsics(root: Path) -> np.ndarray:
    for name in ("intrinsics.txt", "calibration.txt"):
        if (root / name).is_file():
            return read_intrinsics_txt(root / name)
    return DEFAULT_K


def list_frames(root: Path) -> Listing:
    rgb_t, rgb_files = _read_rows(root / "rgb.txt", 2)
    depth_t, depth_files = _read_rows(root / "depth.txt", 2)
    gt_t, gt_rows = _read_rows(root / "groundtruth.txt", 8, numeric=True)
    order = np.argsort(gt_t, kind="stable")
    gt_t = gt_t[order]
    gt = np.array(gt_rows, dtype=np.float64).reshape(-1, 7)[order]
    poses = np.tile(np.eye(4), (len(gt), 1, 1))
    poses[:, :3, 3] = gt[:, :3]
    poses[:, :3, :3] = quaternion_to_matrix(gt[:, [6, 3, 4, 5]])  # file order qx qy qz qw -> wxyz
    K = _intrinsics(root)
    pairs = associate(rgb_t, depth_t)
    if len(pairs) < len(rgb_t):
        unpaired = len(rgb_t) - len(pairs)
        log.info("%s: %d of %d colour images have no depth within %.2f s", root, unpaired, len(rgb_t), MAX_DT)
    pose_index = nearest(depth_t[[j for _, j in pairs]], gt_t) if pairs else np.zeros(0, np.int64)
    records = []
    for (i, j), k in zip(pairs, pose_index):
        problem = None if k >= 0 else f"no ground-truth pose within {MAX_DT} s of depth time {depth_t[j]:.6f}"
        for listed, where in ((rgb_files[i][0], "rgb.txt"), (depth_files[j][0], "depth.txt")):
            try:  # a listed image outside the sequence folder costs its frame, not the sequence
                contained_path(root, listed, where, "image")
            except ValueError as err:
                problem = str(err)
        records.append(
            FrameRecord(
                name=Path(rgb_files[i][0]).stem,
                color=root / rgb_files[i][0],
                depth=root / depth_files[j][0],
                pose=poses[k] if k >= 0 else NO_POSE,
                K=K,
                problem=problem,
            )
        )
    require_frames(records, root, "tum", "rgb.txt / depth.txt (no colour-depth pairs within 0.02 s)")
    return Listing(records, SensorSpec(depth_scale=5000.0))


LAYOUT = Layout("tum", "rgb.txt and depth.txt (TUM RGB-D)", detect, list_frames)
