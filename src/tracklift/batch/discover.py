"""Find the scene folders of a dataset root: ScanNet `scans/<scene>/`, mmdetection3d `posed_images/<scene>/`,
ScanNet++ `data/<scene>/`, Replica `<root>/<scene>/` (any layout `tracklift.data.scene` reads, directly
under the root), or the folders a list file names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tracklift.data.scene import LAYOUTS, detect_layout

# Folders a dataset keeps its scenes in: ScanNet, mmdetection3d, ScanNet++.
CONTAINERS = ("scans", "posed_images", "data")


@dataclass(frozen=True)
class SceneJob:
    """name: the scene name (its folder name, as `tracklift segment` names outputs); path: the folder."""

    name: str
    path: Path


def is_scene(folder: Path) -> bool:
    """Whether any layout recognises `folder` (cheap: no image is read)."""
    return folder.is_dir() and any(layout.detect(folder) for layout in LAYOUTS.values())


def _job(folder: Path) -> SceneJob:
    return SceneJob(folder.resolve().name, folder)


def _from_list(root: Path, list_file: Path) -> list[SceneJob]:
    if not list_file.is_file():
        raise FileNotFoundError(f"{list_file}: no such scene list")
    jobs = []
    for line_no, line in enumerate(list_file.read_text().splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        given = Path(entry)
        tried = [given] if given.is_absolute() else [root / given, *(root / c / given for c in CONTAINERS)]
        found = next((p for p in tried if p.is_dir()), None)
        if found is None:
            raise FileNotFoundError(
                f"{list_file} line {line_no}: no scene folder {entry!r} (looked for {', '.join(map(str, tried))})"
            )
        try:
            detect_layout(found)
        except ValueError as err:
            raise ValueError(f"{list_file} line {line_no}: {err}") from None
        jobs.append(_job(found))
    if not jobs:
        raise ValueError(f"{list_file}: names no scene")
    return jobs


def find_scenes(root: str | Path, list_file: str | Path | None = None) -> list[SceneJob]:
    """The scenes under `root`, sorted by name: the folders `list_file` names (one per line, absolute or
    relative to root or to one of its CONTAINERS; blank and '#' lines ignored), else root itself when it is a
    scene, else every scene folder directly inside root or inside root/<container>.

    Raises FileNotFoundError / ValueError naming the folder, list line or clashing scene names.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such dataset folder")
    if list_file is not None:
        jobs = _from_list(root, Path(list_file))
    elif is_scene(root):
        jobs = [_job(root)]
    else:
        folders = [root, *(root / c for c in CONTAINERS)]
        jobs = [_job(p) for f in folders if f.is_dir() for p in sorted(f.iterdir()) if is_scene(p)]
        if not jobs:
            raise ValueError(
                f"{root}: no scene folders found in {', '.join(f'{f}/*' for f in folders)} "
                f"(layouts: {', '.join(LAYOUTS)})"
            )
    by_name: dict[str, Path] = {}
    for job in jobs:
        if job.name in by_name:
            raise ValueError(
                f"two scenes are named {job.name!r}: {by_name[job.name]} and {job.path}; "
                "outputs are named by scene, so names must be unique"
            )
        by_name[job.name] = job.path
    return sorted(jobs, key=lambda j: j.name)
