"""ScanNet++ iPhone data of one scene: `iphone/rgb/frame_XXXXXX.jpg` (1920×1440), `iphone/depth/frame_XXXXXX.png`
(uint16 mm, 256×192), `iphone/pose_intrinsic_imu.json` (`{"frame_XXXXXX": {"aligned_pose": 4×4 c2w in the laser
scan's frame, "intrinsic": 3×3 of the RGB image, ...}}`). The scene folder or its `iphone/` folder may be given;
from the scene folder `scans/mesh_aligned_0.05.ply`, `scans/segments.json`, `scans/segments_anno.json` are found."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tracklift.data.formats.common import (
    NO_POSE,
    Layout,
    Listing,
    existing,
    files_by_stem,
    require_frames,
    union_stems,
)
from tracklift.data.stream import FrameRecord, SensorSpec
from tracklift.io.textfile import read_json

POSES = "pose_intrinsic_imu.json"


def _iphone(root: Path) -> Path:
    return root / "iphone" if (root / "iphone" / POSES).is_file() else root


def detect(root: Path) -> bool:
    iphone = _iphone(root)
    return (iphone / POSES).is_file() and (iphone / "rgb").is_dir()


def _entry(meta: dict, name: str) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(pose, K, problem) of one frame's JSON entry."""
    entry = meta.get(name)
    if not isinstance(entry, dict):
        return NO_POSE, np.eye(3), f"{POSES} has no entry for {name}"
    try:
        pose = np.asarray(entry["aligned_pose"], dtype=np.float64).reshape(4, 4)
        K = np.asarray(entry["intrinsic"], dtype=np.float64).reshape(3, 3)
    except (KeyError, ValueError, TypeError) as err:
        return NO_POSE, np.eye(3), f"{POSES} entry {name}: needs 4×4 'aligned_pose' and 3×3 'intrinsic' ({err!r})"
    if not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0:
        return NO_POSE, np.eye(3), f"{POSES} entry {name}: bad intrinsics {K.tolist()}"
    return pose, K, None


def list_frames(root: Path) -> Listing:
    iphone = _iphone(root)
    meta = read_json(iphone / POSES)
    if not isinstance(meta, dict):
        raise ValueError(f"{iphone / POSES}: expected an object keyed by frame name")
    color = files_by_stem(iphone / "rgb", (".jpg",))
    depth = files_by_stem(iphone / "depth", (".png",))
    records = []
    # the RGB video is usually exported at a subsampled rate while the JSON lists every frame
    for name in union_stems(color, depth):
        pose, K, problem = _entry(meta, name)
        color_path = color.get(name, iphone / "rgb" / f"{name}.jpg")
        depth_path = depth.get(name, iphone / "depth" / f"{name}.png")
        records.append(FrameRecord(name, color_path, depth_path, pose, K, problem))
    require_frames(records, root, "scannetpp", "iphone/rgb/")
    scans = root / "scans"
    return Listing(
        records,
        SensorSpec(depth_scale=1000.0, K_of="color"),
        mesh_path=existing(scans / "mesh_aligned_0.05.ply"),
        segs_path=existing(scans / "segments.json"),
        aggregation_path=existing(scans / "segments_anno.json"),
    )


LAYOUT = Layout("scannetpp", f"iphone/rgb/ and iphone/{POSES} (ScanNet++ iPhone)", detect, list_frames)
