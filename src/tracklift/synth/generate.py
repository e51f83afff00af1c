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
The scene name is the output folder's name. Same config, same bytes. `realism="scan"` writes the same
layout with a real scan's defects (see `tracklift.synth.scan`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tracklift.synth.config import SynthConfig
from tracklift.synth.layout import build_scene
from tracklift.synth.mesh import build_mesh, crop_mesh, observed_vertices
from tracklift.synth.noise import apply_depth_noise
from tracklift.synth.primitives import PrimitiveScene
from tracklift.synth.render import intrinsics, render
from tracklift.synth.scan import write_scan
from tracklift.synth.trajectory import camera_path
from tracklift.synth.write import (
    jpeg,
    remove_stale_frames,
    write_annotations,
    write_frame,
    write_gt_2d,
    write_intrinsics,
)


def render_frame(
    scene: PrimitiveScene, K: np.ndarray, pose: np.ndarray, config: SynthConfig, index: int
) -> dict[str, np.ndarray]:
    """Colour [H, W, 3] uint8, depth [H, W] float32 metres (0 invalid), instance and semantic [H, W] uint16."""
    out = render(scene, K, pose, config.width, config.height)
    rng = np.random.default_rng([config.seed, 3, index])
    depth = apply_depth_noise(out.depth, out.cos_incidence, rng) if config.depth_noise else out.depth
    color = out.color
    if config.color_noise > 0:
        color = np.clip(color + rng.normal(0, config.color_noise, color.shape), 0, 255).round().astype(np.uint8)
    return {
        "color": color,
        "depth": depth,
        "clean_depth": out.depth,
        "instance": out.instance.astype(np.uint16),
        "semantic": out.semantic.astype(np.uint16),
    }


def generate_scene(out_dir: str | os.PathLike, config: SynthConfig = SynthConfig(), progress: bool = True) -> Path:
    """Build, render and write one scene (see the module docstring for the layout); returns `out_dir`.

    Writing into an existing scene folder replaces it: frames beyond `config.frames` are removed.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    name = out.resolve().name
    scene = build_scene(config.seed, config.objects)
    if config.realism == "scan":
        write_scan(out, name, scene, config, progress)
        return out
    scene_mesh = build_mesh(scene, config.mesh_spacing, config.min_object_vertices)
    seen = np.zeros(len(scene_mesh.mesh.vertices), bool)
    K = intrinsics(config.width, config.height)
    for which in ("color", "depth"):
        write_intrinsics(out, which, K)
    poses = camera_path(scene, config.frames, config.seed, config.loops)
    remove_stale_frames(out, config.frames)
    for i, pose in enumerate(tqdm(poses, desc=f"synth {name}", unit="frame", disable=not progress)):
        frame = render_frame(scene, K, pose, config, i)
        write_frame(out, i, jpeg(frame["color"], 95), frame["depth"], pose)
        write_gt_2d(out, i, frame["instance"], frame["semantic"])
        seen |= observed_vertices(
            scene_mesh.mesh.vertices, scene_mesh.instance, K, pose, frame["clean_depth"], frame["instance"]
        )
    if config.observed_only:
        scene_mesh = crop_mesh(scene_mesh, seen)
    write_annotations(out, name, scene, scene_mesh, config)
    return out
