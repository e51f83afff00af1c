"""Open a scene folder of any supported layout: its RGB-D stream plus mesh and ground-truth files."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from tracklift.data.formats import generic, posed_images, replica, scannet, scannetpp, sevenscenes, tum
from tracklift.data.formats.common import Layout, existing
from tracklift.data.stream import RGBDStream

log = logging.getLogger(__name__)

LABELS_TSV = "scannetv2-labels.combined.tsv"

# Detection order: the first layout whose `detect` accepts the folder wins; specific layouts come before
# the generic one, whose folder names (color/, depth/) overlap with ScanNet's.
LAYOUTS: dict[str, Layout] = {
    m.LAYOUT.name: m.LAYOUT for m in (scannet, posed_images, replica, scannetpp, tum, sevenscenes, generic)
}


@dataclass
class Scene:
    """A scene folder opened for reading.

    name: the folder name (ScanNet: "scene0113_00"); root: the folder; layout: a key of LAYOUTS.
    stream: the lazy RGB-D frames. The file paths are None when absent:
    mesh_path (`<name>_vh_clean_2.ply`, a layout's own mesh such as ScanNet++ `scans/mesh_aligned_0.05.ply`
    or Replica `../<name>_mesh.ply`, else the single `*.ply`), segs_path (`<name>_vh_clean_2.0.010000.segs.json`
    or the single `*.segs.json`: superpoints), aggregation_path (`<name>.aggregation.json` or the single
    `*.aggregation.json`: object groups), gt_path (`gt/<name>.txt`, one id per vertex),
    labels_tsv (`scannetv2-labels.combined.tsv` in the folder or its parent).
    """

    name: str
    root: Path
    layout: str
    stream: RGBDStream
    mesh_path: Path | None = None
    segs_path: Path | None = None
    aggregation_path: Path | None = None
    gt_path: Path | None = None
    labels_tsv: Path | None = None


def detect_layout(root: str | Path) -> str:
    """The layout name of a scene folder; FileNotFoundError / ValueError explaining what was looked for."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such scene folder")
    if not any(root.iterdir()):
        raise ValueError(f"{root}: scene folder is empty")
    for name, layout in LAYOUTS.items():
        if layout.detect(root):
            return name
    tried = "\n".join(f"  {name:<13} {layout.looks_for}" for name, layout in LAYOUTS.items())
    raise ValueError(f"{root}: unknown scene layout; looked for:\n{tried}")


def _single(root: Path, pattern: str) -> Path | None:
    found = sorted(root.glob(pattern))
    if len(found) > 1:
        log.debug("%s: %d files match %s, using none", root, len(found), pattern)
    return found[0] if len(found) == 1 else None


def open_scene(path: str | Path, layout: str | None = None, stride: int = 1, max_frames: int | None = None) -> Scene:
    """Open the scene at `path`, auto-detecting its layout unless `layout` names one of LAYOUTS.

    Only file names are listed here; images are read when frames are taken from `scene.stream`.
    """
    root = Path(path)
    if layout is None:
        layout = detect_layout(root)
    elif layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; known layouts: {', '.join(LAYOUTS)}")
    elif not root.is_dir():
        raise FileNotFoundError(f"{root}: no such scene folder")
    elif not LAYOUTS[layout].detect(root):
        raise ValueError(f"{root}: does not look like the {layout} layout (expected {LAYOUTS[layout].looks_for})")
    listing = LAYOUTS[layout].list_frames(root)
    name = root.resolve().name
    return Scene(
        name=name,
        root=root,
        layout=layout,
        stream=RGBDStream(listing.records, listing.spec, stride=stride, max_frames=max_frames),
        mesh_path=existing(root / f"{name}_vh_clean_2.ply") or listing.mesh_path or _single(root, "*.ply"),
        segs_path=listing.segs_path
        or existing(root / f"{name}_vh_clean_2.0.010000.segs.json")
        or _single(root, "*.segs.json"),
        aggregation_path=listing.aggregation_path
        or existing(root / f"{name}.aggregation.json")
        or _single(root, "*.aggregation.json"),
        gt_path=existing(root / "gt" / f"{name}.txt"),
        labels_tsv=existing(root / LABELS_TSV) or existing(root.parent / LABELS_TSV),
    )
