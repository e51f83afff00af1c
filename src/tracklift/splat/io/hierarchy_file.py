"""A two-level (coarse/fine) segmentation of a splat model, saved in its folder by `tracklift splat hierarchy`.

* `instances_fine.npy` / `instances_fine.json` and `instances_coarse.npy` / `instances_coarse.json`: each
  level in the `instances` format (`tracklift.splat.io.instances`, stem `instances_<level>`): [N] int32
  instance id per Gaussian of the PLY named in the json (-1 = none), and an entry per instance.
* `hierarchy.json`: `{"gaussians": "point_cloud.ply", "fine": I_fine, "coarse": I_coarse, "parent":
  [I_fine ids], ...}`; `parent[f]` is the coarse instance holding most of fine instance f's Gaussians
  (-1 = none); extra keys say what produced it (views, mode, correction).

`hierarchy.json` is written last and removed first, so a run that stops half-way leaves no
`hierarchy.json` pointing at level files of another run; reading checks the three files agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tracklift.io.atomic import atomic_write_text
from tracklift.splat.io.instances import Instances, read_instances, write_instances

HIERARCHY_FILE = "hierarchy.json"
LEVELS = ("fine", "coarse")


def level_stem(level: str) -> str:
    """File stem of a level's instances: `instances_fine` or `instances_coarse`."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    return f"instances_{level}"


def write_hierarchy(
    model_dir: str | Path, fine: Instances, coarse: Instances, parent: np.ndarray, gaussians_file: str, **extra
) -> None:
    """Write both levels and the parent map [I_fine] int (coarse id or -1) into `model_dir`, each file
    atomically, `hierarchy.json` last."""
    model_dir = Path(model_dir)
    parent = np.asarray(parent, np.int64)
    _check(fine, coarse, parent, "write_hierarchy")
    (model_dir / HIERARCHY_FILE).unlink(missing_ok=True)
    for level, inst in zip(LEVELS, (fine, coarse)):
        write_instances(model_dir, inst, gaussians_file, stem=level_stem(level), level=level)
    info = {"gaussians": gaussians_file, **extra, "fine": fine.count, "coarse": coarse.count, "parent": parent.tolist()}
    atomic_write_text(model_dir / HIERARCHY_FILE, json.dumps(info, indent=2) + "\n")


def read_hierarchy(model_dir: str | Path) -> tuple[Instances, Instances, np.ndarray, dict]:
    """(fine, coarse, parent [I_fine] int64, the hierarchy.json dict) of a model folder; errors name the
    file and what disagrees."""
    model_dir = Path(model_dir)
    path = model_dir / HIERARCHY_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; run `tracklift splat hierarchy {model_dir} --masks ...` first")
    try:
        info = json.loads(path.read_text())
        parent = np.asarray(info["parent"], np.int64)
        gaussians = info["gaussians"]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: not a hierarchy file ({err})") from err
    levels = []
    for level in LEVELS:
        for suffix in (".npy", ".json"):
            if not (model_dir / f"{level_stem(level)}{suffix}").is_file():
                raise FileNotFoundError(f"{model_dir / level_stem(level)}{suffix}: missing, {path} needs it")
        inst, level_info = read_instances(model_dir, stem=level_stem(level))
        if level_info.get("gaussians") != gaussians:
            raise ValueError(
                f"{model_dir / level_stem(level)}.json: is of {level_info.get('gaussians')!r}, {path} of {gaussians!r}"
            )
        if inst.count != info.get(level):
            raise ValueError(
                f"{path}: says {info.get(level)} {level} instances, {level_stem(level)}.json has {inst.count}"
            )
        levels.append(inst)
    _check(levels[0], levels[1], parent, str(path))
    return levels[0], levels[1], parent, info


def _check(fine: Instances, coarse: Instances, parent: np.ndarray, where: str) -> None:
    if fine.instance.shape != coarse.instance.shape:
        raise ValueError(f"{where}: fine ids cover {len(fine.instance)} Gaussians, coarse ids {len(coarse.instance)}")
    if parent.shape != (fine.count,):
        raise ValueError(f"{where}: parent must have one entry per fine instance ({fine.count}), got {parent.shape}")
    if parent.size and (parent.min() < -1 or parent.max() >= coarse.count):
        raise ValueError(f"{where}: parent ids must be in -1..{coarse.count - 1}, got {parent.min()}..{parent.max()}")
