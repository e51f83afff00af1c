"""Settings of one synthetic scene: `SynthConfig`, and `ScanRealism` for the realistic-scan mode."""

from __future__ import annotations

from dataclasses import field

from tracklift.core.config import config, option
from tracklift.synth.noise import SCAN_DEPTH, DepthNoise

REALISMS = ("exact", "scan")


@config
class ScanRealism:
    """Effect magnitudes of `realism="scan"`: what separates a real scan from the exact synthetic room. Each
    default's measured real value (`benchmarks/calibrate_realism.py`) is in docs/tuning.md, synth."""

    drift_step_translation: float = option(0.001, "pose walk step σ per frame, metres", low=0.0, high=1.0)
    drift_step_rotation: float = option(0.03, "pose walk step σ per frame, degrees", low=0.0, high=10.0)
    drift_max_translation: float = option(0.02, "pose walk clamp, metres", low=0.0, high=10.0)
    drift_max_rotation: float = option(0.5, "pose walk clamp, degrees", low=0.0, high=90.0)
    jitter_translation: float = option(0.0007, "per-frame pose jitter σ (3σ clip), metres", low=0.0, high=1.0)
    jitter_rotation: float = option(0.015, "per-frame pose jitter σ (3σ clip), degrees", low=0.0, high=10.0)
    depth: DepthNoise = field(default_factory=lambda: SCAN_DEPTH)
    color_scale: tuple[float, float] = option(
        (1296 / 640, 968 / 480), "colour size / depth size (x, y)", low=1.0, high=8.0
    )
    color_render_scale: float = option(
        0.4, "colour is ray-cast at this share of its size, then upsampled", low=0.01, high=1.0
    )
    color_focal_error: float = option(0.001, "relative colour focal length error", low=0.0, high=0.5)
    color_center_error: float = option(2.0, "colour principal point error σ, colour pixels", low=0.0, high=100.0)
    color_offset_translation: float = option(
        0.003, "colour-to-depth camera offset per scene, metres", low=0.0, high=1.0
    )
    color_offset_rotation: float = option(
        0.15, "colour-to-depth camera rotation per scene, degrees", low=0.0, high=90.0
    )
    motion_blur: float = option(
        3.0, "median motion blur length along the image motion, colour pixels", low=0.0, high=100.0
    )
    exposure_sigma: float = option(0.08, "log-gain σ, AR(0.9) over frames", low=0.0, high=2.0)
    white_balance_sigma: float = option(0.03, "log-gain σ per channel", low=0.0, high=2.0)
    color_noise: float = option(2.0, "per-pixel colour noise σ, 8-bit levels", low=0.0, high=255.0)
    jpeg_quality: int = option(90, "colour JPEG quality", low=1, high=100)
    voxel: float = option(0.02, "TSDF voxel, metres", low=1e-3, high=1.0)
    truncation: float = option(0.05, "TSDF truncation band, metres", low=1e-3, high=10.0)
    fuse_max_depth: float = option(5.0, "depth fused into the reconstruction up to this, metres", low=0.1, high=100.0)
    transfer_tolerance: float = option(
        0.05, "farther reconstruction vertices vote for unannotated, metres", low=1e-6, high=10.0
    )
    segment_k: float = option(0.01, "ScanNet segmentator kThresh on the reconstruction", low=1e-9, high=1e6)
    segment_min_verts: int = option(20, "ScanNet segmentator minimum segment size, vertices", low=1)

    def __post_init__(self) -> None:
        if self.truncation < self.voxel:
            raise ValueError(f"ScanRealism: truncation {self.truncation} must be at least one voxel ({self.voxel})")


@config
class SynthConfig:
    """What `generate_scene` builds. The defaults give a ScanNet-like 640×480 sequence (details: docs/tuning.md)."""

    seed: int = option(0, "seed of every random choice (layout, trajectory, textures, sensor noise)", low=0)
    frames: int = option(60, "RGB-D frames along the camera loop", low=1, high=100_000)
    width: int = option(640, "image width, pixels", low=8, high=4096)
    height: int = option(480, "image height, pixels", low=8, high=4096)
    objects: int = option(20, "annotated objects (walls, floor, ceiling not counted)", low=5, high=40)
    depth_noise: bool = option(True, "simulate a structured-light depth sensor")
    color_noise: float = option(2.0, "per-pixel colour noise σ, 8-bit levels (0 = off)", low=0.0, high=255.0)
    loops: float = option(1.25, "camera loops round the room", low=0.01, high=100.0)
    mesh_spacing: float = option(0.08, "target mesh vertex spacing, metres", low=1e-3, high=10.0)
    min_object_vertices: int = option(250, "lower bound on each object's mesh vertices", low=1, high=10_000_000)
    observed_only: bool = option(True, "keep only mesh surfaces some frame saw, as a scan's reconstruction does")
    realism: str = option(
        "exact", "exact: analytic mesh, true poses, exact 2D GT; scan: a real scan's defects", choices=REALISMS
    )
    scan: ScanRealism = field(default_factory=ScanRealism)
