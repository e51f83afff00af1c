"""Ground-truth 3D boxes of a scene: the JSON file `tracklift eval --boxes` reads, and its converter from
mmdetection3d's ScanNet infos pickles.

Format (one scene per file; extra keys are ignored):

    {"scene": "scene0113_00",
     "axis_align_matrix": [[4×4]],          # optional, default identity
     "classes": ["cabinet", "bed", …],      # optional, default the 18 ScanNet detection classes
     "boxes": [{"label": "chair", "box": [cx, cy, cz, dx, dy, dz]}, …]}

Boxes are axis-aligned in the *box frame*, metres: `p_box = axis_align_matrix @ p_world` for a point in
the scene's world frame (the frame of its camera poses; for ScanNet, of the posed_images poses and the
mesh). ScanNet's GT boxes are axis-aligned in mmdetection3d's aligned frame, which is rotated about z from
the world frame, so a box cannot be stored in the world frame without losing that it is axis-aligned;
the file therefore keeps the boxes as they are and carries the matrix, and the evaluator moves the
*predicted points* into the box frame before taking their bounding box. `classes` lists what class-wise AP
evaluates; every box's label must be one of them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracklift.eval.detection_classes import SCANNET18
from tracklift.io.atomic import atomic_write_text


@dataclass(frozen=True)
class SceneBoxes:
    """scene: name; classes: evaluated class names; axis_align: [4, 4] float64, world -> box frame;
    labels: [N] class names; boxes: [N, 6] float64 (cx, cy, cz, dx, dy, dz), metres, box frame."""

    scene: str
    classes: tuple[str, ...]
    axis_align: np.ndarray
    labels: tuple[str, ...]
    boxes: np.ndarray

    def to_json(self) -> dict:
        return {
            "scene": self.scene,
            "axis_align_matrix": self.axis_align.tolist(),
            "classes": list(self.classes),
            "boxes": [{"label": lab, "box": box.tolist()} for lab, box in zip(self.labels, self.boxes)],
        }


def check_axis_align(matrix: object, where: str) -> np.ndarray:
    """[4, 4] float64 rigid-or-affine transform with last row 0 0 0 1; ValueError naming `where` otherwise."""
    try:
        m = np.asarray(matrix, np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: axis_align_matrix must be a 4×4 matrix of numbers") from None
    if m.shape != (4, 4) or not np.isfinite(m).all() or not np.allclose(m[3], [0, 0, 0, 1]):
        raise ValueError(f"{where}: axis_align_matrix must be a finite 4×4 matrix with last row 0 0 0 1")
    return m


def parse_scene_boxes(document: object, where: str) -> SceneBoxes:
    """A GT box document (see the module docstring) as SceneBoxes; errors name `where` and the entry."""
    if not isinstance(document, dict) or not isinstance(document.get("scene"), str) or not document["scene"]:
        raise ValueError(f'{where}: expected an object with a non-empty "scene" name')
    classes = document.get("classes", list(SCANNET18))
    if (
        not isinstance(classes, list)
        or not all(isinstance(c, str) for c in classes)
        or len(set(classes)) != len(classes)
    ):
        raise ValueError(f'{where}: "classes" must be a list of distinct names')
    entries = document.get("boxes")
    if not isinstance(entries, list):
        raise ValueError(f'{where}: "boxes" must be a list')
    labels, boxes = [], []
    for k, entry in enumerate(entries):
        label = entry.get("label") if isinstance(entry, dict) else None
        box = entry.get("box") if isinstance(entry, dict) else None
        if label not in classes:
            raise ValueError(f'{where}: box {k} has label {label!r}, not one of "classes"')
        try:
            values = np.asarray(box, np.float64)
        except (TypeError, ValueError):
            values = np.zeros(0)
        if values.shape != (6,) or not np.isfinite(values).all() or (values[3:] < 0).any():
            raise ValueError(f"{where}: box {k} must be 6 finite numbers cx cy cz dx dy dz with sizes ≥ 0, got {box!r}")
        labels.append(label)
        boxes.append(values)
    axis_align = check_axis_align(document.get("axis_align_matrix", np.eye(4).tolist()), where)
    return SceneBoxes(
        document["scene"], tuple(classes), axis_align, tuple(labels), np.stack(boxes) if boxes else np.zeros((0, 6))
    )


def read_scene_boxes(path: str | os.PathLike) -> SceneBoxes:
    from tracklift.io.textfile import read_json

    return parse_scene_boxes(read_json(Path(path)), str(path))


def read_box_gt(path: str | os.PathLike) -> dict[str, SceneBoxes]:
    """scene -> SceneBoxes from one GT box JSON file or a folder of them (`*.json`)."""
    path = Path(path)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.glob("*.json") if p.is_file())
        if not files:
            raise FileNotFoundError(f"GT box folder {path} has no .json files")
    else:
        raise FileNotFoundError(f"GT boxes {path} do not exist")
    out: dict[str, SceneBoxes] = {}
    for f in files:
        gt = read_scene_boxes(f)
        if gt.scene in out:
            raise ValueError(f"{f}: scene {gt.scene!r} is already given by another file")
        out[gt.scene] = gt
    return out


def write_scene_boxes(path: str | os.PathLike, gt: SceneBoxes) -> None:
    atomic_write_text(path, json.dumps(gt.to_json(), indent=1) + "\n")


def _scene_of(info: dict) -> str | None:
    lidar = info.get("lidar_points") if isinstance(info, dict) else None
    path = lidar.get("lidar_path") if isinstance(lidar, dict) else None
    return Path(path).stem if isinstance(path, str) else None


def boxes_from_infos(infos_paths: list[str | os.PathLike], scene: str) -> SceneBoxes:
    """The GT boxes of `scene` from mmdetection3d ScanNet infos pickles (info version 1.1), searched in order.

    Each info: `lidar_points.lidar_path` = `<scene>.bin`, `axis_align_matrix` [4, 4], `instances` with
    `bbox_3d` [cx, cy, cz, dx, dy, dz] (aligned frame) and `bbox_label_3d` (index into
    `metainfo.categories`). Pickles are read with the restricted unpickler.
    """
    from tracklift.io.safe_pickle import load_pickle

    for path in infos_paths:
        data = load_pickle(path)
        if not isinstance(data, dict) or not isinstance(data.get("data_list"), list):
            raise ValueError(f'{path}: not an mmdetection3d infos file (expected a dict with "data_list")')
        categories = data.get("metainfo", {}).get("categories")
        if not isinstance(categories, dict):
            raise ValueError(f"{path}: metainfo.categories is missing")
        names = {int(i): str(n) for n, i in categories.items()}
        classes = tuple(names[i] for i in sorted(names))
        for info in data["data_list"]:
            if _scene_of(info) != scene:
                continue
            where = f"{path} ({scene})"
            axis_align = check_axis_align(info.get("axis_align_matrix", np.eye(4).tolist()), where)
            labels, boxes = [], []
            for k, inst in enumerate(info.get("instances", [])):
                label = inst.get("bbox_label_3d")
                if label not in names:
                    raise ValueError(f"{where}: instance {k} has label {label!r}, not in metainfo.categories")
                box = np.asarray(inst.get("bbox_3d"), np.float64)
                if box.shape != (6,):
                    raise ValueError(f"{where}: instance {k} bbox_3d must have 6 numbers, got {inst.get('bbox_3d')!r}")
                labels.append(names[label])
                boxes.append(box)
            return SceneBoxes(scene, classes, axis_align, tuple(labels), np.stack(boxes) if boxes else np.zeros((0, 6)))
    raise ValueError(f"scene {scene!r} is in none of {', '.join(map(str, infos_paths))}")
