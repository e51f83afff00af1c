"""Predicted 3D boxes from `tracklift segment` outputs, in a GT box file's frame.

`OUT/<scene>.json` lists the instances (mask file, label, score); `OUT/<scene>_instances.npz` holds the
reference points they are masks over (`points` [P, 3] float32, metres, world frame). Memberships come from
the mask files, not the npz's `instance_of_point`, which gives a point shared by two instances to one only. An
instance's box is
the axis-aligned bounding box of its points *after* moving them into the GT's box frame with the GT's
`axis_align_matrix` (the JSON's own `box` is axis-aligned in the world frame, which is rotated from
ScanNet's box frame). A label that is not one of the GT's classes is mapped onto the detection classes
by `detection_class` (ScanNet200 names -> the 18 ScanNet classes); unmappable ones become None
(class-agnostic AP still counts them). Instances without points give no box.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tracklift.eval.box_gt import SceneBoxes
from tracklift.eval.boxes import Detection, evaluate_boxes
from tracklift.eval.detection_classes import SCANNET18, detection_class
from tracklift.eval.idfile import read_ids
from tracklift.io.npz import read_npz
from tracklift.io.paths import contained_path
from tracklift.io.textfile import read_json


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """points: [N, 3] -> [N, 3] float64, `matrix` ([4, 4] affine) applied."""
    points = np.asarray(points, np.float64)
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def points_box(points: np.ndarray) -> np.ndarray:
    """[N ≥ 1, 3] -> [6] float64 (cx, cy, cz, dx, dy, dz) of the axis-aligned bounding box."""
    lo, hi = points.min(0), points.max(0)
    return np.concatenate([(lo + hi) / 2, hi - lo])


def box_label(label: str | None, classes: tuple[str, ...]) -> str | None:
    """A predicted label as one of the GT's `classes`: itself when it is one, else its detection class."""
    return label if label in classes else detection_class(label)


def read_detections(
    out_dir: str | os.PathLike, scene: str, axis_align: np.ndarray | None = None, classes: tuple[str, ...] = SCANNET18
) -> list[Detection]:
    """One scene's predicted boxes in the frame `axis_align` ([4, 4], world -> box frame; None: world),
    labels mapped onto `classes` by `box_label`.

    Errors name the missing or inconsistent file.
    """
    out_dir = Path(out_dir)
    json_path = out_dir / f"{scene}.json"
    if not json_path.is_file():
        raise FileNotFoundError(f"no predictions for scene {scene!r}: {json_path} does not exist")
    document = read_json(json_path)
    npz_path = contained_path(
        out_dir, document.get("instances_npz", f"{scene}_instances.npz"), str(json_path), "'instances_npz'"
    )
    if not npz_path.is_file():
        raise FileNotFoundError(f"{json_path}: its instance points {npz_path} do not exist")
    points = read_npz(npz_path, ("points",))["points"]
    if points.ndim != 2 or points.shape[1] != 3 or points.dtype.kind not in "fiu":
        raise ValueError(f"{npz_path}: 'points' must be [P, 3] numbers, got {points.shape} {points.dtype}")
    points = points.astype(np.float64)
    if axis_align is not None:
        points = transform_points(points, axis_align)
    detections = []
    for k, inst in enumerate(document.get("instances", [])):
        mask_path = contained_path(out_dir, inst["mask_file"], f"{json_path} instance {k}", "'mask_file'")
        mask = read_ids(mask_path) != 0
        if len(mask) != len(points):
            raise ValueError(f"{mask_path}: {len(mask)} lines, but {npz_path} has {len(points)} points")
        if not mask.any():
            continue
        detections.append(
            Detection(points_box(points[mask]), box_label(inst.get("label"), classes), float(inst["score"]))
        )
    return detections


def evaluate_box_outputs(pred_dir: str, gts: dict[str, SceneBoxes], agnostic: bool = False) -> dict:
    """Box AP of the `tracklift segment` outputs in `pred_dir` for every scene of `gts` (scene -> SceneBoxes);
    a scene without outputs is an error naming the missing file. Class-wise AP evaluates the classes of
    the GT files (they must agree)."""
    class_lists = {g.classes for g in gts.values()}
    if len(class_lists) > 1:
        raise ValueError(f"GT box files list different classes: {sorted(class_lists)[:2]}")
    classes = next(iter(class_lists))
    preds = {scene: read_detections(pred_dir, scene, g.axis_align, classes) for scene, g in gts.items()}
    boxes = {scene: list(zip(g.labels, g.boxes)) for scene, g in gts.items()}
    return evaluate_boxes(preds, boxes, classes, agnostic=agnostic)
