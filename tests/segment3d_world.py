"""Hand-built fused maps for the segment3d tests: a floor with boxes standing on it, on voxel centres."""

import numpy as np

from tracklift.lift.voxels import key_centres, unique_keys, voxel_keys
from tracklift.segment3d.fuse import FusedMap

VOXEL = 0.04


def _grid(lo, hi, step):
    axes = [np.arange(a, b + step / 2, step) if b > a else np.array([a]) for a, b in zip(lo, hi)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)


def box_surface(lo, hi, step=VOXEL / 2) -> tuple[np.ndarray, np.ndarray]:
    """[M, 3] samples of a box's top and four sides (not its bottom, which stands on the floor) and [M, 3]
    their outward normals."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    faces = [((lo[0], lo[1], hi[2]), hi, (0, 0, 1))]
    for axis in (0, 1):
        for side, sign in ((lo, -1), (hi, 1)):
            a, b = lo.copy(), hi.copy()
            a[axis] = b[axis] = side[axis]
            faces.append((a, b, np.eye(3)[axis] * sign))
    grids = [_grid(a, b, step) for a, b, _ in faces]
    return np.concatenate(grids), np.concatenate([np.tile(n, (len(g), 1)) for g, (_, _, n) in zip(grids, faces)])


def world(boxes, colors=None, floor=((-1.5, -1.5), (1.5, 1.5)), voxel=VOXEL) -> tuple[FusedMap, np.ndarray]:
    """A FusedMap of a floor (z = 0, grey) with `boxes` [(lo, hi)] standing on it, each of one RGB colour, seen
    from outside (views along the faces' outward normals). Returns the map and [N] int box index per voxel
    (-1 = floor)."""
    colors = colors or [(200, 40, 40)] * len(boxes)
    (x0, y0), (x1, y1) = floor
    samples = [_grid((x0, y0, voxel / 4), (x1, y1, voxel / 4), voxel / 2)]
    owners = [np.full(len(samples[0]), -1)]
    views = [np.tile((0.0, 0.0, 1.0), (len(samples[0]), 1))]
    for k, (lo, hi) in enumerate(boxes):
        points, normals = box_surface(lo, hi)
        # Faces against another box are hidden, as in a real scan: only visible surface is mapped.
        hidden = np.zeros(len(points), bool)
        for j, (lo_j, hi_j) in enumerate(boxes):
            if j != k:
                hidden |= np.all((points >= np.asarray(lo_j) - 1e-9) & (points <= np.asarray(hi_j) + 1e-9), axis=1)
        points, normals = points[~hidden], normals[~hidden]
        samples.append(points)
        views.append(normals)
        owners.append(np.full(len(points), k))
    samples, owners, views = np.concatenate(samples), np.concatenate(owners), np.concatenate(views)
    keys = voxel_keys(samples, voxel)
    uniq = unique_keys(keys)
    owner = np.full(len(uniq), -1)
    # A voxel holding samples of a box belongs to it (box samples come later: the maximum wins).
    where = np.searchsorted(uniq, keys)
    np.maximum.at(owner, where, owners)
    points = key_centres(uniq, voxel)
    palette = np.array([(128, 128, 128), *colors], np.uint8)
    view = np.zeros((len(uniq), 3))
    np.add.at(view, where, views)
    view /= np.maximum(np.linalg.norm(view, axis=1, keepdims=True), 1e-9)
    vmap = FusedMap(
        uniq,
        points,
        palette[owner + 1],
        view.astype(np.float32),
        np.full(len(uniq), 5, np.int32),
        np.array([0.0, 0.0, 1.0]),
        [],
        voxel,
    )
    return vmap, owner


def corner_box(points: np.ndarray) -> np.ndarray:
    """[6] (x0, y0, z0, x1, y1, z1) of voxel centres padded by half a voxel: the surface they sample."""
    return np.r_[points.min(0) - VOXEL / 2, points.max(0) + VOXEL / 2]
