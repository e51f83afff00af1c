"""Microsoft 7-Scenes: `seq-XX/frame-XXXXXX.color.png` (or `.color.jpg`, as some copies store it),
`.depth.png` (uint16 mm, 65535 = no measurement), `.pose.txt` (4×4 c2w). Either a scene folder holding
`seq-XX/` folders (frame names `seq-XX/frame-XXXXXX`) or one sequence folder (names `frame-XXXXXX`).
Intrinsics: a `camera-intrinsics.txt` (3×3) in the sequence folder or the scene folder when there is one,
else the dataset's fx = fy = 585, cx = 320, cy = 240. The Kinect's colour and depth cameras are not
registered in this dataset; colour is used as given."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tracklift.data.camera import intrinsics_matrix, read_intrinsics_txt
from tracklift.data.formats.common import Layout, Listing, files_by_stem, natural_key, require_frames, union_stems
from tracklift.data.stream import FrameRecord, SensorSpec

K = intrinsics_matrix(585.0, 585.0, 320.0, 240.0)
COLORS, DEPTH, POSE = (".color.png", ".color.jpg"), ".depth.png", ".pose.txt"
INTRINSICS = "camera-intrinsics.txt"


def _sequences(root: Path) -> list[tuple[Path, str]]:
    """(folder, name prefix) of each sequence holding frames."""
    if files_by_stem(root, (*COLORS, DEPTH)):
        return [(root, "")]
    seqs = [p for p in root.glob("seq-*") if p.is_dir() and files_by_stem(p, (*COLORS, DEPTH))]
    return [(p, f"{p.name}/") for p in sorted(seqs, key=lambda p: natural_key(p.name))]


def _intrinsics(folder: Path, root: Path) -> np.ndarray:
    for candidate in (folder / INTRINSICS, root / INTRINSICS):
        if candidate.is_file():
            return read_intrinsics_txt(candidate)
    return K


def detect(root: Path) -> bool:
    return bool(_sequences(root))


def list_frames(root: Path) -> Listing:
    records = []
    for folder, prefix in _sequences(root):
        color = files_by_stem(folder, COLORS)
        depth = files_by_stem(folder, (DEPTH,))
        K_seq = _intrinsics(folder, root)
        # a frame without colour is listed with the extension its sequence uses, so the error names that file
        ext = COLORS[1] if any(p.name.lower().endswith(COLORS[1]) for p in color.values()) else COLORS[0]
        for stem in union_stems(color, depth):
            records.append(
                FrameRecord(
                    name=prefix + stem,
                    color=color.get(stem, folder / f"{stem}{ext}"),
                    depth=depth.get(stem, folder / f"{stem}{DEPTH}"),
                    pose=folder / f"{stem}{POSE}",
                    K=K_seq,
                )
            )
    require_frames(records, root, "7scenes", "seq-XX/")
    return Listing(records, SensorSpec(depth_scale=1000.0, depth_invalid=65535))


LAYOUT = Layout("7scenes", "seq-XX/frame-XXXXXX.color.{png,jpg} (Microsoft 7-Scenes)", detect, list_frames)
