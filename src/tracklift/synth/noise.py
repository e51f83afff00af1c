"""Structured-light depth sensor model (Kinect / Structure-sensor-like), seeded.

Applied to a clean z-depth map: depth-dependent Gaussian noise (sigma = a + b (z - 0.4)^2, the axial
noise model of Nguyen et al. 2012, plus a spatially correlated part), holes along depth
discontinuities (the projector/camera baseline shadows them), holes at grazing angles, random
dropout, and a working range [min_range, max_range] outside which the sensor returns nothing.

The `scan` realism (`SCAN_DEPTH`) adds what real frames show beyond that: flying pixels (a depth between
the foreground and the background) along discontinuities, blobs of missing depth, and dropouts on dark,
specular and thin surfaces. Those effects are off in the default `DepthNoise()` so exact-mode scenes
keep their bytes (no extra random numbers are drawn when an effect is off).
"""

from __future__ import annotations

import cv2
import numpy as np

from tracklift.core.config import config, option


@config
class DepthNoise:
    """Sensor parameters; metres unless stated. Every `scan`-only effect is off at 0."""

    sigma_base: float = option(0.0012, "noise σ at 0.4 m", low=0.0, high=1.0)
    sigma_quad: float = option(0.0019, "noise σ growth per (z − 0.4 m)²", low=0.0, high=1.0)
    correlated: float = option(0.5, "share of the noise variance that is smooth over ~8 px", low=0.0, high=1.0)
    edge_jump: float = option(
        0.05, "relative depth jump to a 4-neighbour that marks a discontinuity", low=0.0, high=10.0
    )
    edge_hole_prob: float = option(0.7, "chance a discontinuity pixel (dilated by 1 px) is lost", low=0.0, high=1.0)
    grazing_cos: float = option(0.2, "|cos incidence| below this returns nothing", low=0.0, high=1.0)
    dropout: float = option(0.003, "independent per-pixel loss", low=0.0, high=1.0)
    min_range: float = option(0.3, "nearest returned depth", low=0.0, high=100.0)
    max_range: float = option(6.0, "farthest returned depth", low=0.0, high=100.0)
    flying_prob: float = option(
        0.0, "chance a kept discontinuity pixel mixes foreground and background", low=0.0, high=1.0
    )
    blob_holes: float = option(0.0, "share of the image lost in smooth blobs (~16 px across)", low=0.0, high=1.0)
    dark_level: float = option(0.0, "luminance (0..1) below which returns weaken", low=0.0, high=1.0)
    dark_dropout: float = option(0.0, "loss probability at luminance 0, falling to 0 at dark_level", low=0.0, high=1.0)
    specular_cos: float = option(1.0, "|cos incidence| above this on a bright surface saturates", low=0.0, high=1.0)
    specular_dropout: float = option(0.0, "loss probability of a saturated pixel", low=0.0, high=1.0)
    thin_width: int = option(0, "foreground structures narrower than this are thin, pixels", low=0, high=256)
    thin_dropout: float = option(0.0, "loss probability on thin structures", low=0.0, high=1.0)


SCAN_DEPTH = DepthNoise(
    # plane residual real (ScanNet 0113 / 0448 / 7-Scenes) 0.67/0.76/0.77 mm at 0.5-1 m, 1.5/1.4/1.1 at 1-1.5 m,
    # 2.4/2.6/2.5 at 1.5-2 m, 3.9/4.1/4.6 at 2-3 m, 7.3/–/6.5 at 3-4 m, 11.5 at 4-5 m; scan 0.75 1.3 2.3 3.5 6.9 12.9
    sigma_base=0.0015,
    sigma_quad=0.0015,  # see sigma_base; fitted a + b z² of the residuals: real b 0.64/0.81/0.65, scan 0.64 mm/m²
    edge_hole_prob=0.5,  # holes: real 0.060/0.083 ScanNet, 0.108 7-Scenes; scan 0.102, exact 0.032 (all effects)
    flying_prob=0.08,  # flying share of edge px: real .024/.006/.016; scan .028, exact .038 (geometry-bound, weak)
    blob_holes=0.02,  # part of the hole share above
    dark_level=0.12,  # part of the hole share above
    dark_dropout=0.6,  # part of the hole share above
    specular_cos=0.985,  # part of the hole share above
    specular_dropout=0.3,  # part of the hole share above
    thin_width=5,  # part of the hole share above
    thin_dropout=0.4,  # part of the hole share above
    max_range=5.0,  # real: ScanNet depth reaches 3.4–4.5 m in these scans (BundleFusion fuses up to 4 m)
)
"""The structured-light sensor of the `scan` realism; `benchmarks/calibrate_realism.py` compares it with
real ScanNet and 7-Scenes frames (measured values beside `ScanRealism.depth` in `synth/config.py`)."""


