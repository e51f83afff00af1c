"""Object templates built from primitives at realistic sizes, with ScanNet200 labels.

A template is in its own frame: footprint centred on the origin, bottom at z = 0, front towards +y (so
its back, -y, goes against a wall). Sizes are drawn from ranges of real furniture; colours from small
palettes with jitter and a procedural pattern, so colour is informative but not unique.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from tracklift.synth.primitives import Material, Part, Surface

PALETTES: dict[str, tuple[tuple[float, float, float], ...]] = {
    "wood": ((0.55, 0.38, 0.22), (0.68, 0.5, 0.32), (0.38, 0.25, 0.15), (0.82, 0.7, 0.55), (0.3, 0.2, 0.12)),
    "fabric": (
        (0.6, 0.15, 0.12),
        (0.2, 0.3, 0.55),
        (0.35, 0.45, 0.3),
        (0.75, 0.7, 0.62),
        (0.45, 0.45, 0.48),
        (0.8, 0.55, 0.2),
        (0.5, 0.3, 0.5),
    ),
    "metal": ((0.6, 0.6, 0.62), (0.25, 0.25, 0.27), (0.8, 0.8, 0.82)),
    "plastic": (
        (0.9, 0.9, 0.88),
        (0.1, 0.1, 0.1),
        (0.85, 0.2, 0.15),
        (0.15, 0.45, 0.8),
        (0.95, 0.8, 0.2),
        (0.2, 0.65, 0.35),
    ),
    "paper": ((0.92, 0.9, 0.85), (0.8, 0.3, 0.25), (0.25, 0.35, 0.6), (0.3, 0.55, 0.35), (0.85, 0.75, 0.4)),
    "plant": ((0.2, 0.45, 0.18), (0.3, 0.55, 0.2), (0.15, 0.35, 0.15)),
    "screen": ((0.05, 0.05, 0.07), (0.1, 0.12, 0.15)),
    "glass": ((0.55, 0.7, 0.8), (0.7, 0.8, 0.85)),
    "white": ((0.93, 0.93, 0.92), (0.97, 0.96, 0.94)),
    "wall": ((0.9, 0.88, 0.82), (0.82, 0.85, 0.88), (0.88, 0.82, 0.72), (0.75, 0.8, 0.75)),
    "floor": ((0.55, 0.38, 0.22), (0.68, 0.5, 0.32), (0.5, 0.5, 0.5), (0.6, 0.55, 0.5), (0.45, 0.35, 0.3)),
}
_PATTERNS = ("solid", "stripes", "checker", "noise")
_PATTERN_P = (0.4, 0.2, 0.15, 0.25)


def material(rng: np.random.Generator, palette: str, pattern: str | None = None) -> Material:
    """A jittered palette colour with a random (or the given) pattern."""
    colors = PALETTES[palette]
    a = np.clip(np.asarray(colors[rng.integers(len(colors))]) + rng.normal(0, 0.04, 3), 0, 1)
    b = np.clip(a * rng.uniform(0.55, 0.85), 0, 1)
    pattern = pattern or str(rng.choice(_PATTERNS, p=_PATTERN_P))
    return Material(pattern, a, b, scale=float(rng.uniform(0.03, 0.15)), seed=int(rng.integers(2**31)))


@dataclass(frozen=True, eq=False)
class Template:
    """An object in its own frame (see the module docstring); `surfaces` are where items may stand."""

    label: str
    parts: tuple[Part, ...]
    surfaces: tuple[Surface, ...] = ()

    def __post_init__(self) -> None:
        # Parts standing on the template's base are never seen from below.
        object.__setattr__(self, "parts", tuple(replace(p, open_bottom=p.bottom <= 1e-9) for p in self.parts))

    def half_extents(self) -> np.ndarray:
        """[2] float64 half footprint (x, y) about the origin, metres."""
        pts = np.concatenate([p.corners() for p in self.parts])
        return np.abs(pts[:, :2]).max(axis=0)

    @property
    def height(self) -> float:
        return max(p.top for p in self.parts)


def _box(x: float, y: float, z0: float, dx: float, dy: float, dz: float, mat: Material) -> Part:
    return Part("box", (x, y, z0 + dz / 2), (dx, dy, dz), mat)


def _cyl(x: float, y: float, z0: float, r: float, h: float, mat: Material) -> Part:
    return Part("cylinder", (x, y, z0 + h / 2), (2 * r, 2 * r, h), mat)


def _sphere(x: float, y: float, zc: float, r: float, mat: Material) -> Part:
    return Part("sphere", (x, y, zc), (2 * r, 2 * r, 2 * r), mat)


def _legs(w: float, d: float, h: float, t: float, inset: float, mat: Material) -> list[Part]:
    return [
        _box(sx * (w / 2 - inset - t / 2), sy * (d / 2 - inset - t / 2), 0, t, t, h, mat)
        for sx in (-1, 1)
        for sy in (-1, 1)
    ]


def _top_surface(w: float, d: float, z: float, kind: str = "table", margin: float = 0.03) -> Surface:
    return Surface(np.array([0.0, 0.0, z]), np.array([w / 2 - margin, d / 2 - margin]), kind)


# ----------------------------------------------------------------------------------------------- furniture
def chair(rng: np.random.Generator) -> Template:
    w, d, seat = rng.uniform(0.4, 0.5), rng.uniform(0.4, 0.5), rng.uniform(0.42, 0.48)
    frame, cushion = material(rng, "wood"), material(rng, "fabric")
    back_h = rng.uniform(0.35, 0.5)
    parts = _legs(w, d, seat - 0.05, 0.035, 0.0, frame)
    parts += [_box(0, 0, seat - 0.05, w, d, 0.05, cushion), _box(0, -d / 2 + 0.025, seat, w, 0.05, back_h, frame)]
    return Template("chair", tuple(parts))


def office_chair(rng: np.random.Generator) -> Template:
    w, seat = rng.uniform(0.45, 0.55), rng.uniform(0.45, 0.52)
    fabric, metal = material(rng, "fabric"), material(rng, "metal", "solid")
    parts = [
        _cyl(0, 0, 0, 0.3, 0.05, metal),
        _cyl(0, 0, 0.05, 0.03, seat - 0.13, metal),
        _box(0, 0, seat - 0.08, w, w, 0.08, fabric),
        _box(0, -w / 2 + 0.04, seat + 0.05, w * 0.9, 0.06, rng.uniform(0.4, 0.55), fabric),
        _box(-w / 2 + 0.03, 0.02, seat, 0.05, w * 0.7, 0.2, metal),
        _box(w / 2 - 0.03, 0.02, seat, 0.05, w * 0.7, 0.2, metal),
    ]
    return Template("office chair", tuple(parts))


def table(rng: np.random.Generator, label: str = "table") -> Template:
    if label == "coffee table":
        w, d, h = rng.uniform(0.8, 1.2), rng.uniform(0.5, 0.7), rng.uniform(0.38, 0.48)
    else:
        w, d, h = rng.uniform(1.0, 1.8), rng.uniform(0.7, 1.0), rng.uniform(0.72, 0.77)
    wood = material(rng, "wood")
    legs = material(rng, "metal", "solid") if rng.random() < 0.4 else wood
    parts = _legs(w, d, h - 0.04, 0.05, 0.05, legs) + [_box(0, 0, h - 0.04, w, d, 0.04, wood)]
    return Template(label, tuple(parts), (_top_surface(w, d, h),))


def desk(rng: np.random.Generator) -> Template:
    w, d, h = rng.uniform(1.1, 1.6), rng.uniform(0.6, 0.8), rng.uniform(0.72, 0.76)
    top, panel = material(rng, "wood"), material(rng, rng.choice(["wood", "white", "metal"]))
    parts = [
        _box(0, 0, h - 0.03, w, d, 0.03, top),
        _box(-w / 2 + 0.015, 0, 0, 0.03, d, h - 0.03, panel),
        _box(w / 2 - 0.015, 0, 0, 0.03, d, h - 0.03, panel),
        _box(0, -d / 2 + 0.02, 0.3, w - 0.06, 0.02, h - 0.33, panel),
    ]
    return Template("desk", tuple(parts), (_top_surface(w, d, h),))


def bed(rng: np.random.Generator) -> Template:
    w = rng.choice([rng.uniform(0.9, 1.05), rng.uniform(1.4, 1.8)])
    length = rng.uniform(1.95, 2.1)
    frame, sheet = material(rng, "wood"), material(rng, "fabric")
    parts = _legs(w, length, 0.1, 0.06, 0.02, frame)
    parts += [
        _box(0, 0, 0.1, w, length, 0.25, frame),
        _box(0, 0.02, 0.35, w - 0.04, length - 0.08, rng.uniform(0.18, 0.25), sheet),
        _box(0, -length / 2 + 0.03, 0.1, w, 0.06, rng.uniform(0.8, 1.1), frame),
    ]
    pillows = Surface(np.array([0.0, -length / 2 + 0.4, parts[-2].top]), np.array([w / 2 - 0.05, 0.3]), "soft")
    return Template("bed", tuple(parts), (pillows,))


def couch(rng: np.random.Generator, label: str = "couch") -> Template:
    w = rng.uniform(1.6, 2.2) if label == "couch" else rng.uniform(0.75, 0.95)
    d, arm = rng.uniform(0.8, 0.95), rng.uniform(0.14, 0.2)
    fabric, legs = material(rng, "fabric"), material(rng, "wood", "solid")
    seat = rng.uniform(0.4, 0.46)
    parts = _legs(w, d, 0.08, 0.05, 0.03, legs)
    parts += [
        _box(0, 0, 0.08, w, d, seat - 0.08, fabric),
        _box(0, -d / 2 + 0.1, seat, w, 0.2, rng.uniform(0.35, 0.45), fabric),
        _box(-w / 2 + arm / 2, 0.1, seat, arm, d - 0.2, 0.2, fabric),
        _box(w / 2 - arm / 2, 0.1, seat, arm, d - 0.2, 0.2, fabric),
    ]
    cushions = Surface(np.array([0.0, 0.1, seat]), np.array([w / 2 - arm - 0.02, (d - 0.2) / 2 - 0.02]), "soft")
    return Template(label, tuple(parts), (cushions,))


def armchair(rng: np.random.Generator) -> Template:
    return couch(rng, "armchair")


def coffee_table(rng: np.random.Generator) -> Template:
    return table(rng, "coffee table")


def dining_table(rng: np.random.Generator) -> Template:
    return table(rng, "dining table")


def _cabinet_like(
    rng: np.random.Generator, label: str, w: float, d: float, h: float, palette: str, drawers: int
) -> Template:
    body, handle = material(rng, palette), material(rng, "metal", "solid")
    parts = [_box(0, 0, 0, w, d, h, body)]
    for k in range(drawers):
        z = h * (k + 0.6) / drawers
        parts.append(_box(0, d / 2 + 0.01, z, min(0.2, w / 3), 0.02, 0.025, handle))
    return Template(label, tuple(parts), (_top_surface(w, d, h),))


def cabinet(rng: np.random.Generator) -> Template:
    return _cabinet_like(rng, "cabinet", rng.uniform(0.6, 1.2), rng.uniform(0.4, 0.6), rng.uniform(0.7, 1.0), "wood", 2)


def dresser(rng: np.random.Generator) -> Template:
    return _cabinet_like(
        rng, "dresser", rng.uniform(0.9, 1.4), rng.uniform(0.45, 0.55), rng.uniform(0.8, 1.1), "wood", 4
    )


def nightstand(rng: np.random.Generator) -> Template:
    return _cabinet_like(
        rng, "nightstand", rng.uniform(0.4, 0.5), rng.uniform(0.35, 0.45), rng.uniform(0.5, 0.6), "wood", 2
    )


def tv_stand(rng: np.random.Generator) -> Template:
    return _cabinet_like(
        rng, "tv stand", rng.uniform(1.1, 1.6), rng.uniform(0.35, 0.45), rng.uniform(0.45, 0.55), "wood", 1
    )


def refrigerator(rng: np.random.Generator) -> Template:
    w, d, h = rng.uniform(0.6, 0.75), rng.uniform(0.6, 0.7), rng.uniform(1.7, 1.9)
    body, handle = material(rng, rng.choice(["white", "metal"]), "solid"), material(rng, "metal", "solid")
    parts = [_box(0, 0, 0, w, d, h, body), _cyl(w / 2 - 0.08, d / 2 + 0.03, h * 0.45, 0.015, 0.5, handle)]
    return Template("refrigerator", tuple(parts))


def bookshelf(rng: np.random.Generator) -> Template:
    w, d, h = rng.uniform(0.7, 1.2), rng.uniform(0.28, 0.38), rng.uniform(1.5, 2.0)
    wood, t = material(rng, "wood"), 0.025
    n_shelves = int(rng.integers(3, 6))
    parts = [
        _box(-w / 2 + t / 2, 0, 0, t, d, h, wood),
        _box(w / 2 - t / 2, 0, 0, t, d, h, wood),
        _box(0, -d / 2 + 0.005, 0, w - 2 * t, 0.01, h, wood),
    ]
    levels = np.linspace(0.05, h - t, n_shelves + 1)
    surfaces = []
    for k, z in enumerate(levels):
        parts.append(_box(0, 0, z, w - 2 * t, d, t, wood))
        if k < n_shelves:
            clearance = levels[k + 1] - z - t - 0.02
            surfaces.append(
                Surface(
                    np.array([0.0, 0.01, z + t]),
                    np.array([w / 2 - t - 0.01, d / 2 - 0.02]),
                    "shelf",
                    clearance=clearance,
                )
            )
    return Template("bookshelf", tuple(parts), tuple(surfaces))


def floor_lamp(rng: np.random.Generator) -> Template:
    metal, shade = material(rng, "metal", "solid"), material(rng, rng.choice(["white", "fabric"]))
    pole = rng.uniform(1.3, 1.5)
    r = rng.uniform(0.17, 0.22)
    parts = [
        _cyl(0, 0, 0, 0.15, 0.03, metal),
        _cyl(0, 0, 0.03, 0.015, pole, metal),
        _cyl(0, 0, pole - 0.1, r, 0.28, shade),
    ]
    return Template("lamp", tuple(parts))


def trash_can(rng: np.random.Generator) -> Template:
    return Template(
        "trash can",
        (
            _cyl(
                0,
                0,
                0,
                rng.uniform(0.12, 0.18),
                rng.uniform(0.3, 0.45),
                material(rng, rng.choice(["plastic", "metal"])),
            ),
        ),
    )


def potted_plant(rng: np.random.Generator, scale: float = 1.0) -> Template:
    pot, leaves = material(rng, rng.choice(["plastic", "white"])), material(rng, "plant", "noise")
    r, h = 0.15 * scale, 0.3 * scale
    return Template("potted plant", (_cyl(0, 0, 0, r, h, pot), _sphere(0, 0, h + 1.6 * r, 2 * r, leaves)))


def stool(rng: np.random.Generator) -> Template:
    seat, h = material(rng, rng.choice(["wood", "fabric"])), rng.uniform(0.45, 0.65)
    legs = material(rng, "metal", "solid")
    parts = [_cyl(0, 0, h - 0.04, 0.18, 0.04, seat)]
    parts += [_cyl(0.12 * np.cos(a), 0.12 * np.sin(a), 0, 0.015, h - 0.04, legs) for a in (0.0, 2.1, 4.2)]
    return Template("stool", tuple(parts))


def ottoman(rng: np.random.Generator) -> Template:
    s = rng.uniform(0.45, 0.6)
    return Template("ottoman", (_box(0, 0, 0, s, s, rng.uniform(0.35, 0.45), material(rng, "fabric")),))


def radiator(rng: np.random.Generator) -> Template:
    metal = material(rng, "white", "stripes")
    return Template("radiator", (_box(0, 0, 0.1, rng.uniform(0.6, 1.2), 0.1, rng.uniform(0.5, 0.7), metal),))


# ------------------------------------------------------------------------------------------- small items
def monitor(rng: np.random.Generator) -> Template:
    w, h = rng.uniform(0.5, 0.65), rng.uniform(0.3, 0.4)
    case, screen = material(rng, "plastic", "solid"), material(rng, "screen", "solid")
    parts = [
        _box(0, 0, 0, 0.22, 0.18, 0.015, case),
        _box(0, -0.03, 0.015, 0.05, 0.03, 0.12, case),
        _box(0, 0, 0.12, w, 0.03, h, screen),
    ]
    return Template("monitor", tuple(parts))


def tv(rng: np.random.Generator) -> Template:
    w = rng.uniform(0.9, 1.3)
    case, screen = material(rng, "plastic", "solid"), material(rng, "screen", "solid")
    return Template("tv", (_box(0, 0, 0, 0.3, 0.2, 0.02, case), _box(0, 0, 0.06, w, 0.05, 0.56 * w, screen)))


def keyboard(rng: np.random.Generator) -> Template:
    return Template(
        "keyboard", (_box(0, 0, 0, rng.uniform(0.4, 0.46), 0.14, 0.025, material(rng, "plastic", "checker")),)
    )


def laptop(rng: np.random.Generator) -> Template:
    case = material(rng, rng.choice(["metal", "plastic"]), "solid")
    return Template(
        "laptop",
        (
            _box(0, 0, 0, 0.33, 0.23, 0.02, case),
            _box(0, -0.11, 0.02, 0.33, 0.01, 0.22, material(rng, "screen", "solid")),
        ),
    )


def cup(rng: np.random.Generator) -> Template:
    mat = material(rng, rng.choice(["plastic", "white"]))
    r, h = rng.uniform(0.035, 0.045), rng.uniform(0.08, 0.11)
    return Template("cup", (_cyl(0, 0, 0, r, h, mat), _box(r + 0.01, 0, h * 0.3, 0.02, 0.012, h * 0.5, mat)))


def bottle(rng: np.random.Generator) -> Template:
    mat = material(rng, rng.choice(["glass", "plastic"]), "solid")
    r, h = rng.uniform(0.03, 0.04), rng.uniform(0.18, 0.25)
    return Template("bottle", (_cyl(0, 0, 0, r, h, mat), _cyl(0, 0, h, 0.013, 0.06, mat)))


def box_item(rng: np.random.Generator) -> Template:
    w, d, h = rng.uniform(0.15, 0.4), rng.uniform(0.15, 0.35), rng.uniform(0.1, 0.3)
    return Template(
        "box",
        (_box(0, 0, 0, w, d, h, material(rng, rng.choice(["paper", "wood"]))),),
        (_top_surface(w, d, h, "stack", 0.02),),
    )


def book(rng: np.random.Generator, upright: bool = False) -> Template:
    w, d, t = rng.uniform(0.15, 0.24), rng.uniform(0.2, 0.3), rng.uniform(0.02, 0.05)
    mat = material(rng, "paper", rng.choice(["solid", "stripes"]))
    if upright:
        return Template("book", (_box(0, 0, 0, t, w, d, mat),))
    return Template("book", (_box(0, 0, 0, w, d, t, mat),), (_top_surface(w, d, t, "stack", 0.02),))


def bowl(rng: np.random.Generator) -> Template:
    return Template(
        "bowl",
        (
            _cyl(
                0,
                0,
                0,
                rng.uniform(0.07, 0.1),
                rng.uniform(0.05, 0.07),
                material(rng, rng.choice(["white", "plastic"])),
            ),
        ),
    )


def tissue_box(rng: np.random.Generator) -> Template:
    return Template("tissue box", (_box(0, 0, 0, 0.24, 0.12, 0.1, material(rng, "paper")),))


def alarm_clock(rng: np.random.Generator) -> Template:
    return Template("alarm clock", (_box(0, 0, 0, 0.12, 0.06, 0.1, material(rng, "plastic", "solid")),))


def table_lamp(rng: np.random.Generator) -> Template:
    base, shade = material(rng, rng.choice(["metal", "white"]), "solid"), material(rng, rng.choice(["white", "fabric"]))
    return Template(
        "lamp",
        (_cyl(0, 0, 0, 0.07, 0.03, base), _cyl(0, 0, 0.03, 0.01, 0.3, base), _cyl(0, 0, 0.28, 0.12, 0.18, shade)),
    )


def small_plant(rng: np.random.Generator) -> Template:
    return potted_plant(rng, 0.45)


def basket(rng: np.random.Generator) -> Template:
    return Template(
        "basket", (_cyl(0, 0, 0, rng.uniform(0.1, 0.16), rng.uniform(0.12, 0.2), material(rng, "wood", "checker")),)
    )


def pillow(rng: np.random.Generator) -> Template:
    return Template(
        "pillow",
        (
            _box(
                0,
                0,
                0,
                rng.uniform(0.5, 0.7),
                rng.uniform(0.35, 0.45),
                rng.uniform(0.12, 0.18),
                material(rng, "fabric"),
            ),
        ),
    )


def cushion(rng: np.random.Generator) -> Template:
    s = rng.uniform(0.35, 0.45)
    return Template("cushion", (_box(0, 0, 0, s, s, rng.uniform(0.1, 0.14), material(rng, "fabric")),))


def ball(rng: np.random.Generator) -> Template:
    r = rng.uniform(0.1, 0.12)
    return Template("ball", (_sphere(0, 0, r, r, material(rng, "plastic", rng.choice(["solid", "checker"]))),))


# ----------------------------------------------------------------------------------------- wall-mounted
# Wall items are thin along y; their frame has z = 0 at the floor (not at their bottom).
def _flat(label: str, w: float, h: float, z0: float, t: float, mat: Material) -> Template:
    return Template(label, (_box(0, 0, z0, w, t, h, mat),))


def picture(rng: np.random.Generator) -> Template:
    h = rng.uniform(0.3, 0.7)
    return _flat(
        "picture",
        rng.uniform(0.3, 0.9),
        h,
        rng.uniform(1.3, 1.7) - h / 2,
        0.025,
        material(rng, "paper", rng.choice(["noise", "checker", "stripes"])),
    )


def poster(rng: np.random.Generator) -> Template:
    h = rng.uniform(0.5, 0.9)
    return _flat(
        "poster",
        h * 0.7,
        h,
        rng.uniform(1.3, 1.6) - h / 2,
        0.006,
        material(rng, "paper", rng.choice(["noise", "stripes"])),
    )


def whiteboard(rng: np.random.Generator) -> Template:
    h = rng.uniform(0.9, 1.2)
    return _flat("whiteboard", rng.uniform(1.2, 1.8), h, 1.45 - h / 2, 0.02, material(rng, "white", "solid"))


def window(rng: np.random.Generator) -> Template:
    return _flat(
        "window",
        rng.uniform(0.8, 1.4),
        rng.uniform(1.0, 1.3),
        rng.uniform(0.85, 1.0),
        0.04,
        material(rng, "glass", "stripes"),
    )


def mirror(rng: np.random.Generator) -> Template:
    h = rng.uniform(0.6, 1.0)
    return _flat("mirror", rng.uniform(0.4, 0.6), h, 1.45 - h / 2, 0.015, material(rng, "glass", "solid"))


def clock(rng: np.random.Generator) -> Template:
    s = rng.uniform(0.25, 0.35)
    return _flat("clock", s, s, rng.uniform(1.8, 2.0), 0.04, material(rng, "white", "solid"))


def door(rng: np.random.Generator) -> Template:
    w, h = rng.uniform(0.8, 0.9), rng.uniform(2.0, 2.1)
    wood, metal = material(rng, "wood", rng.choice(["solid", "stripes"])), material(rng, "metal", "solid")
    return Template("door", (_box(0, 0, 0, w, 0.04, h, wood), _box(w / 2 - 0.1, 0.03, 1.0, 0.12, 0.03, 0.025, metal)))


TemplateFn = Callable[[np.random.Generator], Template]

# Floor furniture that stands anywhere vs. with its back to a wall (tall or wall-bound things).
FREE_STANDING: tuple[TemplateFn, ...] = (
    table,
    dining_table,
    coffee_table,
    chair,
    office_chair,
    armchair,
    stool,
    ottoman,
    trash_can,
    potted_plant,
    ball,
)
AGAINST_WALL: tuple[TemplateFn, ...] = (
    bookshelf,
    cabinet,
    dresser,
    refrigerator,
    floor_lamp,
    nightstand,
    tv_stand,
    radiator,
    couch,
)
WALL_MOUNTED: tuple[TemplateFn, ...] = (
    picture,
    poster,
    whiteboard,
    window,
    mirror,
    clock,
)  # doors are placed first, once

# Which small items may stand on which kind of surface.
ITEMS_ON: dict[str, tuple[TemplateFn, ...]] = {
    "table": (cup, bottle, book, box_item, bowl, laptop, tissue_box, alarm_clock, table_lamp, small_plant, keyboard),
    "shelf": (lambda rng: book(rng, upright=True), box_item, basket, small_plant, bottle),
    "soft": (pillow, cushion),
    "stack": (book, box_item),
}
