"""Triangle meshes and point clouds in PLY (binary little-endian on write; any PLY on read)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tracklift.io.atomic import atomic_open

_FACE_LISTS = ("vertex_indices", "vertex_index")  # the names meshes give the face element's index list


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
        ply = _read_triangles_fast(path)
        if ply is None:
            ply = PlyData.read(str(path))
    except Exception as err:  # plyfile raises many types for truncated or malformed files
        raise ValueError(f"{path}: not a readable PLY file ({err})") from err
    if "vertex" not in ply:
        raise ValueError(f"{path}: PLY has no 'vertex' element")
    return ply


def _read_triangles_fast(path: Path):
    """The binary PLY at `path` parsed as numpy records, when every face lists exactly 3 vertex indices (a
    reconstruction's triangle mesh), else None (then plyfile parses face by face, ~5 µs a face). Arrays are copied
    out of the memory map, so the file is not held open."""
    from plyfile import PlyData, PlyElementParseError

    try:
        ply = PlyData.read(str(path), mmap="c", known_list_len={"face": {name: 3 for name in _FACE_LISTS}})
    except PlyElementParseError as err:
        if "unexpected list length" in str(err):  # a polygon mesh: the general path reads it
            return None
        raise
    for element in ply.elements:
        element.data = np.array(element.data)  # detach from the memory map
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
        lists = face_data[key]
        try:
            if lists.ndim == 2:  # read by the fast path: already [F, 3]
                faces = lists.astype(np.int64)
            else:
                faces = np.stack([np.asarray(f[:3]) for f in lists]).astype(np.int64)
        except (TypeError, ValueError) as err:  # corner lists of different lengths, or not index lists
            raise ValueError(f"{path}: face element is not a list of triangles ({err})") from None
        if faces.ndim != 2 or faces.shape[1] != 3:
            raise ValueError(f"{path}: face element is not a list of triangles (found shape {faces.shape})")
    try:
        return Mesh(vertices, faces, colors, extra)
    except ValueError as err:  # faces indexing missing vertices, per-vertex data of the wrong length
        raise ValueError(f"{path}: {err}") from None


def write_ply(path: str | os.PathLike, mesh: Mesh) -> None:
    """Write `mesh` as binary little-endian PLY, atomically: plyfile's header, then each element's records as
    one block of bytes (plyfile writes a list property face by face, ~4 µs a face; the bytes are the same)."""
    from plyfile import PlyData

    vert, faces = _ply_records(mesh)
    elements = _ply_elements(vert, faces)
    with atomic_open(path, "wb") as f:
        f.write(PlyData(elements, text=False, byte_order="<").header.encode("ascii") + b"\n")
        f.write(vert.tobytes())
        if faces is not None:
            records = np.empty(len(faces), np.dtype([("n", "u1"), ("v", "<i4", (3,))]))
            records["n"], records["v"] = 3, faces["vertex_indices"]
            f.write(records.tobytes())


def _ply_records(mesh: Mesh) -> tuple[np.ndarray, np.ndarray | None]:
    """The vertex records ([V] little-endian structured: x, y, z, colours, vertex_data) and the face records
    ([F] with a (3,) int32 `vertex_indices`, or None without faces) of `mesh`."""
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if mesh.colors is not None:
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    fields += [(name, np.asarray(values).dtype.newbyteorder("<").str) for name, values in mesh.vertex_data.items()]
    vert = np.empty(len(mesh.vertices), dtype=fields)
    vert["x"], vert["y"], vert["z"] = mesh.vertices.T
    if mesh.colors is not None:
        vert["red"], vert["green"], vert["blue"] = mesh.colors.T
    for name, values in mesh.vertex_data.items():
        vert[name] = values
    if not len(mesh.faces):
        return vert, None
    faces = np.empty(len(mesh.faces), dtype=[("vertex_indices", "<i4", (3,))])
    faces["vertex_indices"] = mesh.faces.astype(np.int32)
    return vert, faces


def _ply_elements(vert: np.ndarray, faces: np.ndarray | None) -> list:
    """plyfile elements of `_ply_records` (a face's index list: uchar count, int32 indices)."""
    from plyfile import PlyElement

    elements = [PlyElement.describe(vert, "vertex")]
    if faces is not None:
        elements.append(PlyElement.describe(faces, "face"))
    return elements