def _neighbour_jump(z: np.ndarray) -> np.ndarray:
    """[H, W] largest |depth difference| to a 4-neighbour."""
    jump = np.zeros(z.shape)
    dz_x = np.abs(np.diff(z, axis=1))
    dz_y = np.abs(np.diff(z, axis=0))
    jump[:, 1:] = np.maximum(jump[:, 1:], dz_x)
    jump[:, :-1] = np.maximum(jump[:, :-1], dz_x)
    jump[1:, :] = np.maximum(jump[1:, :], dz_y)
    jump[:-1, :] = np.maximum(jump[:-1, :], dz_y)
    return jump


def _smooth_field(rng: np.random.Generator, h: int, w: int, cell: int = 8) -> np.ndarray:
    """[H, W] float64 unit-variance-ish noise, smooth over ~`cell` pixels (bilinear upsampling)."""
    coarse = rng.standard_normal((max(h // cell, 1) + 1, max(w // cell, 1) + 1))
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)


def thin_structures(depth: np.ndarray, width: int, jump: float) -> np.ndarray:
    """[H, W] bool: pixels of foreground structures narrower than `width` pixels (chair legs, cables, rims).

    A grey-level closing (max then min filter over `width`×`width`) fills depth valleys narrower than the
    window; where it raises the depth by more than `jump` × depth, the pixel belongs to such a structure.
    depth: [H, W] metres (0 = none, treated as far away so holes do not make their rims thin).
    """
    z = np.where(depth > 0, depth, np.float32(1e3)).astype(np.float32)
    kernel = np.ones((width, width), np.uint8)
    closed = cv2.erode(cv2.dilate(z, kernel), kernel)
    return (closed - z > jump * z) & (depth > 0)


def apply_depth_noise(
    depth: np.ndarray,
    cos_incidence: np.ndarray,
    rng: np.random.Generator,
    params: DepthNoise = DepthNoise(),
    luminance: np.ndarray | None = None,
) -> np.ndarray:
    """Noisy depth [H, W] float32 (0 = invalid) from clean `depth` [H, W] (metres) and `cos_incidence` [H, W].

    luminance: [H, W] float in [0, 1], the surface's brightness; needed only for dark/specular dropout.
    """
    if depth.shape != cos_incidence.shape:
        raise ValueError(f"depth is {depth.shape} but cos_incidence is {cos_incidence.shape}")
    needs_light = params.dark_dropout > 0 or params.specular_dropout > 0
    if needs_light and (luminance is None or luminance.shape != depth.shape):
        found = None if luminance is None else luminance.shape
        raise ValueError(f"dark/specular dropout needs luminance of shape {depth.shape}, got {found}")
    z = depth.astype(np.float64)
    h, w = z.shape
    sigma = params.sigma_base + params.sigma_quad * (z - 0.4) ** 2
    smooth = _smooth_field(rng, h, w)
    white = rng.standard_normal((h, w))
    noisy = z + sigma * (np.sqrt(params.correlated) * smooth + np.sqrt(1 - params.correlated) * white)

    edges = (_neighbour_jump(z) > params.edge_jump * np.maximum(z, 1e-6)).astype(np.uint8)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8)).astype(bool)

    lost = (edges & (rng.random((h, w)) < params.edge_hole_prob)) | (cos_incidence < params.grazing_cos)
    lost |= rng.random((h, w)) < params.dropout
    if params.flying_prob > 0:
        # The sensor's window straddles both surfaces: it returns a blend of the near and far depth.
        z32 = z.astype(np.float32)
        near = cv2.erode(z32, np.ones((3, 3), np.uint8)).astype(np.float64)
        far = cv2.dilate(z32, np.ones((3, 3), np.uint8)).astype(np.float64)
        mix = rng.uniform(0.15, 0.85, (h, w))
        flying = edges & ~lost & (rng.random((h, w)) < params.flying_prob)
        noisy = np.where(flying, mix * near + (1 - mix) * far + sigma * white, noisy)
    if params.blob_holes > 0:
        field = _smooth_field(rng, h, w, cell=16)
        lost |= field > np.quantile(field, 1 - params.blob_holes)
    if needs_light:
        p_dark = params.dark_dropout * np.clip(1 - luminance / max(params.dark_level, 1e-9), 0, 1)
        p_spec = np.where((cos_incidence > params.specular_cos) & (luminance > 0.5), params.specular_dropout, 0.0)
        lost |= rng.random((h, w)) < np.maximum(p_dark, p_spec)
    if params.thin_dropout > 0 and params.thin_width > 1:
        thin = thin_structures(depth, params.thin_width, params.edge_jump)
        lost |= thin & (rng.random((h, w)) < params.thin_dropout)
    lost |= (noisy < params.min_range) | (noisy > params.max_range) | (z <= 0)
    return np.where(lost, 0.0, noisy).astype(np.float32)
