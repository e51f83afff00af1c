"""Triangle meshes and point clouds in PLY (binary little-endian on write; any PLY on read)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tracklift.io.atomic import atomic_open


@dataclass
class Mesh:
    """A triangle mesh or (faces empty) a point cloud.

    vertices: [V, 3] float32, metres, world frame.
    faces:    [F, 3] int64 vertex indices (may be [0, 3]).
    colors:   [V, 3] uint8 RGB, or None.
    vertex_data: extra per-vertex arrays, each [V] (e.g. "instance": int32 ids), written as PLY properties.
    """

    vertices: np.ndarray
    faces: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    colors: np.ndarray | None = None
    vertex_data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.vertices = np.asarray(self.vertices, np.float32)
        self.faces = np.asarray(self.faces, np.int64).reshape(-1, 3)
        v = len(self.vertices)
        if self.vertices.ndim != 2 or self.vertices.shape[1] != 3:
            raise ValueError(f"vertices must be [V, 3], got {self.vertices.shape}")
        if self.colors is not None and self.colors.shape != (v, 3):
            raise ValueError(f"colors must be [{v}, 3], got {self.colors.shape}")
        for name, values in self.vertex_data.items():
            if len(values) != v:
                raise ValueError(f"vertex_data[{name!r}] has {len(values)} values for {v} vertices")
        if len(self.faces) and (self.faces.min() < 0 or self.faces.max() >= v):
            raise ValueError(f"faces index vertices outside [0, {v})")


def open_ply(path: str | os.PathLike, what: str = "PLY file"):
    """The parsed PLY (plyfile.PlyData) at `path`, checked to have a vertex element.

    Raises FileNotFoundError, or ValueError naming the file when it is unreadable or has no vertices.
    """
    from plyfile import PlyData

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {what}")
    try:
        ply = PlyData.read(str(path))
    except Exception as err:  # plyfile raises many types for truncated or malformed files
        raise ValueError(f"{path}: not a readable PLY file ({err})") from err
    if "vertex" not in ply:
        raise ValueError(f"{path}: PLY has no 'vertex' element")
    return ply


def read_ply(path: str | os.PathLike) -> Mesh:
    """Read vertices (x, y, z), optional colours (red, green, blue), faces and any other vertex properties."""
    path = Path(path)
    ply = open_ply(path)
    vert = ply["vertex"].data
    names = vert.dtype.names
    missing = [p for p in ("x", "y", "z") if p not in names]
    if missing:
        raise ValueError(f"{path}: vertex element lacks properties {missing}")
    if len(vert) == 0:
        raise ValueError(f"{path}: mesh has no vertices")
    vertices = np.stack([vert["x"], vert["y"], vert["z"]], axis=1).astype(np.float32)
    if not np.isfinite(vertices).all():
        bad = int(np.argmax(~np.isfinite(vertices).all(axis=1)))
        raise ValueError(f"{path}: vertex {bad} has NaN or inf coordinates {vertices[bad].tolist()}")
    colors = None
    if all(c in names for c in ("red", "green", "blue")):
        colors = np.stack([vert["red"], vert["green"], vert["blue"]], axis=1).astype(np.uint8)
    extra = {n: np.asarray(vert[n]) for n in names if n not in ("x", "y", "z", "red", "green", "blue", "alpha")}
    faces = np.zeros((0, 3), np.int64)
    if "face" in ply and len(ply["face"].data):
        face_data = ply["face"].data
        key = "vertex_indices" if "vertex_indices" in face_data.dtype.names else face_data.dtype.names[0]
        try:
            faces = np.stack([np.asarray(f[:3]) for f in face_data[key]]).astype(np.int64)
        except (TypeError, ValueError) as err:  # corner lists of different lengths, or not index lists
            raise ValueError(f"{path}: face element is not a list of triangles ({err})") from None
        if faces.ndim != 2 or faces.shape[1] != 3:
            raise ValueError(f"{path}: face element is not a list of triangles (found shape {faces.shape})")
    try:
        return Mesh(vertices, faces, colors, extra)
    except ValueError as err:  # faces indexing missing vertices, per-vertex data of the wrong length
        raise ValueError(f"{path}: {err}") from None


def write_ply(path: str | os.PathLike, mesh: Mesh) -> None:
    """Write `mesh` as binary PLY, atomically."""
    from plyfile import PlyData, PlyElement

    fields = [("x", "f4"), ("y", "f4"), ("z", "f4")]
    if mesh.colors is not None:
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    fields += [(name, np.asarray(values).dtype.str) for name, values in mesh.vertex_data.items()]
    vert = np.empty(len(mesh.vertices), dtype=fields)
    vert["x"], vert["y"], vert["z"] = mesh.vertices.T
    if mesh.colors is not None:
        vert["red"], vert["green"], vert["blue"] = mesh.colors.T
    for name, values in mesh.vertex_data.items():
        vert[name] = values
    elements = [PlyElement.describe(vert, "vertex")]
    if len(mesh.faces):
        face = np.empty(len(mesh.faces), dtype=[("vertex_indices", "i4", (3,))])
        face["vertex_indices"] = mesh.faces.astype(np.int32)
        elements.append(PlyElement.describe(face, "face"))
    with atomic_open(path, "wb") as f:
        PlyData(elements, text=False).write(f)
