"""mmdetection3d ScanNet `posed_images/<scene>/`: `NNNNN.jpg` colour, `NNNNN.png` depth (uint16 mm),
`NNNNN.txt` 4×4 c2w pose, `intrinsic.txt` (4×4 *colour* intrinsics, rescaled here to the depth image)."""

from __future__ import annotations

from pathlib import Path

from tracklift.data.camera import read_intrinsics_txt
from tracklift.data.formats.common import Layout, Listing, files_by_stem, require_frames, union_stems
from tracklift.data.stream import FrameRecord, SensorSpec


def _numbered(files: dict[str, Path]) -> dict[str, Path]:
    return {stem: path for stem, path in files.items() if stem.isdigit()}


def detect(root: Path) -> bool:
    return (root / "intrinsic.txt").is_file() and bool(_numbered(files_by_stem(root, (".jpg",))))


def list_frames(root: Path) -> Listing:
    K = read_intrinsics_txt(root / "intrinsic.txt")
    color = _numbered(files_by_stem(root, (".jpg",)))
    depth = _numbered(files_by_stem(root, (".png",)))
    records = [
        FrameRecord(
            name=stem,
            color=color.get(stem, root / f"{stem}.jpg"),
            depth=depth.get(stem, root / f"{stem}.png"),
            pose=root / f"{stem}.txt",
            K=K,
        )
        for stem in union_stems(color, depth)
    ]
    require_frames(records, root, "posed_images", "NNNNN.jpg / NNNNN.png")
    return Listing(records, SensorSpec(depth_scale=1000.0, K_of="color"))


LAYOUT = Layout(
    "posed_images", "intrinsic.txt beside NNNNN.jpg/.png/.txt (mmdetection3d posed_images)", detect, list_frames
)
