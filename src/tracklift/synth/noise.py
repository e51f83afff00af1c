"""Structured-light depth sensor model (Kinect / Structure-sensor-like), seeded.

Applied to a clean z-depth map: depth-dependent Gaussian noise (sigma = a + b (z - 0.4)^2, the axial
noise model of Nguyen et al. 2012, plus a spatially correlated part), holes along depth
discontinuities (the projector/camera baseline shadows them), holes at grazing angles, random
dropout, and a working range [min_range, max_range] outside which the sensor returns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class DepthNoise:
    """Sensor parameters; metres unless stated."""

    sigma_base: float = 0.0012
    sigma_quad: float = 0.0019  # per (z - 0.4 m)^2
    correlated: float = 0.5  # share of the noise variance that is smooth over ~8 px
    edge_jump: float = 0.05  # relative depth jump to a 4-neighbour that marks a discontinuity
    edge_hole_prob: float = 0.7  # chance that a discontinuity pixel (dilated by 1 px) is lost
    grazing_cos: float = 0.2  # |cos incidence| below this (about 78°) returns nothing
    dropout: float = 0.003  # independent per-pixel loss
    min_range: float = 0.3
    max_range: float = 6.0


def apply_depth_noise(depth: np.ndarray, cos_incidence: np.ndarray, rng: np.random.Generator, params: DepthNoise = DepthNoise()) -> np.ndarray:
    """Noisy depth [H, W] float32 (0 = invalid) from clean `depth` [H, W] (metres) and `cos_incidence` [H, W]."""
    if depth.shape != cos_incidence.shape:
        raise ValueError(f"depth is {depth.shape} but cos_incidence is {cos_incidence.shape}")
    z = depth.astype(np.float64)
    h, w = z.shape
    sigma = params.sigma_base + params.sigma_quad * (z - 0.4) ** 2
    coarse = rng.standard_normal((max(h // 8, 1) + 1, max(w // 8, 1) + 1))
    smooth = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    white = rng.standard_normal((h, w))
    noisy = z + sigma * (np.sqrt(params.correlated) * smooth + np.sqrt(1 - params.correlated) * white)

    jump = np.zeros((h, w))
    dz_x = np.abs(np.diff(z, axis=1))
    dz_y = np.abs(np.diff(z, axis=0))
    jump[:, 1:] = np.maximum(jump[:, 1:], dz_x)
    jump[:, :-1] = np.maximum(jump[:, :-1], dz_x)
    jump[1:, :] = np.maximum(jump[1:, :], dz_y)
    jump[:-1, :] = np.maximum(jump[:-1, :], dz_y)
    edges = (jump > params.edge_jump * np.maximum(z, 1e-6)).astype(np.uint8)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8)).astype(bool)

    lost = (edges & (rng.random((h, w)) < params.edge_hole_prob)) | (cos_incidence < params.grazing_cos)
    lost |= rng.random((h, w)) < params.dropout
    lost |= (noisy < params.min_range) | (noisy > params.max_range) | (z <= 0)
    return np.where(lost, 0.0, noisy).astype(np.float32)
