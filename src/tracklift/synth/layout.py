"""Procedural room layout: room size, furniture groups, items on surfaces, things on walls.

Order of placement: a door, floor furniture (groups such as a table with chairs, a desk with its chair,
monitor and keyboard, a bed with nightstands, a couch with a coffee table; tall furniture only with its back
to a wall so the camera path in the middle stays free), small items on tables, shelves, beds and on each
other (stacks), then pictures/windows/etc. on free stretches of wall. Roughly 45 % of the objects are floor
furniture, 40 % small items, 15 % wall-mounted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracklift.synth import catalog
from tracklift.synth.catalog import Template
from tracklift.synth.primitives import PrimitiveScene, Room, SceneObject, Surface, rotation_z
from tracklift.vocab import load_vocabulary

CELL = 0.05  # floor occupancy grid resolution, metres
WALL_GAP = 0.03  # furniture stands this far from the wall, so it never touches wall-mounted items


@dataclass
class _Placed:
    template: Template
    offset: np.ndarray  # [3] world position of the template origin
    yaw: float


@dataclass
class _Slot:
    """A world-frame surface and the rectangles (surface frame, x0, y0, x1, y1) already taken on it."""

    surface: Surface
    taken: list[tuple[float, float, float, float]] = field(default_factory=list)


@dataclass
class _Layout:
    lo: np.ndarray
    hi: np.ndarray
    grid: np.ndarray  # [nx, ny] bool, occupied floor cells
    placed: list[_Placed] = field(default_factory=list)
    slots: list[_Slot] = field(default_factory=list)
    wall_spans: list[list[tuple[float, float, float, float]]] = field(default_factory=lambda: [[] for _ in range(4)])


def _cells(layout: _Layout, x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice] | None:
    if x0 < layout.lo[0] - 1e-9 or y0 < layout.lo[1] - 1e-9 or x1 > layout.hi[0] + 1e-9 or y1 > layout.hi[1] + 1e-9:
        return None
    i0, j0 = int(np.floor((x0 - layout.lo[0]) / CELL + 1e-6)), int(np.floor((y0 - layout.lo[1]) / CELL + 1e-6))
    i1, j1 = int(np.ceil((x1 - layout.lo[0]) / CELL - 1e-6)), int(np.ceil((y1 - layout.lo[1]) / CELL - 1e-6))
    return slice(i0, max(i1, i0 + 1)), slice(j0, max(j1, j0 + 1))


def _footprint(template: Template, offset: np.ndarray, yaw: float) -> tuple[float, float, float, float]:
    """World axis-aligned footprint (x0, y0, x1, y1) of a placed template."""
    pts = np.concatenate([p.moved(offset, yaw).corners() for p in template.parts])
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def _try_place_group(
    layout: _Layout, members: list[tuple[Template, np.ndarray, float]], offset: np.ndarray, yaw: float
) -> bool:
    """Place group members (template, group-frame position [3], group-frame yaw) if their floor is free."""
    rot = rotation_z(yaw)
    world = [(t, rot @ p + offset, y + yaw) for t, p, y in members]
    cells = [_cells(layout, *_footprint(t, o, y)) for t, o, y in world]
    if any(c is None or layout.grid[c].any() for c in cells):
        return False
    for c in cells:
        layout.grid[c] = True
    for t, o, y in world:
        layout.placed.append(_Placed(t, o, y))
        layout.slots += [_Slot(s.moved(o, y)) for s in t.surfaces]
    return True


def _wall_frame(layout: _Layout, wall: int, along: float) -> tuple[np.ndarray, float, np.ndarray]:
    """Point on wall `wall` (0..3: -x, +x, -y, +y) at `along` metres from its start, the yaw that turns
    a template's front (+y) inwards, and the inward normal [3]."""
    axis, side = divmod(wall, 2)
    normal = np.zeros(3)
    normal[axis] = -1.0 if side else 1.0
    point = np.zeros(3)
    point[axis] = layout.hi[axis] if side else layout.lo[axis]
    point[1 - axis] = layout.lo[1 - axis] + along
    return point, float(np.arctan2(-normal[0], normal[1])), normal


def _wall_length(layout: _Layout, wall: int) -> float:
    axis = wall // 2
    return float(layout.hi[1 - axis] - layout.lo[1 - axis])


def _place_against_wall(
    rng: np.random.Generator, layout: _Layout, members: list[tuple[Template, np.ndarray, float]], gap: float = WALL_GAP
) -> bool:
    """Put a group with its back (-y) `gap` metres from a random wall; records the wall span it covers."""
    lo_y = min(_footprint(t, p, y)[1] for t, p, y in members)
    xs = [v for t, p, y in members for v in _footprint(t, p, y)[0::2]]
    height = max(t.height + p[2] for t, p, _ in members)
    for _ in range(20):
        wall = int(rng.integers(4))
        length = _wall_length(layout, wall)
        _, yaw, _ = _wall_frame(layout, wall, 0.0)
        # The group's x axis runs with or against the wall's `along` direction depending on the wall.
        sign = np.sin(yaw) if wall < 2 else np.cos(yaw)
        a, b = sorted((sign * min(xs), sign * max(xs)))
        if b - a > length - 0.1:
            continue
        along = rng.uniform(-a + 0.05, length - b - 0.05)
        point, yaw, normal = _wall_frame(layout, wall, along)
        if _try_place_group(layout, members, point + normal * (gap - lo_y), yaw):
            layout.wall_spans[wall].append((along + a, along + b, 0.0, height))
            return True
    return False


