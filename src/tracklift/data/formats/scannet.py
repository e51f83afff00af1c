"""ScanNet SensReader export: `color/<i>.jpg`, `depth/<i>.png` (uint16 mm), `pose/<i>.txt` (4×4 c2w;
rows of -inf where tracking failed), `intrinsic/intrinsic_{depth,color}.txt` (4×4)."""

from __future__ import annotations

from pathlib import Path

from tracklift.data.camera import read_intrinsics_txt
from tracklift.data.formats.common import Layout, Listing, files_by_stem, require_frames, union_stems
from tracklift.data.stream import FrameRecord, SensorSpec


def detect(root: Path) -> bool:
    return all((root / d).is_dir() for d in ("color", "depth", "pose", "intrinsic"))


def list_frames(root: Path) -> Listing:
    intrinsic = root / "intrinsic"
    # depth intrinsics describe the depth pixels exactly; colour ones only after rescaling
    if (intrinsic / "intrinsic_depth.txt").is_file():
        K, K_of = read_intrinsics_txt(intrinsic / "intrinsic_depth.txt"), "depth"
    elif (intrinsic / "intrinsic_color.txt").is_file():
        K, K_of = read_intrinsics_txt(intrinsic / "intrinsic_color.txt"), "color"
    else:
        raise FileNotFoundError(f"{intrinsic}: neither intrinsic_depth.txt nor intrinsic_color.txt found")
    color = files_by_stem(root / "color", (".jpg", ".jpeg", ".png"))
    depth = files_by_stem(root / "depth", (".png",))
    records = [
        FrameRecord(
            name=stem,
            color=color.get(stem, root / "color" / f"{stem}.jpg"),
            depth=depth.get(stem, root / "depth" / f"{stem}.png"),
            pose=root / "pose" / f"{stem}.txt",
            K=K,
        )
        for stem in union_stems(color, depth)
    ]
    require_frames(records, root, "scannet", "color/ and depth/")
    return Listing(records, SensorSpec(depth_scale=1000.0, K_of=K_of))


LAYOUT = Layout("scannet", "color/, depth/, pose/, intrinsic/ (ScanNet SensReader export)", detect, list_frames)
