"""Gaussians in the INRIA 3DGS PLY format (what SuperSplat, the SIBR viewer and gsplat's exporter read).

One `vertex` element with float32 properties, in this order:
`x y z nx ny nz f_dc_0..2 f_rest_0..3(K-1)-1 opacity scale_0..2 rot_0..3`, where f_rest is channel-major
(all red coefficients of bands >= 1, then green, then blue), opacity is the logit, scales are logs and
rot is a wxyz quaternion. The normals are written as zeros and ignored on read.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from tracklift.io.atomic import atomic_open
from tracklift.io.ply import open_ply
from tracklift.splat.render.gaussians import Gaussians, sh_degree_of


def _property_names(k: int) -> list[str]:
    return (
        ["x", "y", "z", "nx", "ny", "nz"]
        + [f"f_dc_{i}" for i in range(3)]
        + [f"f_rest_{i}" for i in range(3 * (k - 1))]
        + ["opacity"]
        + [f"scale_{i}" for i in range(3)]
        + [f"rot_{i}" for i in range(4)]
    )


def write_gaussians_ply(path: str | os.PathLike, g: Gaussians) -> None:
    """Write `g` as a binary little-endian INRIA 3DGS PLY (atomically)."""
    from plyfile import PlyData, PlyElement

    k = g.sh.shape[1]
    g = g.detach().to(torch.float32)
    sh = g.sh.numpy()
    columns = [
        g.means.numpy(),
        np.zeros((g.n, 3), np.float32),
        sh[:, 0, :],
        sh[:, 1:, :].transpose(0, 2, 1).reshape(g.n, 3 * (k - 1)),  # channel-major
        g.opacity_logits.numpy()[:, None],
        g.log_scales.numpy(),
        g.quats.numpy(),
    ]
    table = np.concatenate(columns, axis=1).astype(np.float32)
    names = _property_names(k)
    data = np.empty(g.n, dtype=[(name, "f4") for name in names])
    for i, name in enumerate(names):
        data[name] = table[:, i]
    with atomic_open(path, "wb") as f:
        PlyData([PlyElement.describe(data, "vertex")], text=False).write(f)


def read_gaussians_ply(path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> Gaussians:
    """Read an INRIA 3DGS PLY; the SH degree follows from the number of f_rest properties.

    Raises FileNotFoundError, or ValueError naming the file and the missing/invalid property.
    """
    path = Path(path)
    vert = open_ply(path, "Gaussian PLY file")["vertex"].data
    names = set(vert.dtype.names)
    n_rest = sum(1 for name in names if name.startswith("f_rest_"))
    if n_rest % 3:
        raise ValueError(f"{path}: {n_rest} f_rest_* properties is not a multiple of 3")
    try:
        k = 1 + n_rest // 3
        sh_degree_of(k)
    except ValueError as err:
        raise ValueError(f"{path}: {n_rest} f_rest_* properties do not match an SH degree <= 3") from err
    needed = [name for name in _property_names(k) if name not in ("nx", "ny", "nz")]
    missing = [name for name in needed if name not in names]
    if missing:
        raise ValueError(f"{path}: missing 3DGS vertex properties {', '.join(missing)}")
    columns = {}
    for name in needed:
        values = np.asarray(vert[name], np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"{path}: property {name!r} has NaN or inf values")
        columns[name] = values

    def stack(*keys: str) -> torch.Tensor:
        return torch.as_tensor(np.stack([columns[key] for key in keys], axis=1), dtype=dtype).reshape(len(vert), -1)

    n = len(vert)
    rest = torch.zeros(n, 0, 3, dtype=dtype)
    if n_rest:
        rest = stack(*(f"f_rest_{i}" for i in range(n_rest))).reshape(n, 3, k - 1).transpose(1, 2)
    return Gaussians(
        means=stack("x", "y", "z"),
        log_scales=stack("scale_0", "scale_1", "scale_2"),
        quats=stack("rot_0", "rot_1", "rot_2", "rot_3"),
        opacity_logits=stack("opacity")[:, 0],
        sh=torch.cat([stack("f_dc_0", "f_dc_1", "f_dc_2")[:, None, :], rest], dim=1).contiguous(),
    )