def _place_free(rng: np.random.Generator, layout: _Layout, members: list[tuple[Template, np.ndarray, float]]) -> bool:
    for _ in range(30):
        yaw = rng.integers(4) * np.pi / 2 + rng.uniform(-0.3, 0.3)
        xy = rng.uniform(layout.lo[:2] + 0.4, layout.hi[:2] - 0.4)
        if _try_place_group(layout, members, np.array([xy[0], xy[1], 0.0]), yaw):
            return True
    return False


def _at(template: Template, x: float, y: float, yaw: float = 0.0) -> tuple[Template, np.ndarray, float]:
    return template, np.array([x, y, 0.0]), yaw


def _floor_group(rng: np.random.Generator, budget: int) -> tuple[list[tuple[Template, np.ndarray, float]], bool, list]:
    """A furniture group (members in group frame), whether it goes against a wall, and (template, x, y)
    items to put on its first member's first surface (a desk's monitor and keyboard)."""
    kind = rng.choice(
        ["dining", "desk", "bed", "lounge", "single_free", "single_wall"], p=[0.15, 0.15, 0.1, 0.1, 0.25, 0.25]
    )
    if kind == "dining" and budget >= 2:
        tab = rng.choice([catalog.table, catalog.dining_table])(rng)
        w, d = tab.half_extents()
        members = [_at(tab, 0, 0)]
        seats = [
            (x, sy * (d + 0.12), np.pi if sy > 0 else 0.0)
            for sy in (1, -1)
            for x in ((-w / 2, w / 2) if w > 0.65 else (0.0,))
        ]
        order = rng.permutation(len(seats))
        for k in order[: min(budget - 1, int(rng.integers(1, len(seats) + 1)))]:
            x, y, yaw = seats[k]
            members.append(_at(catalog.chair(rng), x, y, yaw))
        return members, False, []
    if kind == "desk" and budget >= 2:
        dsk = catalog.desk(rng)
        _, d = dsk.half_extents()
        chair = (catalog.office_chair if rng.random() < 0.7 else catalog.chair)(rng)
        items = [(catalog.monitor(rng), 0.0, -d + 0.15), (catalog.keyboard(rng), 0.0, 0.05)]
        return [_at(dsk, 0, 0), _at(chair, 0, d + 0.15, np.pi)], True, items
    if kind == "bed":
        b = catalog.bed(rng)
        w, length = b.half_extents()
        members = [_at(b, 0, 0)]
        for sx in rng.permutation([-1, 1])[: min(budget - 1, int(rng.integers(0, 3)))]:
            ns = catalog.nightstand(rng)
            nw, nd = ns.half_extents()
            members.append(_at(ns, sx * (w + nw), -length + nd))
        return members, True, []
    if kind == "lounge":
        c = catalog.couch(rng)
        members = [_at(c, 0, 0)]
        if budget >= 2 and rng.random() < 0.7:
            ct = catalog.coffee_table(rng)
            members.append(_at(ct, 0, c.half_extents()[1] + 0.4 + ct.half_extents()[1]))
        return members, True, []
    if kind == "single_wall":
        return [_at(rng.choice(catalog.AGAINST_WALL)(rng), 0, 0)], True, []
    return [_at(rng.choice(catalog.FREE_STANDING)(rng), 0, 0)], False, []


def _place_on(layout: _Layout, slot: _Slot, template: Template, x: float, y: float, yaw: float) -> bool:
    """Stand `template` at (x, y) in `slot`'s frame, turned by `yaw`, if it fits and the spot is free."""
    s = slot.surface
    if template.height > s.clearance:
        return False
    rot = rotation_z(yaw)
    pts = np.concatenate([p.corners() for p in template.parts])[:, :2] @ rot[:2, :2].T + (x, y)
    rect = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
    if rect[0] < -s.half[0] or rect[1] < -s.half[1] or rect[2] > s.half[0] or rect[3] > s.half[1]:
        return False
    if any(
        rect[0] < b[2] + 0.01 and b[0] < rect[2] + 0.01 and rect[1] < b[3] + 0.01 and b[1] < rect[3] + 0.01
        for b in slot.taken
    ):
        return False
    slot.taken.append(rect)
    offset = rotation_z(s.yaw) @ np.array([x, y, 0.0]) + s.center
    placed = _Placed(template, offset, s.yaw + yaw)
    layout.placed.append(placed)
    layout.slots += [_Slot(t.moved(offset, placed.yaw)) for t in template.surfaces]
    return True


