"""Box-derived proxy 2D masks for real scans whose only ground truth is 3D boxes (ScanNet via mmdetection3d).

Real scans here come without 2D instance masks. A frame's *box mask* labels each pixel whose depth point
lies inside a GT box: depth is back-projected to the world, moved into the boxes' frame with the scene's
`axis_align_matrix`, and tested against every box, whose bottom face is raised by `floor_margin` so that
floor points under furniture are not labelled; a point inside several boxes goes to the smallest. These are
*proxies*: a box also holds whatever else stands inside it (a bag on a chair, the wall behind a cabinet),
and parts of an object outside its box are lost. The instance image then goes through the synthetic
corruption (`tracklift.synth.corrupt.corrupt_frame`, which works on any instance-id image): `exact` is its
`oracle` preset (ids shuffled per frame, nothing else changed), `mild` and `hard` its noisier presets.
Masks are written in the precomputed format (`<frame>.png` uint16 ids + `<frame>.json`, the label a
ScanNet200 name of the box's class) with a `PROXY_MASKS.json` note saying what they are.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tracklift.eval.box_gt import SceneBoxes
from tracklift.eval.box_pred import transform_points
from tracklift.eval.detection_classes import SCANNET200_NAME
from tracklift.io.atomic import atomic_write_text
from tracklift.lift.projection import pixels_to_world

FLOOR_MARGIN = 0.02  # metres: the bottom face of every box is raised by this much
# mask preset -> corruption preset of tracklift.synth.corrupt
PRESETS = {"exact": "oracle", "mild": "mild", "hard": "hard"}
NOTE = "PROXY_MASKS.json"


def label_points(points: np.ndarray, boxes: np.ndarray, floor_margin: float = FLOOR_MARGIN) -> np.ndarray:
    """points: [N, 3] float64, metres, box frame; boxes: [B, 6] (cx, cy, cz, dx, dy, dz), box frame.

    Returns [N] int32: 1 + the index of the smallest box holding the point (bottom raised by floor_margin,
    faces inclusive), 0 for none. Equal volumes: the lower index wins.
    """
    out = np.zeros(len(points), np.int32)
    lo = boxes[:, :3] - boxes[:, 3:] / 2
    hi = boxes[:, :3] + boxes[:, 3:] / 2
    lo[:, 2] += floor_margin
    volume = np.prod(boxes[:, 3:], axis=1)
    # largest first so that smaller boxes overwrite; among equal volumes the lower index writes last
    for b in np.lexsort((-np.arange(len(boxes)), -volume)):
        inside = np.all((points >= lo[b]) & (points <= hi[b]), axis=1)
        out[inside] = b + 1
    return out


def label_points_reference(points: np.ndarray, boxes: np.ndarray, floor_margin: float = FLOOR_MARGIN) -> np.ndarray:
    """Plain per-point version of `label_points` (the tests compare the two)."""
    out = np.zeros(len(points), np.int32)
    for i, p in enumerate(np.asarray(points, np.float64).tolist()):
        best, best_volume = 0, np.inf
        for b, (cx, cy, cz, dx, dy, dz) in enumerate(np.asarray(boxes, np.float64).tolist()):
            inside = (
                cx - dx / 2 <= p[0] <= cx + dx / 2
                and cy - dy / 2 <= p[1] <= cy + dy / 2
                and cz - dz / 2 + floor_margin <= p[2] <= cz + dz / 2
            )
            if inside and dx * dy * dz < best_volume:
                best, best_volume = b + 1, dx * dy * dz
        out[i] = best
    return out


def box_instance_image(frame, gt: SceneBoxes, floor_margin: float = FLOOR_MARGIN) -> np.ndarray:
    """[H, W] int32 box instance image of one frame (1 + GT box index, 0 = none or no depth).

    frame: a `tracklift.data.frame.Frame` (depth [H, W] metres, K, pose c2w in the scene's world frame).
    """
    v, u = np.nonzero(frame.depth > 0)
    points = transform_points(pixels_to_world(u, v, frame.depth[v, u], frame.K, frame.pose), gt.axis_align)
    image = np.zeros(frame.depth.shape, np.int32)
    image[v, u] = label_points(points, gt.boxes, floor_margin)
    return image


def write_box_masks(scene, gt: SceneBoxes, out_dirs: dict[str, Path], seed: int = 0, progress: bool = True) -> dict:
    """Write the box masks of every frame of `scene.stream` under each preset: out_dirs maps a preset of
    PRESETS to its folder. Returns statistics: frames, masks per preset, mean labelled pixel share."""
    from tracklift.segment2d.precomputed import write_masks
    from tracklift.synth.corrupt import PRESETS as CORRUPTIONS
    from tracklift.synth.corrupt import corrupt_frame

    unknown = set(out_dirs) - set(PRESETS)
    if unknown:
        raise ValueError(f"unknown box-mask preset(s) {sorted(unknown)}; known: {', '.join(PRESETS)}")
    labels = {k + 1: SCANNET200_NAME[lab] for k, lab in enumerate(gt.labels)}
    masks_written = {p: 0 for p in out_dirs}
    labelled = []
    frames = 0
    for frame in tqdm(scene.stream, desc=f"box masks {scene.name}", unit="frame", disable=not progress):
        image = box_instance_image(frame, gt)
        labelled.append(float(np.mean(image > 0)))
        for preset, folder in out_dirs.items():
            # one generator per (preset, frame): any subset of frames or presets gives the same masks
            rng = np.random.default_rng([seed, list(PRESETS).index(preset), frame.index])
            masks = corrupt_frame(image, labels, CORRUPTIONS[PRESETS[preset]], rng)
            write_masks(folder, frame.name, masks, format="png")
            masks_written[preset] += len(masks)
        frames += 1
    stats = {
        "frames": frames,
        "masks": masks_written,
        "labelled_pixel_share": float(np.mean(labelled)) if labelled else 0.0,
    }
    for preset, folder in out_dirs.items():
        note = {
            "kind": "box-derived proxy masks (not real 2D instance masks)",
            "scene": gt.scene,
            "preset": preset,
            "corruption": PRESETS[preset],
            "floor_margin_m": FLOOR_MARGIN,
            "seed": seed,
            "frames": frames,
            "masks": masks_written[preset],
        }
        atomic_write_text(Path(folder) / NOTE, json.dumps(note, indent=1) + "\n")
    return stats
