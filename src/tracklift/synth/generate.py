"""Generate a synthetic scene on disk in the ScanNet SensReader export layout, with exact ground truth.

```
<out>/color/<i>.jpg            RGB, JPEG quality 95
<out>/depth/<i>.png            uint16 millimetres, 0 = invalid
<out>/pose/<i>.txt             4×4 camera-to-world
<out>/intrinsic/intrinsic_color.txt, intrinsic_depth.txt   4×4 (identical: colour = depth resolution)
<out>/<scene>_vh_clean_2.ply   mesh with vertex colours (only surfaces some frame saw, like a scan's)
<out>/<scene>_vh_clean_2.0.010000.segs.json   {"sceneId", "segIndices"} (one segment per part)
<out>/<scene>.aggregation.json {"sceneId", "segGroups": [{"id", "objectId", "label", "segments"}]}
<out>/gt/<scene>.txt           per vertex 1000·label_id + instance (ceiling unannotated: 0)
<out>/gt_2d/instance/<i>.png   uint16 instance number per pixel (same numbering), 0 none
<out>/gt_2d/semantic/<i>.png   uint16 label id per pixel
<out>/scene.json               seed, config, objects (instance, label, label_id, box, observed_vertices)
```
The scene name is the output folder's name. Same config, same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from tracklift.io.atomic import atomic_write_bytes, atomic_write_text
from tracklift.io.ply import write_ply
from tracklift.synth.config import SynthConfig
from tracklift.synth.layout import build_scene
from tracklift.synth.mesh import SceneMesh, build_mesh, crop_mesh, observed_vertices
from tracklift.synth.noise import apply_depth_noise
from tracklift.synth.primitives import Scene
from tracklift.synth.render import intrinsics, render
from tracklift.synth.trajectory import camera_path
from tracklift.vocab import load_vocabulary

UNANNOTATED_LABEL_IDS = (load_vocabulary("scannet200").id_of("ceiling"),)


def _png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def _matrix_text(m: np.ndarray) -> str:
    return "".join(" ".join(f"{x:.9f}" for x in row) + "\n" for row in m)


def _write_annotations(out: Path, name: str, scene: Scene, scene_mesh: SceneMesh, config: SynthConfig) -> None:
    write_ply(out / f"{name}_vh_clean_2.ply", scene_mesh.mesh)
    segs = {"sceneId": name, "segIndices": scene_mesh.segment.tolist()}
    atomic_write_text(out / f"{name}_vh_clean_2.0.010000.segs.json", json.dumps(segs))
    labels = scene.label_of_instance()
    groups = []
    for inst in sorted(labels):
        if labels[inst][1] in UNANNOTATED_LABEL_IDS:
            continue
        segments = np.unique(scene_mesh.segment[scene_mesh.instance == inst]).tolist()
        groups.append({"id": inst - 1, "objectId": inst - 1, "label": labels[inst][0], "segments": segments})
    atomic_write_text(out / f"{name}.aggregation.json", json.dumps({"sceneId": name, "segGroups": groups}))
    gt = 1000 * scene_mesh.label_id.astype(np.int64) + scene_mesh.instance
    # Ceilings are left unannotated (0), as in most ScanNet scans: segmenters prompted with object classes
    # never return them, and an evaluated-but-never-predicted class would only add noise to every method's AP.
    gt[np.isin(scene_mesh.label_id, UNANNOTATED_LABEL_IDS)] = 0
    atomic_write_text(out / "gt" / f"{name}.txt", "".join(f"{g}\n" for g in gt))
    objects = [
        {"instance": inst, "label": labels[inst][0], "label_id": labels[inst][1],
         "box": [round(float(x), 6) for x in _box_of(scene, scene_mesh, inst)],
         "observed_vertices": int((scene_mesh.instance == inst).sum())}
        for inst in sorted(labels)
    ]
    meta = {"scene": name, "seed": config.seed, "config": dataclasses.asdict(config), "objects": objects}
    atomic_write_text(out / "scene.json", json.dumps(meta, indent=1))


def _box_of(scene: Scene, scene_mesh: SceneMesh, instance: int) -> np.ndarray:
    """[6] (cx, cy, cz, dx, dy, dz): the object's analytic box, or the room face's mesh extent."""
    for obj in scene.objects:
        if obj.instance == instance:
            return obj.box()
    pts = scene_mesh.mesh.vertices[scene_mesh.instance == instance].astype(np.float64)
    if len(pts) == 0:  # a room face no frame saw
        return np.zeros(6)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return np.concatenate([(lo + hi) / 2, hi - lo])


def render_frame(scene: Scene, K: np.ndarray, pose: np.ndarray, config: SynthConfig, index: int) -> dict[str, np.ndarray]:
    """Colour [H, W, 3] uint8, depth [H, W] float32 metres (0 invalid), instance and semantic [H, W] uint16."""
    out = render(scene, K, pose, config.width, config.height)
    rng = np.random.default_rng([config.seed, 3, index])
    depth = apply_depth_noise(out.depth, out.cos_incidence, rng) if config.depth_noise else out.depth
    color = out.color
    if config.color_noise > 0:
        color = np.clip(color + rng.normal(0, config.color_noise, color.shape), 0, 255).round().astype(np.uint8)
    return {"color": color, "depth": depth, "clean_depth": out.depth, "instance": out.instance.astype(np.uint16),
            "semantic": out.semantic.astype(np.uint16)}


_FRAME_FILES = (("color", ".jpg"), ("depth", ".png"), ("pose", ".txt"), ("gt_2d/instance", ".png"), ("gt_2d/semantic", ".png"))


def _remove_stale_frames(out: Path, frames: int) -> None:
    """Delete frame files numbered >= `frames` left by an earlier, longer run into the same folder."""
    for sub, ext in _FRAME_FILES:
        for path in (out / sub).glob(f"*{ext}"):
            if path.stem.isdigit() and int(path.stem) >= frames:
                path.unlink()


def generate_scene(out_dir: str | os.PathLike, config: SynthConfig = SynthConfig(), progress: bool = True) -> Path:
    """Build, render and write one scene (see the module docstring for the layout); returns `out_dir`.

    Writing into an existing scene folder replaces it: frames beyond `config.frames` are removed.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    name = out.resolve().name
    scene = build_scene(config.seed, config.objects)
    scene_mesh = build_mesh(scene, config.mesh_spacing, config.min_object_vertices)
    seen = np.zeros(len(scene_mesh.mesh.vertices), bool)
    K = intrinsics(config.width, config.height)
    K4 = np.eye(4)
    K4[:3, :3] = K
    for which in ("color", "depth"):
        atomic_write_text(out / "intrinsic" / f"intrinsic_{which}.txt", _matrix_text(K4))
    poses = camera_path(scene, config.frames, config.seed, config.loops)
    _remove_stale_frames(out, config.frames)
    for i, pose in enumerate(tqdm(poses, desc=f"synth {name}", unit="frame", disable=not progress)):
        frame = render_frame(scene, K, pose, config, i)
        ok, jpg = cv2.imencode(".jpg", frame["color"][:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        atomic_write_bytes(out / "color" / f"{i}.jpg", jpg.tobytes())
        depth_mm = np.clip(np.round(frame["depth"] * 1000.0), 0, 65535).astype(np.uint16)
        atomic_write_bytes(out / "depth" / f"{i}.png", _png(depth_mm))
        atomic_write_text(out / "pose" / f"{i}.txt", _matrix_text(pose))
        atomic_write_bytes(out / "gt_2d" / "instance" / f"{i}.png", _png(frame["instance"]))
        atomic_write_bytes(out / "gt_2d" / "semantic" / f"{i}.png", _png(frame["semantic"]))
        seen |= observed_vertices(scene_mesh.mesh.vertices, scene_mesh.instance, K, pose, frame["clean_depth"],
                                  frame["instance"])
    if config.observed_only:
        scene_mesh = crop_mesh(scene_mesh, seen)
    _write_annotations(out, name, scene, scene_mesh, config)
    return out
