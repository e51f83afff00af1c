"""Read a segmented scene back as `Instance3D`s: `<out>/<scene>.json` plus `<out>/<scene>_instances.npz`.

The .npz holds `points` [P, 3] float32 (metres, world) and `instance_of_point` [P] int32 (index into the
JSON's instances, -1 = none; see `tracklift.io.instances_out`). An instance that owns no point there
(fully overlapped by a higher-scored one) keeps the two corners of its JSON box, so its box survives.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracklift.core.instance import Instance3D


@dataclass
class SceneInstances:
    name: str
    instances: list[Instance3D]
    scene_dir: Path | None  # the RGB-D scene folder the predictions were made from, if recorded


def scene_names(out_dir: str | os.PathLike) -> list[str]:
    """Scenes in an output folder: every `<scene>.json` with a `<scene>_instances.npz` beside it."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"{out_dir}: no such output folder")
    return sorted(p.stem for p in out_dir.glob("*.json") if (out_dir / f"{p.stem}_instances.npz").exists())


def load_instances(out_dir: str | os.PathLike, scene: str | None = None) -> SceneInstances:
    """Instances of `scene` (or of the only scene in `out_dir`)."""
    out_dir = Path(out_dir)
    names = scene_names(out_dir)
    if scene is None:
        if len(names) != 1:
            found = ", ".join(names) if names else "none"
            raise ValueError(
                f"{out_dir}: expected one scene (<scene>.json + <scene>_instances.npz), found {found}; pass a scene name"
            )
        scene = names[0]
    elif scene not in names:
        raise FileNotFoundError(f"{out_dir}: no {scene}.json with {scene}_instances.npz (scenes: {', '.join(names) or 'none'})")
    json_path, npz_path = out_dir / f"{scene}.json", out_dir / f"{scene}_instances.npz"
    try:
        document = json.loads(json_path.read_text())
        entries = document["instances"]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{json_path}: not a predictions JSON with an 'instances' list ({err})") from err
    with np.load(npz_path) as npz:
        if "points" not in npz or "instance_of_point" not in npz:
            raise ValueError(f"{npz_path}: needs arrays 'points' and 'instance_of_point', has {sorted(npz.files)}")
        points, owner = np.asarray(npz["points"], np.float32), np.asarray(npz["instance_of_point"], np.int64)
    if points.ndim != 2 or points.shape[1] != 3 or owner.shape != (len(points),):
        raise ValueError(f"{npz_path}: points must be [P, 3] and instance_of_point [P], got {points.shape} and {owner.shape}")
    if owner.size and owner.max() >= len(entries):
        raise ValueError(
            f"{npz_path}: instance_of_point refers to instance {owner.max()} but {json_path.name} has {len(entries)}"
        )
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(len(entries) + 1))
    instances = []
    for k, entry in enumerate(entries):
        pts = points[order[bounds[k] : bounds[k + 1]]]
        if len(pts) == 0 and entry.get("box") is not None:
            box = np.asarray(entry["box"], np.float32)
            pts = np.stack([box[:3] - box[3:] / 2, box[:3] + box[3:] / 2])
        label = entry.get("label")
        instances.append(
            Instance3D(
                id=int(entry.get("track_id", k)),
                points=pts,
                label_votes={str(a): float(b) for a, b in (entry.get("label_votes") or {}).items()},
                score=float(entry.get("score", 1.0)),
                label=label,
                label_score=float(entry.get("label_score", 1.0 if label else 0.0)),
            )
        )
    scene_dir = document.get("scene_dir")
    return SceneInstances(scene, instances, Path(scene_dir) if scene_dir else None)
