"""The generic layout, for your own RGB-D captures.

```
my_scene/
  color/            colour images: 000000.jpg, 000001.jpg, ... (.jpg, .jpeg or .png, RGB)
  depth/            depth maps with the same file stems: 000000.png, ... (16-bit PNG, raw units)
                    or 000000.npy (float32 metres; NaN/inf/negative = invalid)
  poses/            000000.txt, ...: a 4×4 camera-to-world matrix per frame (OpenCV camera axes:
                    x right, y down, z forward)
  poses.txt         ... or instead of poses/: one frame per line, the 16 numbers of its 4×4
                    camera-to-world matrix in row-major order, lines in frame order
  intrinsics.txt    3×3 pixel intrinsics K (or the four numbers `fx fy cx cy`)
  tracklift.json    optional settings (meta.json is read when tracklift.json is absent)
  *.ply             optional: the scene mesh, when there is exactly one .ply file
```

* Frames are matched by file stem and ordered naturally (`frame2` before `frame10`); the stem is the frame's
  name (e.g. for precomputed masks `<masks_dir>/<name>.png`). A frame missing its colour, depth or pose
  is reported and skipped.
* Depth `0` is invalid. A PNG value `v` is `v / depth_scale` metres.
* Colour may have a higher resolution than depth (same aspect ratio); it is resized to the depth resolution.
* A pose containing NaN or inf marks a frame without tracking; it is skipped.
* `tracklift.json` keys (all optional):

  | key | default | meaning |
  |---|---|---|
  | `depth_scale` | `1000.0` | raw PNG depth units per metre (1000 = millimetres) |
  | `depth_invalid` | `null` | a raw PNG value that also means "no measurement" (e.g. `65535`) |
  | `intrinsics_of` | `"depth"` | the image `intrinsics.txt` describes: `"depth"`, or `"color"` (rescaled to depth) |
"""

from __future__ import annotations

from pathlib import Path

from tracklift.data.camera import read_intrinsics_txt
from tracklift.data.formats.common import (
    Layout,
    Listing,
    files_by_stem,
    read_pose_rows,
    require_frames,
    union_stems,
)
from tracklift.data.stream import FrameRecord, SensorSpec
from tracklift.io.textfile import read_json

COLOR_SUFFIXES = (".jpg", ".jpeg", ".png")
DEPTH_SUFFIXES = (".png", ".npy")
SETTINGS = {"depth_scale": 1000.0, "depth_invalid": None, "intrinsics_of": "depth"}


def detect(root: Path) -> bool:
    has_poses = (root / "poses").is_dir() or (root / "poses.txt").is_file()
    return (root / "color").is_dir() and (root / "depth").is_dir() and (root / "intrinsics.txt").is_file() and has_poses


def read_settings(root: Path) -> dict:
    """tracklift.json (or meta.json) merged over the defaults; ValueError naming the file on unknown keys."""
    settings = dict(SETTINGS)
    for name in ("tracklift.json", "meta.json"):
        path = root / name
        if path.is_file():
            given = read_json(path)
            if not isinstance(given, dict):
                raise ValueError(f"{path}: expected a JSON object")
            unknown = sorted(set(given) - set(SETTINGS))
            if unknown:
                raise ValueError(f"{path}: unknown keys {unknown}; known keys: {sorted(SETTINGS)}")
            settings.update(given)
            break
    return settings


def list_frames(root: Path) -> Listing:
    settings = read_settings(root)
    K = read_intrinsics_txt(root / "intrinsics.txt")
    color = files_by_stem(root / "color", COLOR_SUFFIXES)
    depth = files_by_stem(root / "depth", DEPTH_SUFFIXES)
    stems = union_stems(color, depth)
    if (root / "poses").is_dir():
        poses: list = [root / "poses" / f"{stem}.txt" for stem in stems]
        problems: dict[int, str] = {}
    else:
        poses, problems = read_pose_rows(root / "poses.txt")
        if len(poses) != len(stems):
            raise ValueError(
                f"{root / 'poses.txt'}: {len(poses)} poses for {len(stems)} frames; one line per frame is required"
            )
    records = [
        FrameRecord(
            name=stem,
            color=color.get(stem, root / "color" / f"{stem}.jpg"),
            depth=depth.get(stem, root / "depth" / f"{stem}.png"),
            pose=poses[k],
            K=K,
            problem=problems.get(k),
        )
        for k, stem in enumerate(stems)
    ]
    require_frames(records, root, "generic", "color/ and depth/")
    try:
        spec = SensorSpec(
            depth_scale=float(settings["depth_scale"]),
            depth_invalid=None if settings["depth_invalid"] is None else int(settings["depth_invalid"]),
            K_of=settings["intrinsics_of"],
        )
    except (TypeError, ValueError) as err:
        raise ValueError(f"{root}: bad settings in tracklift.json/meta.json: {err}") from None
    return Listing(records, spec)


LAYOUT = Layout("generic", "color/, depth/, poses/ or poses.txt, intrinsics.txt (generic layout)", detect, list_frames)
