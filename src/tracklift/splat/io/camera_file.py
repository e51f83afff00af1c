"""The views a splat model was trained on, saved beside it as `cameras.json`, so later commands (lift,
render) need neither the dataset nor its reader.

`{"cameras": [{"name": "0", "width": 160, "height": 120, "K": [[...]], "pose": [[...]] (c2w, OpenCV),
"holdout": false}, ...]}`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from tracklift.io.atomic import atomic_write_text
from tracklift.splat.render.camera import Camera

CAMERAS_FILE = "cameras.json"


def write_cameras(path: str | Path, cameras: Sequence[Camera], holdout: Sequence[bool]) -> None:
    """Write cameras and their held-out flags (one per camera) to a JSON file (atomically)."""
    if len(holdout) != len(cameras):
        raise ValueError(f"need one holdout flag per camera, got {len(holdout)} for {len(cameras)}")
    entries = [
        {
            "name": c.name,
            "width": c.width,
            "height": c.height,
            "K": c.K.tolist(),
            "pose": c.pose.tolist(),
            "holdout": bool(h),
        }
        for c, h in zip(cameras, holdout)
    ]
    atomic_write_text(Path(path), json.dumps({"cameras": entries}, indent=1) + "\n")


def read_cameras(path: str | Path) -> tuple[list[Camera], list[bool]]:
    """Cameras and held-out flags from `write_cameras`' file; errors name the file and the entry."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no camera file (written by `tracklift splat train`)")
    try:
        entries = json.loads(path.read_text())["cameras"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a cameras file ({err})") from err
    cameras, holdout = [], []
    for i, e in enumerate(entries):
        try:
            cameras.append(Camera(e["K"], e["pose"], e["width"], e["height"], name=str(e["name"])))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: camera entry {i} is invalid ({err})") from err
        holdout.append(bool(e.get("holdout", False)))
    return cameras, holdout
