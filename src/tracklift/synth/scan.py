"""The `scan` realism: a synthetic room written the way a real RGB-D scan and its annotation come out.

From the same seeded room and camera path as exact mode:

* frames are rendered from the true poses, but the poses written carry drift and jitter (`drift`);
* depth goes through the structured-light model with flying pixels and dropouts (`noise.SCAN_DEPTH`);
* colour comes from its own camera (resolution, intrinsics, extrinsic offset), soft, motion-blurred,
  exposure/white-balance varying, JPEG-compressed (`scan_color`);
* the mesh is reconstructed: the written depth TSDF-fused with the written poses and the colour as a reader
  registers it, then marching cubes (`tsdf`);
* per-vertex GT is transferred onto that mesh's superpoints from the exact surfaces (`annotate`);
* 2D GT is the annotated reconstruction rasterized with the written poses (`rasterize`), as ScanNet's is.

Layout as in `generate`, except `intrinsic_color.txt` (colour camera, `color/` at its resolution) differs
from `intrinsic_depth.txt`, and `scene.json` boxes are the extents of the annotated reconstruction.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from tracklift.synth.annotate import annotate_reconstruction
from tracklift.synth.config import SynthConfig
from tracklift.synth.drift import drifted_poses
from tracklift.synth.mesh import SceneMesh, build_mesh
from tracklift.synth.noise import apply_depth_noise
from tracklift.synth.primitives import PrimitiveScene
from tracklift.synth.rasterize import rasterize_ids
from tracklift.synth.render import intrinsics, render
from tracklift.synth.scan_color import color_camera, degrade_color, exposure_gains, image_motion
from tracklift.synth.trajectory import camera_path
from tracklift.synth.tsdf import extract_mesh, integrate, make_volume
from tracklift.synth.write import (
    depth_mm,
    jpeg,
    remove_stale_frames,
    write_annotations,
    write_frame,
    write_gt_2d,
    write_intrinsics,
)

MOTION_BLUR_SPREAD = 0.5  # log-σ of the per-frame blur length around `ScanRealism.motion_blur`


def write_scan(out: Path, name: str, scene: PrimitiveScene, config: SynthConfig, progress: bool) -> None:
    """Render, reconstruct, annotate and write `scene` into `out` (the scan realism of `generate_scene`)."""
    realism = config.scan
    w, h = config.width, config.height
    K = intrinsics(w, h)
    camera = color_camera(K, w, h, realism, config.seed)
    write_intrinsics(out, "depth", K)
    write_intrinsics(out, "color", camera.K)
    true_poses = camera_path(scene, config.frames, config.seed, config.loops)
    poses = drifted_poses(true_poses, config.seed, realism)
    gains = exposure_gains(config.frames, config.seed, realism)
    volume = make_volume(scene.room.lo, scene.room.hi, realism.voxel, realism.truncation)
    remove_stale_frames(out, config.frames)
    last = config.frames - 1
    for i, pose in enumerate(tqdm(true_poses, desc=f"synth scan {name}", unit="frame", disable=not progress)):
        rng = np.random.default_rng([config.seed, 8, i])
        view = render(scene, K, pose, w, h)
        luminance = view.color.astype(np.float32).mean(axis=2) / 255
        depth = apply_depth_noise(view.depth, view.cos_incidence, rng, realism.depth, luminance)
        rendered = render(scene, camera.render_K, pose @ camera.offset, *camera.render_size).color
        direction = image_motion(camera.K, pose, true_poses[max(i - 1, 0)], true_poses[min(i + 1, last)])
        blur = realism.motion_blur * np.exp(MOTION_BLUR_SPREAD * rng.standard_normal())
        color = jpeg(
            degrade_color(rendered, camera, blur, direction, gains[i], rng, realism.color_noise), realism.jpeg_quality
        )
        write_frame(out, i, color, depth, poses[i])
        # Fuse what a reader sees: millimetre depth, colour decoded and resized onto the depth image.
        seen = cv2.imdecode(np.frombuffer(color, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
        seen = cv2.resize(seen, (w, h), interpolation=cv2.INTER_AREA)
        integrate(volume, depth_mm(depth).astype(np.float32) / 1000, seen, K, poses[i], realism.fuse_max_depth)
    mesh = extract_mesh(volume)
    del volume  # a 6×6×3 m room at 2 cm is ~15 M voxels, ~350 MB: free it before annotating
    exact = build_mesh(scene, realism.voxel, config.min_object_vertices)
    segment, instance = annotate_reconstruction(
        mesh.vertices,
        mesh.faces,
        exact.mesh.vertices,
        exact.instance,
        realism.transfer_tolerance,
        realism.segment_k,
        realism.segment_min_verts,
    )
    label_of = np.zeros(max(scene.label_of_instance()) + 1, np.int64)
    for inst, (_, label_id) in scene.label_of_instance().items():
        label_of[inst] = label_id
    for i, pose in enumerate(poses):
        ids, _ = rasterize_ids(mesh.vertices, mesh.faces, instance, K, pose, w, h)
        write_gt_2d(out, i, ids, label_of[ids])
    recon = SceneMesh(mesh, instance.astype(np.int32), label_of[instance].astype(np.int32), segment.astype(np.int32))
    write_annotations(out, name, scene, recon, config)
