"""Procedural albedo: solid, stripes, checker and value noise, evaluated in part-local coordinates.

The renderer (shaded) and the mesh (vertex colours) both call `albedo`, so colours agree between them.
"""

from __future__ import annotations

import numpy as np

from tracklift.synth.primitives import Material

PATTERNS = ("solid", "stripes", "checker", "noise")


def _lattice_hash(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic pseudo-random values in [0, 1) for integer lattice points."""
    h = (ix * 73856093) ^ (iy * 19349663) ^ (iz * 83492791) ^ ((seed % 2**31) * 2654435761)
    h = (h ^ (h >> 13)) * 1274126177
    return ((h ^ (h >> 16)) & 0xFFFF).astype(np.float64) / 65536.0


def value_noise(points: np.ndarray, seed: int) -> np.ndarray:
    """Trilinearly interpolated lattice noise in [0, 1): points [N, 3] float64 in lattice units -> [N]."""
    base = np.floor(points)
    frac = points - base
    frac = frac * frac * (3 - 2 * frac)  # smoothstep: no visible lattice creases
    i = base.astype(np.int64)
    out = np.zeros(len(points))
    for dx in (0, 1):
        wx = frac[:, 0] if dx else 1 - frac[:, 0]
        for dy in (0, 1):
            wy = frac[:, 1] if dy else 1 - frac[:, 1]
            for dz in (0, 1):
                wz = frac[:, 2] if dz else 1 - frac[:, 2]
                out += wx * wy * wz * _lattice_hash(i[:, 0] + dx, i[:, 1] + dy, i[:, 2] + dz, seed)
    return out


def albedo(material: Material, local: np.ndarray) -> np.ndarray:
    """Albedo [N, 3] float64 in [0, 1] at part-local points `local` [N, 3] float64 (metres)."""
    q = local / material.scale
    if material.pattern == "solid":
        mix = np.zeros(len(local))
    elif material.pattern == "stripes":
        mix = (np.floor(q[:, 0] + 0.35 * q[:, 2]) % 2).astype(np.float64)
    elif material.pattern == "checker":
        mix = (np.floor(q).astype(np.int64).sum(axis=1) % 2).astype(np.float64)
    elif material.pattern == "noise":
        mix = value_noise(q, material.seed)
    else:
        raise ValueError(f"unknown texture pattern {material.pattern!r}; expected one of {PATTERNS}")
    mix = mix[:, None]
    return (1 - mix) * material.color_a + mix * material.color_b


def to_local(points: np.ndarray, center: np.ndarray, yaw: float) -> np.ndarray:
    """World points [N, 3] -> coordinates [N, 3] in a frame at `center` rotated by `yaw` about z."""
    p = points - center
    c, s = np.cos(yaw), np.sin(yaw)
    return np.stack([c * p[:, 0] + s * p[:, 1], -s * p[:, 0] + c * p[:, 1], p[:, 2]], 1)
