"""Settings of one synthetic scene: `SynthConfig`, and `ScanRealism` for the realistic-scan mode."""

from __future__ import annotations

from dataclasses import dataclass, field

from tracklift.synth.noise import SCAN_DEPTH, DepthNoise

REALISMS = ("exact", "scan")


@dataclass(frozen=True)
class ScanRealism:
    """Effect magnitudes of `realism="scan"`: what separates a real scan from the exact synthetic room.

    Real values beside each field come from `benchmarks/calibrate_realism.py` on ScanNet scene0113_00 and
    scene0448_01 (posed_images, 300 frames each) and 7-Scenes redkitchen (see BENCHMARKS.md).

    Poses (what is written; frames are rendered from the true ones): a bounded random walk (drift) plus
    independent per-frame jitter. Rotations are about the camera centre.
    Depth: `depth`, the structured-light model of `synth/noise.py`.
    Colour: rendered at `color_scale` × the depth size with its own intrinsics and a small extrinsic
    offset from the depth camera, motion blur along the image motion, exposure / white-balance drift, JPEG.
    Reconstruction: TSDF fusion of the written depth with the written poses, marching cubes.
    Annotation: ScanNet superpoints of the reconstruction, each given the majority instance of its
    vertices' nearest exact surface points within `transfer_tolerance`.
    """

    drift_step_translation: float = 0.001  # m, walk step σ per frame (~1 cm / 100 frames); real: not measurable without true poses
    drift_step_rotation: float = 0.03  # degrees per frame (~0.3° / 100 frames); real: not measurable, as above
    drift_max_translation: float = 0.02  # m, walk clamp (BundleFusion's global optimisation bounds drift)
    drift_max_rotation: float = 0.5  # degrees, walk clamp
    jitter_translation: float = 0.0007  # m σ (3σ clip); real: reprojection bias std 1.2/1.1 mm ScanNet, 0.5 7-Scenes; scan 2.6, exact 0.3
    jitter_rotation: float = 0.015  # degrees σ (3σ clip); real: measured together with jitter_translation
    depth: DepthNoise = field(default_factory=lambda: SCAN_DEPTH)  # real values beside SCAN_DEPTH in synth/noise.py
    color_scale: tuple[float, float] = (1296 / 640, 968 / 480)  # real: ScanNet colour 1296×968, depth 640×480
    color_render_scale: float = 0.4  # ray-cast at this share of the colour size, upsampled: soft like ScanNet's colour
    color_focal_error: float = 0.001  # relative; real: ScanNet colour fx 1170.19 vs resized depth 1169.6 (5e-4)
    color_center_error: float = 2.0  # colour px σ; real: edge offset median 3.6/2.0 px, ≤1 px share .23/.38; scan 2.0, .36
    color_offset_translation: float = 0.003  # m, fixed per scene; real: in the edge offsets beside color_center_error
    color_offset_rotation: float = 0.15  # degrees, fixed per scene; real: as above (exact mode: 1.0 px, .76)
    motion_blur: float = 3.0  # colour px, median length along the image motion; real: not measured (looked at)
    exposure_sigma: float = 0.08  # log-gain σ, AR(0.9) over frames; real: not measured
    white_balance_sigma: float = 0.03  # log-gain σ per channel; real: not measured
    color_noise: float = 2.0  # 8-bit levels σ per pixel; real: not measured (JPEG hides it)
    jpeg_quality: int = 90  # real: ScanNet's .sens colour is JPEG; quality not measured
    voxel: float = 0.02  # m, TSDF voxel; real: vh_clean_2 is a decimated ~1 cm reconstruction
    truncation: float = 0.05  # m, TSDF truncation band
    fuse_max_depth: float = 5.0  # m; BundleFusion fuses to 4 m, but ScanNet operators walk close to everything
    # and our loop sees some objects only from 4-5 m: at 4 m seed 0 loses its monitor, pictures and plant from the GT
    transfer_tolerance: float = 0.05  # m, farther reconstruction vertices vote for "unannotated"
    segment_k: float = 0.01  # ScanNet segmentator kThresh on the reconstruction
    segment_min_verts: int = 20

    def __post_init__(self) -> None:
        positive = ("voxel", "truncation", "fuse_max_depth", "transfer_tolerance", "color_render_scale")
        bad = [n for n in positive if not getattr(self, n) > 0]
        bad += [n for n in ("drift_step_translation", "drift_step_rotation", "drift_max_translation",
                            "drift_max_rotation", "jitter_translation", "jitter_rotation", "color_focal_error",
                            "color_center_error", "color_offset_translation", "color_offset_rotation", "motion_blur",
                            "exposure_sigma", "white_balance_sigma", "color_noise") if getattr(self, n) < 0]
        if bad:
            raise ValueError(f"ScanRealism: {', '.join(bad)} out of range (sizes positive, magnitudes >= 0)")
        if min(self.color_scale) < 1 or self.color_render_scale > 1:
            raise ValueError(f"ScanRealism: color_scale must be >= 1 and color_render_scale <= 1, got "
                             f"{self.color_scale}, {self.color_render_scale}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"ScanRealism: jpeg_quality must be in 1..100, got {self.jpeg_quality}")
        if self.truncation < self.voxel:
            raise ValueError(f"ScanRealism: truncation {self.truncation} must be at least one voxel ({self.voxel})")


@dataclass(frozen=True)
class SynthConfig:
    """What `generate_scene` builds. The defaults give a ScanNet-like 640×480 sequence.

    seed:        every random choice (layout, trajectory, textures, sensor noise) derives from it.
    frames:      number of RGB-D frames along the camera loop.
    width, height: image size in pixels (colour and depth share it).
    objects:     annotated objects in the room (5–40), walls/floor/ceiling not counted.
    depth_noise: simulate a structured-light depth sensor (noise, holes, dropout, range limit).
    color_noise: per-pixel Gaussian colour noise (std in 8-bit levels); 0 turns it off.
    loops:       how many times the camera goes round the room; > 1 revisits the first views.
    mesh_spacing: target vertex spacing of the mesh in metres; objects are refined further until
                 they have `min_object_vertices`.
    min_object_vertices: lower bound on each object's mesh vertices (evaluation ignores < 100).
    observed_only: keep only the mesh surfaces some frame saw, as a scan's reconstruction does (hidden
                 backs, undersides and never-visited objects are not in a ScanNet mesh either).
    realism:     "exact" (analytic mesh, true poses, exact 2D GT) or "scan" (a real scan's defects:
                 drifting poses, sensor-like depth and colour, a reconstructed and re-annotated mesh,
                 2D GT rendered from it); `scan` sets its magnitudes and replaces `depth_noise`,
                 `color_noise`, `width`/`height` of colour, `mesh_spacing` and `observed_only`.
    """

    seed: int = 0
    frames: int = 60
    width: int = 640
    height: int = 480
    objects: int = 20
    depth_noise: bool = True
    color_noise: float = 2.0
    loops: float = 1.25
    mesh_spacing: float = 0.08
    min_object_vertices: int = 250
    observed_only: bool = True
    realism: str = "exact"
    scan: ScanRealism = field(default_factory=ScanRealism)

    def __post_init__(self) -> None:
        if not 5 <= self.objects <= 40:
            raise ValueError(f"objects must be in 5..40, got {self.objects}")
        if self.frames < 1:
            raise ValueError(f"frames must be >= 1, got {self.frames}")
        if self.width < 8 or self.height < 8:
            raise ValueError(f"image size must be at least 8×8, got {self.width}×{self.height}")
        if self.mesh_spacing <= 0 or self.loops <= 0 or self.color_noise < 0:
            raise ValueError("mesh_spacing and loops must be positive and color_noise non-negative")
        if self.realism not in REALISMS:
            raise ValueError(f"realism must be one of {'|'.join(REALISMS)}, got {self.realism!r}")
