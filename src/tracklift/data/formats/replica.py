"""Replica as rendered for NICE-SLAM: `results/frameNNNNNN.jpg`, `results/depthNNNNNN.png` (raw / 6553.5 =
metres), `traj.txt` (line i: row-major 4×4 c2w of frame i), `cam_params.json` in the scene folder or its
parent (`{"camera": {"w", "h", "fx", "fy", "cx", "cy", "scale"}}`; the standard Replica camera if absent)."""

from __future__ import annotations

import logging
from pathlib import Path

from tracklift.data.camera import check_intrinsics, intrinsics_matrix
from tracklift.data.formats.common import (
    NO_POSE,
    Layout,
    Listing,
    existing,
    files_by_stem,
    read_pose_rows,
    require_frames,
    union_stems,
)
from tracklift.data.stream import FrameRecord, SensorSpec
from tracklift.io.textfile import read_json

log = logging.getLogger(__name__)

# NICE-SLAM's configs/Replica/replica.yaml camera, used by every Replica scene
DEFAULT_CAMERA = {"w": 1200, "h": 680, "fx": 600.0, "fy": 600.0, "cx": 599.5, "cy": 339.5, "scale": 6553.5}


def detect(root: Path) -> bool:
    return (root / "traj.txt").is_file() and bool(files_by_stem(root / "results", (".jpg",)))


def _camera(root: Path) -> dict:
    for path in (root / "cam_params.json", root.parent / "cam_params.json"):
        if path.is_file():
            data = read_json(path)
            camera = data.get("camera") if isinstance(data, dict) else None
            missing = [k for k in DEFAULT_CAMERA if not isinstance(camera, dict) or k not in camera]
            if missing:
                raise ValueError(f"{path}: 'camera' lacks {missing}")
            return camera
    log.info("%s: no cam_params.json, using the standard Replica camera", root)
    return DEFAULT_CAMERA


def _index(stem: str, prefix: str) -> str | None:
    rest = stem[len(prefix) :]
    return rest if stem.startswith(prefix) and rest.isdigit() else None


def list_frames(root: Path) -> Listing:
    camera = _camera(root)
    K = intrinsics_matrix(camera["fx"], camera["fy"], camera["cx"], camera["cy"])
    check_intrinsics(K, "cam_params.json")
    results = root / "results"
    color = {i: p for s, p in files_by_stem(results, (".jpg",)).items() if (i := _index(s, "frame")) is not None}
    depth = {i: p for s, p in files_by_stem(results, (".png",)).items() if (i := _index(s, "depth")) is not None}
    poses, problems = read_pose_rows(root / "traj.txt")
    records = []
    for digits in union_stems(color, depth):
        i = int(digits)
        problem = problems.get(i)
        if i >= len(poses):
            problem = f"traj.txt has no line for frame {i} ({len(poses)} poses)"
        records.append(
            FrameRecord(
                name=f"frame{digits}",
                color=color.get(digits, results / f"frame{digits}.jpg"),
                depth=depth.get(digits, results / f"depth{digits}.png"),
                pose=poses[i] if i < len(poses) else NO_POSE,
                K=K,
                problem=problem,
            )
        )
    require_frames(records, root, "replica", "results/")
    spec = SensorSpec(depth_scale=float(camera["scale"]), depth_size=(int(camera["w"]), int(camera["h"])))
    return Listing(records, spec, mesh_path=existing(root.parent / f"{root.name}_mesh.ply"))


LAYOUT = Layout("replica", "results/frameNNNNNN.jpg and traj.txt (Replica, NICE-SLAM)", detect, list_frames)
