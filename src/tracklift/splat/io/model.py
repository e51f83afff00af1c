"""A model folder of `tracklift splat train` / `lift` / `hierarchy` read back, and the 2D masks of its views.

Files: point_cloud.ply (trained Gaussians), cameras.json, source.json, segmented.ply + instances.npy/.json
(`splat lift`), hierarchy.json (`splat hierarchy`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from tracklift.io.paths import contained_path

if TYPE_CHECKING:
    from tracklift.core.masks import FrameMasks
    from tracklift.splat.io.instances import Instances
    from tracklift.splat.render import Camera, Gaussians

log = logging.getLogger(__name__)

MODEL_FILE = "point_cloud.ply"
SEGMENTED_FILE = "segmented.ply"
FLAT = "flat"  # `load_model`: the instances of `splat lift` (the other choices are hierarchy levels)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def load_model(
    model_dir: Path, instances: str | None = None
) -> tuple[Gaussians, list[Camera], list[bool], Instances | None]:
    """(Gaussians, cameras, holdout flags, Instances or None) of a model folder.

    instances: None = the trained Gaussians alone; FLAT = those `splat lift` segmented (its PLY) and their
    instances; "fine" / "coarse" = the Gaussians and instances of that `splat hierarchy` level.
    """
    from tracklift.splat.io.camera_file import CAMERAS_FILE, read_cameras
    from tracklift.splat.io.ply import read_gaussians_ply

    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: no such model folder")
    ply, inst = model_dir / MODEL_FILE, None
    if instances == FLAT:
        from tracklift.splat.io.instances import INFO_FILE, read_instances

        inst, info = read_instances(model_dir)
        ply = contained_path(model_dir, info.get("gaussians", MODEL_FILE), f"{model_dir / INFO_FILE}", "'gaussians'")
    elif instances is not None:
        from tracklift.splat.io.hierarchy_file import HIERARCHY_FILE, read_hierarchy

        fine, coarse, _, info = read_hierarchy(model_dir)
        inst = fine if instances == "fine" else coarse
        ply = contained_path(model_dir, info["gaussians"], f"{model_dir / HIERARCHY_FILE}", "'gaussians'")
    cameras, holdout = read_cameras(model_dir / CAMERAS_FILE)
    g = read_gaussians_ply(ply)
    if inst is not None and len(inst.instance) != g.n:
        raise ValueError(f"{ply}: has {g.n} Gaussians, its {instances} instances cover {len(inst.instance)}")
    return g, cameras, holdout, inst


def view_stem(name: str) -> str:
    """A view's name as a file stem: posed-image views ("images/0.png") take their image's stem ("0"); RGB-D
    frames keep their name ("0", TUM "1305031102.175304")."""
    path = Path(name)
    return path.stem if path.suffix.lower() in IMAGE_SUFFIXES else path.name


def read_view_masks(masks_dir: Path, cameras: list[Camera]) -> tuple[list[Camera], list[FrameMasks]]:
    """The masks of every camera that has a masks file: (cameras, FrameMasks); views without are skipped."""
    from tracklift.segment2d.precomputed import read_masks

    if not masks_dir.is_dir():
        raise FileNotFoundError(f"{masks_dir}: no such masks folder")
    used, masks = [], []
    for cam in cameras:
        # RGB-D frames are named like their masks ("0"); posed-image views by their image path.
        where = f"{masks_dir}: view {cam.name!r} (of cameras.json)"
        names = [
            n
            for n in (cam.name, view_stem(cam.name))
            if any(contained_path(masks_dir, f"{n}{e}", where, "masks file").is_file() for e in (".png", ".npz"))
        ]
        if not names:
            log.warning("view %s: no masks in %s, skipped", cam.name, masks_dir)
            continue
        used.append(cam)
        masks.append(read_masks(masks_dir, names[0], (cam.height, cam.width)))  # checks the size
    if len(used) < 2:
        raise ValueError(f"{masks_dir}: masks found for {len(used)} of {len(cameras)} views; lifting needs at least 2")
    return used, masks
