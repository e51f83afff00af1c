"""What `tracklift view` opens: a `tracklift segment` output folder or a Gaussian model folder, checked.

A segment output is `<scene>.json` + `<scene>_instances.npz` (+ `<scene>_instances.ply` for mesh faces,
+ `<scene>_history.npz` for the frame slider and the cameras); a Gaussian model folder has
`point_cloud.ply` + `cameras.json` (+ `instances.npy/.json` after `tracklift splat lift`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracklift.core.instance import Instance3D
from tracklift.io.npz import read_instances_npz
from tracklift.io.textfile import read_json
from tracklift.outputs.history import History, read_history
from tracklift.outputs.scene_files import load_instances, scene_names

log = logging.getLogger(__name__)


@dataclass
class SegmentedOutput:
    """A segmented scene as the viewer shows it.

    points: [P, 3] float32 metres, world (mesh vertices or fused points); owner: [P] int64 instance index,
    -1 = none; faces: [F, 3] int64 mesh faces or None; entries: the JSON's instance records (label, score,
    box, ...) in instance order; instances: the same as `Instance3D`s (for queries); history: the run's
    growth history, None for outputs of older versions.
    """

    name: str
    out_dir: Path
    points: np.ndarray
    owner: np.ndarray
    faces: np.ndarray | None
    entries: list[dict]
    instances: list[Instance3D]
    history: History | None
    scene_dir: Path | None


def output_kind(path: str | os.PathLike) -> str:
    """'segment' or 'gaussians', or a FileNotFoundError saying what the folder lacks."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such folder")
    if (path / "point_cloud.ply").is_file() and (path / "cameras.json").is_file():
        return "gaussians"
    if scene_names(path):
        return "segment"
    stale = sorted(p.name for p in path.glob("*.json") if p.with_suffix(".txt").is_file())
    if stale:
        raise FileNotFoundError(
            f"{path}: {stale[0]} has no {Path(stale[0]).stem}_instances.npz beside it (an output "
            "of an older tracklift?); run `tracklift segment` again"
        )
    raise FileNotFoundError(
        f"{path}: neither a `tracklift segment` output (<scene>.json + <scene>_instances.npz) "
        "nor a Gaussian model (point_cloud.ply + cameras.json)"
    )


def load_segmented(out_dir: str | os.PathLike, scene: str | None = None) -> SegmentedOutput:
    """Read and check a segment output (see the module docstring)."""
    out_dir = Path(out_dir)
    loaded = load_instances(out_dir, scene)  # checks the JSON and the .npz against each other
    name = loaded.name
    document = read_json(out_dir / f"{name}.json")
    points, owner = read_instances_npz(out_dir / f"{name}_instances.npz")
    points, owner = np.asarray(points, np.float32), np.asarray(owner, np.int64)
    faces = None
    ply = out_dir / f"{name}_instances.ply"
    if document.get("reference") == "mesh" and ply.is_file():
        from tracklift.io.ply import read_ply

        mesh = read_ply(ply)
        if len(mesh.vertices) != len(points):
            raise ValueError(f"{ply}: has {len(mesh.vertices)} vertices, {name}_instances.npz has {len(points)} points")
        faces = mesh.faces if len(mesh.faces) else None
    history_path = out_dir / f"{name}_history.npz"
    history = None
    if history_path.is_file():
        history = read_history(history_path, len(points))
    else:
        log.warning(
            "%s: missing (an output of an older tracklift?): no frame slider and no cameras; run "
            "`tracklift segment` again to record them",
            history_path,
        )
    return SegmentedOutput(
        name, out_dir, points, owner, faces, list(document["instances"]), loaded.instances, history, loaded.scene_dir
    )
