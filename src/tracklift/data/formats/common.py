"""What every layout module provides (`Layout`, `Listing`) and the file-listing helpers they share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tracklift.data.stream import FrameRecord, SensorSpec
from tracklift.io.textfile import read_text

# placeholder pose of a record whose `problem` already says why it has none
NO_POSE = np.full((4, 4), np.nan)
NO_POSE.flags.writeable = False


@dataclass
class Listing:
    """A scene's frames plus the scene files only the layout knows where to find."""

    records: list[FrameRecord]
    spec: SensorSpec
    mesh_path: Path | None = None
    segs_path: Path | None = None
    aggregation_path: Path | None = None


@dataclass(frozen=True)
class Layout:
    """A dataset layout: `detect(root)` is cheap (no image is read); `list_frames(root)` lists records."""

    name: str
    looks_for: str
    detect: Callable[[Path], bool]
    list_frames: Callable[[Path], Listing]


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers by value: "frame2" < "frame10"."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part)


def files_by_stem(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """{stem: path} of the files in `folder` ending with one of `suffixes` (case-insensitive; a suffix
    may span dots, e.g. ".color.png"). Empty when the folder does not exist."""
    if not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):  # sorted: ties (0.jpg and 0.png) resolve the same way everywhere
        lower = path.name.lower()
        for suffix in suffixes:
            if lower.endswith(suffix) and len(lower) > len(suffix) and path.is_file():
                found.setdefault(path.name[: -len(suffix)], path)
                break
    return found


def union_stems(*groups: dict[str, Path]) -> list[str]:
    """Every stem present in any group, in natural order: a frame missing one of its files stays listed
    so that loading it reports the missing file instead of the frame silently vanishing."""
    return sorted(set().union(*groups), key=natural_key)


def require_frames(records: list[FrameRecord], root: Path, layout: str, looked_in: str) -> None:
    """ValueError when a folder has a layout's structure but not a single frame."""
    if not records:
        raise ValueError(f"{root}: {layout} layout but no frames found in {looked_in}")


def read_pose_rows(path: Path) -> tuple[list[np.ndarray], dict[int, str]]:
    """Poses written one per line as 16 numbers (row-major 4×4 camera-to-world), as in Replica's traj.txt.

    Blank and '#' lines are ignored. Returns (poses, problems): poses[k] is the k-th pose, [4, 4] float64
    (NaN-filled when its line is malformed), problems maps k to a message naming the file and line, so
    that one bad line costs one frame, not the scene.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such pose file")
    poses: list[np.ndarray] = []
    problems: dict[int, str] = {}
    for line_no, line in enumerate(read_text(path).splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            values = [float(v) for v in text.split()]
        except ValueError:
            values = []
        if len(values) != 16:
            problems[len(poses)] = f"{path.name} line {line_no}: expected 16 numbers, found {text[:60]!r}"
            poses.append(NO_POSE)
        else:
            poses.append(np.array(values, dtype=np.float64).reshape(4, 4))
    return poses, problems


def existing(path: Path) -> Path | None:
    """`path` when it is a file, else None."""
    return path if path.is_file() else None
