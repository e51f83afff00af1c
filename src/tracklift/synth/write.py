"""Files of a synthetic scene shared by both realisms: images, matrices and the ScanNet annotations."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np

from tracklift.io.atomic import atomic_write_bytes, atomic_write_text
from tracklift.io.ply import write_ply
from tracklift.synth.config import SynthConfig
from tracklift.synth.mesh import SceneMesh
from tracklift.synth.primitives import PrimitiveScene
from tracklift.vocab import load_vocabulary

UNANNOTATED_LABEL_IDS = (load_vocabulary("scannet200").id_of("ceiling"),)
FRAME_FILES = (
    ("color", ".jpg"),
    ("depth", ".png"),
    ("pose", ".txt"),
    ("gt_2d/instance", ".png"),
    ("gt_2d/semantic", ".png"),
)


def png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of an RGB image [H, W, 3] uint8."""
    ok, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def matrix_text(m: np.ndarray) -> str:
    return "".join(" ".join(f"{x:.9f}" for x in row) + "\n" for row in m)


def write_intrinsics(out: Path, which: str, K: np.ndarray) -> None:
    """`intrinsic/intrinsic_<which>.txt`: the 4×4 ScanNet form of K [3, 3]."""
    K4 = np.eye(4)
    K4[:3, :3] = K
    atomic_write_text(out / "intrinsic" / f"intrinsic_{which}.txt", matrix_text(K4))


def write_frame(out: Path, i: int, color_jpg: bytes, depth: np.ndarray, pose: np.ndarray) -> None:
    """Frame i's colour (JPEG bytes), depth ([H, W] metres → uint16 mm PNG) and pose ([4, 4] c2w)."""
    atomic_write_bytes(out / "color" / f"{i}.jpg", color_jpg)
    atomic_write_bytes(out / "depth" / f"{i}.png", png(depth_mm(depth)))
    atomic_write_text(out / "pose" / f"{i}.txt", matrix_text(pose))


def depth_mm(depth: np.ndarray) -> np.ndarray:
    """[H, W] uint16 millimetres of depth [H, W] metres, as written."""
    return np.clip(np.round(depth * 1000.0), 0, 65535).astype(np.uint16)


def write_gt_2d(out: Path, i: int, instance: np.ndarray, semantic: np.ndarray) -> None:
    atomic_write_bytes(out / "gt_2d" / "instance" / f"{i}.png", png(instance.astype(np.uint16)))
    atomic_write_bytes(out / "gt_2d" / "semantic" / f"{i}.png", png(semantic.astype(np.uint16)))


def remove_stale_frames(out: Path, frames: int) -> None:
    """Delete frame files numbered >= `frames` left by an earlier, longer run into the same folder."""
    for sub, ext in FRAME_FILES:
        for path in (out / sub).glob(f"*{ext}"):
            if path.stem.isdigit() and int(path.stem) >= frames:
                path.unlink()


def write_annotations(out: Path, name: str, scene: PrimitiveScene, scene_mesh: SceneMesh, config: SynthConfig) -> None:
    """Mesh, superpoints, aggregation, per-vertex GT and scene.json. Object boxes are the analytic ones in
    exact mode and the extent of the object's annotated vertices in scan mode (as ScanNet's boxes are)."""
    write_ply(out / f"{name}_vh_clean_2.ply", scene_mesh.mesh)
    segs = {"sceneId": name, "segIndices": scene_mesh.segment.tolist()}
    atomic_write_text(out / f"{name}_vh_clean_2.0.010000.segs.json", json.dumps(segs))
    labels = scene.label_of_instance()
    groups = []
    for inst in sorted(labels):
        if labels[inst][1] in UNANNOTATED_LABEL_IDS:
            continue
        segments = np.unique(scene_mesh.segment[scene_mesh.instance == inst]).tolist()
        if not segments and config.realism == "scan":
            continue  # nothing of it made it into the reconstruction
        groups.append({"id": inst - 1, "objectId": inst - 1, "label": labels[inst][0], "segments": segments})
    atomic_write_text(out / f"{name}.aggregation.json", json.dumps({"sceneId": name, "segGroups": groups}))
    gt = 1000 * scene_mesh.label_id.astype(np.int64) + scene_mesh.instance
    # Ceilings are left unannotated (0), as in most ScanNet scans: segmenters prompted with object classes
    # never return them, and an evaluated-but-never-predicted class would only add noise to every method's AP.
    gt[np.isin(scene_mesh.label_id, UNANNOTATED_LABEL_IDS) | (scene_mesh.instance == 0)] = 0
    atomic_write_text(out / "gt" / f"{name}.txt", "".join(f"{g}\n" for g in gt))
    analytic = config.realism == "exact"
    objects = [
        {
            "instance": inst,
            "label": labels[inst][0],
            "label_id": labels[inst][1],
            "box": [round(float(x), 6) for x in _box_of(scene, scene_mesh, inst, analytic)],
            "observed_vertices": int((scene_mesh.instance == inst).sum()),
        }
        for inst in sorted(labels)
    ]
    settings = dataclasses.asdict(config)
    if analytic:  # exact-mode scene.json keeps the bytes it had before realism modes existed
        del settings["realism"], settings["scan"]
    meta = {"scene": name, "seed": config.seed, "config": settings, "objects": objects}
    atomic_write_text(out / "scene.json", json.dumps(meta, indent=1))


def _box_of(scene: PrimitiveScene, scene_mesh: SceneMesh, instance: int, analytic: bool) -> np.ndarray:
    """[6] (cx, cy, cz, dx, dy, dz): the object's analytic box (when `analytic`), else its mesh extent."""
    if analytic:
        for obj in scene.objects:
            if obj.instance == instance:
                return obj.box()
    pts = scene_mesh.mesh.vertices[scene_mesh.instance == instance].astype(np.float64)
    if len(pts) == 0:  # a room face or object no frame saw
        return np.zeros(6)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return np.concatenate([(lo + hi) / 2, hi - lo])
