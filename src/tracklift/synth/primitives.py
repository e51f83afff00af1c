"""The geometry a synthetic room is made of: parts (box, vertical cylinder, sphere), objects, the room shell.

Every part is analytic, so the renderer and the mesh share one exact surface. Boxes rotate about the
world z axis (`yaw`); cylinders stand upright (axis = world z); spheres need no orientation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

KINDS = ("box", "cylinder", "sphere")


@dataclass(frozen=True, eq=False)
class Material:
    """A procedural albedo evaluated in part-local coordinates (see `tracklift.synth.texture`).

    pattern: "solid" | "stripes" | "checker" | "noise".
    color_a, color_b: [3] float64 RGB in [0, 1]; the pattern mixes the two.
    scale: pattern period in metres.
    seed: decorrelates the noise pattern of different parts.
    """

    pattern: str
    color_a: np.ndarray
    color_b: np.ndarray
    scale: float = 0.1
    seed: int = 0


@dataclass(frozen=True, eq=False)
class Part:
    """One primitive.

    kind:   "box" | "cylinder" | "sphere".
    center: [3] float64, metres, world (or template-local) frame.
    size:   [3] float64 full extents in metres: box (dx, dy, dz) before yaw; cylinder (2r, 2r, height);
            sphere (2r, 2r, 2r).
    yaw:    rotation about +z in radians (boxes only; ignored by round parts).
    open_bottom: the part rests on something, so its -z face gets no mesh (it is never visible).
    """

    kind: str
    center: np.ndarray
    size: np.ndarray
    material: Material
    yaw: float = 0.0
    open_bottom: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"part kind must be one of {KINDS}, got {self.kind!r}")
        object.__setattr__(self, "center", np.asarray(self.center, np.float64).reshape(3))
        object.__setattr__(self, "size", np.asarray(self.size, np.float64).reshape(3))
        if (self.size <= 0).any():
            raise ValueError(f"{self.kind} size must be positive, got {self.size}")

    @property
    def bottom(self) -> float:
        return float(self.center[2] - self.size[2] / 2)

    @property
    def top(self) -> float:
        return float(self.center[2] + self.size[2] / 2)

    def corners(self) -> np.ndarray:
        """[8, 3] float64 corners of a box enclosing the part (tight for boxes), world frame."""
        signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], np.float64)
        local = signs * self.size / 2
        return local @ rotation_z(self.yaw if self.kind == "box" else 0.0).T + self.center

    def moved(self, offset: np.ndarray, yaw: float) -> "Part":
        """This part rotated by `yaw` about the origin's z axis, then shifted by `offset` [3]."""
        return replace(self, center=rotation_z(yaw) @ self.center + offset, yaw=self.yaw + yaw)


@dataclass(frozen=True, eq=False)
class Surface:
    """A horizontal rectangle other things can stand on.

    center: [3] float64, the middle of the rectangle; z is its height.
    half:   [2] float64 half extents along the rotated x and y axes.
    kind:   "table" | "shelf" | "soft" | "stack" (which items may stand on it).
    clearance: free height above it in metres (shelves), inf when open.
    """

    center: np.ndarray
    half: np.ndarray
    kind: str
    yaw: float = 0.0
    clearance: float = float("inf")

    def moved(self, offset: np.ndarray, yaw: float) -> "Surface":
        return replace(self, center=rotation_z(yaw) @ np.asarray(self.center, np.float64) + offset, yaw=self.yaw + yaw)


@dataclass(frozen=True, eq=False)
class SceneObject:
    """An annotated object: `instance` is its 1-based number in the scene, `label` a ScanNet200 name."""

    instance: int
    label: str
    label_id: int
    parts: tuple[Part, ...]

    def box(self) -> np.ndarray:
        """[6] float64 axis-aligned box (cx, cy, cz, dx, dy, dz) of the object, metres, world frame."""
        pts = np.concatenate([p.corners() for p in self.parts])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        return np.concatenate([(lo + hi) / 2, hi - lo])


@dataclass(frozen=True, eq=False)
class Room:
    """The inside of the axis-aligned box [lo, hi]; its six faces are structure instances.

    lo, hi: [3] float64 metres, world frame (lo[2] = 0: the floor).
    face_instances: [6] instance numbers of the faces in the order -x, +x, -y, +y, -z (floor), +z (ceiling).
    face_labels: the six labels ("wall" x4, "floor", "ceiling").
    materials: the six faces' materials.
    """

    lo: np.ndarray
    hi: np.ndarray
    face_instances: tuple[int, ...]
    face_label_ids: tuple[int, ...]
    materials: tuple[Material, ...]

    FACE_LABELS = ("wall", "wall", "wall", "wall", "floor", "ceiling")


@dataclass(frozen=True, eq=False)
class PrimitiveScene:
    """A room and the objects in it, as analytic primitives (what synth renders; `data.scene.Scene` is a scene
    folder opened for reading). `objects` excludes the room's faces."""

    room: Room
    objects: tuple[SceneObject, ...]
    light: np.ndarray = field(default_factory=lambda: np.zeros(3))  # [3] point light, world frame

    def label_of_instance(self) -> dict[int, tuple[str, int]]:
        """instance -> (label, label_id), the room's faces included."""
        out = {o.instance: (o.label, o.label_id) for o in self.objects}
        for inst, name, lid in zip(self.room.face_instances, Room.FACE_LABELS, self.room.face_label_ids):
            out[inst] = (name, lid)
        return out


def rotation_z(yaw: float) -> np.ndarray:
    """[3, 3] float64 rotation by `yaw` radians about +z."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
