"""Settings of one synthetic scene."""

from __future__ import annotations

from dataclasses import dataclass


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

    def __post_init__(self) -> None:
        if not 5 <= self.objects <= 40:
            raise ValueError(f"objects must be in 5..40, got {self.objects}")
        if self.frames < 1:
            raise ValueError(f"frames must be >= 1, got {self.frames}")
        if self.width < 8 or self.height < 8:
            raise ValueError(f"image size must be at least 8×8, got {self.width}×{self.height}")
        if self.mesh_spacing <= 0 or self.loops <= 0 or self.color_noise < 0:
            raise ValueError("mesh_spacing and loops must be positive and color_noise non-negative")