def _place_small(rng: np.random.Generator, layout: _Layout) -> bool:
    if not layout.slots:
        return False
    for _ in range(30):
        slot = layout.slots[int(rng.integers(len(layout.slots)))]
        template = rng.choice(catalog.ITEMS_ON[slot.surface.kind])(rng)
        # Items on shelves face out; elsewhere they stand at any right angle, slightly askew.
        yaw = 0.0 if slot.surface.kind == "shelf" else rng.integers(4) * np.pi / 2 + rng.uniform(-0.25, 0.25)
        x, y = rng.uniform(-slot.surface.half, slot.surface.half)
        if _place_on(layout, slot, template, x, y, yaw):
            return True
    return False


def _place_on_wall(rng: np.random.Generator, layout: _Layout, template: Template) -> bool:
    half_w = template.half_extents()[0]
    zlo = min(p.bottom for p in template.parts)
    zhi = template.height
    for _ in range(20):
        wall = int(rng.integers(4))
        length = _wall_length(layout, wall)
        if 2 * half_w > length - 0.3:
            continue
        along = rng.uniform(half_w + 0.1, length - half_w - 0.1)
        a, b = along - half_w, along + half_w
        if any(a < s1 + 0.05 and s0 < b + 0.05 and zlo < z1 and z0 < zhi for s0, s1, z0, z1 in layout.wall_spans[wall]):
            continue
        point, yaw, normal = _wall_frame(layout, wall, along)
        offset = point + normal * template.parts[0].size[1] / 2  # back face on the wall
        if template.label == "door":
            # Keep the floor in front of a door free, as in real rooms.
            fp = _footprint(template, offset, yaw)
            reach = normal * 0.9
            cells = _cells(
                layout,
                min(fp[0], fp[0] + reach[0]),
                min(fp[1], fp[1] + reach[1]),
                max(fp[2], fp[2] + reach[0]),
                max(fp[3], fp[3] + reach[1]),
            )
            if cells is None or layout.grid[cells].any():
                continue
            layout.grid[cells] = True
        layout.placed.append(_Placed(template, offset, yaw))
        layout.wall_spans[wall].append((a, b, zlo, zhi))
        return True
    return False


def build_scene(seed: int, n_objects: int) -> PrimitiveScene:
    """A furnished room with `n_objects` annotated objects; instances 1..n_objects, then the 6 room faces."""
    rng = np.random.default_rng([seed, 1])
    area = rng.uniform(14.0, 20.0) + 0.9 * n_objects
    aspect = rng.uniform(0.75, 1.33)
    size = np.array([np.sqrt(area * aspect), np.sqrt(area / aspect), rng.uniform(2.5, 3.0)])
    lo = np.array([-size[0] / 2, -size[1] / 2, 0.0])
    layout = _Layout(lo, lo + size, np.zeros((int(np.ceil(size[0] / CELL)), int(np.ceil(size[1] / CELL))), bool))

    n_small = round(0.4 * n_objects)
    n_floor = n_objects - n_small - max(1, round(0.15 * n_objects))  # the rest goes on the walls
    if rng.random() < 0.8:
        _place_on_wall(rng, layout, catalog.door(rng))
    floor_placed = 0
    for _ in range(200):
        budget = n_floor - floor_placed
        if budget <= 0:
            break
        members, wall, items = _floor_group(rng, budget)
        members = members[:budget]
        first_slot = len(layout.slots)
        if not (_place_against_wall(rng, layout, members) if wall else _place_free(rng, layout, members)):
            continue
        floor_placed += len(members)
        for template, x, y in items[:n_small]:
            # The group's first member (a desk) contributed the first new surface.
            n_small -= _place_on(layout, layout.slots[first_slot], template, x, y, 0.0)
    for _ in range(n_small):
        if not _place_small(rng, layout):
            # No room left on surfaces: a small floor item instead.
            _place_free(rng, layout, [_at(rng.choice([catalog.ball, catalog.trash_can, catalog.basket])(rng), 0, 0)])
    while len(layout.placed) < n_objects:
        if not _place_on_wall(rng, layout, rng.choice(catalog.WALL_MOUNTED)(rng)):
            if not _place_free(rng, layout, [_at(rng.choice(catalog.FREE_STANDING)(rng), 0, 0)]):
                raise RuntimeError(
                    f"seed {seed}: could not fit {n_objects} objects in a {size[0]:.1f}×{size[1]:.1f} m room"
                )

    vocab = load_vocabulary("scannet200")
    objects = tuple(
        SceneObject(
            i + 1,
            p.template.label,
            vocab.id_of(p.template.label),
            tuple(q.moved(p.offset, p.yaw) for q in p.template.parts),
        )
        for i, p in enumerate(layout.placed[:n_objects])
    )
    faces = tuple(range(n_objects + 1, n_objects + 7))
    wall_mat = catalog.material(rng, "wall", rng.choice(["solid", "noise"]))
    materials = (wall_mat,) * 4 + (
        catalog.material(rng, "floor", rng.choice(["stripes", "checker", "noise"])),
        catalog.material(rng, "white", "solid"),
    )
    label_ids = tuple(vocab.id_of(n) for n in Room.FACE_LABELS)
    room = Room(layout.lo, layout.hi, faces, label_ids, materials)
    light = np.array([0.0, 0.0, layout.hi[2] - 0.3])
    return PrimitiveScene(room, objects, light)
