"""Transfer instances (voxel-centre points) onto the points predictions are written over — the scene mesh's
vertices or the fused map —, fill the vertices the scan never saw along the mesh, and snap the result to the
mesh's superpoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from tracklift.core.instance import Instance3D
from tracklift.io.ply import read_ply
from tracklift.io.segs import read_segs
from tracklift.lift.voxels import unique_keys
from tracklift.superpoints.segmentator import segment_mesh
from tracklift.superpoints.snap import SnapConfig, snap_masks


def mesh_edges(vertices: np.ndarray, faces: np.ndarray) -> csr_matrix:
    """[V, V] sparse symmetric matrix of mesh edge lengths (metres) from faces [F, 3] int."""
    faces = np.asarray(faces, np.int64).reshape(-1, 3)
    pairs = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    n = len(vertices)
    # one int64 key per edge: a 1-D sort-based unique is many times faster than np.unique(axis=0) on a
    # 1M-face mesh (and than numpy 2's hash-based 1-D unique)
    a, b = np.divmod(unique_keys(pairs[:, 0] * n + pairs[:, 1]), n)
    length = np.linalg.norm(vertices[a] - vertices[b], axis=1) + 1e-9  # a zero weight would drop the edge
    return csr_matrix((np.r_[length, length], (np.r_[a, b], np.r_[b, a])), shape=(n, n))


def complete_on_mesh(
    masks: np.ndarray,
    observed: np.ndarray,
    vertices: np.ndarray,
    faces: np.ndarray,
    max_distance: float,
    edges: csr_matrix | None = None,
) -> np.ndarray:
    """Fill vertices the scan never saw (hidden backs and undersides) from the seen ones, along the mesh.

    masks: [I, V] bool from `transfer_to_points`; observed: [V] bool (`transfer_and_observed`); faces: [F, 3].
    Each unobserved vertex takes the memberships of the observed vertex nearest to it along mesh edges,
    if that one is at most `max_distance` metres away; observed vertices — including those seen as no
    object — never change. edges: `mesh_edges(vertices, faces)` when already made. Returns a new [I, V] bool array.
    """
    from scipy.sparse.csgraph import dijkstra

    out = masks.copy()
    sources = np.flatnonzero(observed)
    if len(sources) == 0 or len(faces) == 0 or observed.all():
        return out
    _, _, nearest = dijkstra(
        edges if edges is not None else mesh_edges(np.asarray(vertices, np.float64), faces),
        directed=False,
        indices=sources,
        min_only=True,
        limit=max_distance,
        return_predecessors=True,
    )
    fill = np.flatnonzero(~observed & (nearest >= 0))
    out[:, fill] = masks[:, nearest[fill]]
    return out


def complete_on_mesh_reference(masks, observed, vertices, faces, max_distance) -> np.ndarray:
    """Plain Dijkstra from every observed vertex (the tests compare with `complete_on_mesh`)."""
    import heapq

    n = len(vertices)
    adj: list[dict[int, float]] = [dict() for _ in range(n)]
    for f in np.asarray(faces, np.int64).reshape(-1, 3):
        for a, b in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])):
            d = float(np.linalg.norm(np.asarray(vertices[a], np.float64) - vertices[b])) + 1e-9
            adj[a][b] = adj[b][a] = min(d, adj[a].get(b, np.inf))
    best = np.full(n, np.inf)
    origin = np.full(n, -1)
    heap = [(0.0, int(s), int(s)) for s in np.flatnonzero(observed)]
    heapq.heapify(heap)
    while heap:
        d, v, s = heapq.heappop(heap)
        if d >= best[v]:
            continue
        best[v], origin[v] = d, s
        for w, length in adj[v].items():
            if d + length <= max_distance and d + length < best[w]:
                heapq.heappush(heap, (d + length, w, s))
    out = masks.copy()
    for v in range(n):
        if not observed[v] and origin[v] >= 0:
            out[:, v] = masks[:, origin[v]]
    return out


def transfer_to_points(
    instances: list[Instance3D], vertices: np.ndarray, radius: float, background: np.ndarray | None = None
) -> np.ndarray:
    """[I, V] bool: vertex v belongs to instance i when its nearest point — over all instances' points and the
    `background` points ([B, 3], seen as no object) — lies within `radius` metres and is a point of i.
    Overlapping instances share such vertices.

    vertices: [V, 3] float, metres, world frame.
    """
    return transfer_and_observed(instances, vertices, radius, background)[0]


def transfer_and_observed(
    instances: list[Instance3D], vertices: np.ndarray, radius: float, background: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`transfer_to_points` ([I, V] bool) and, from the same nearest-point query, which vertices lie within
    `radius` of any instance or background point — the ones the scan saw ([V] bool)."""
    vertices = np.asarray(vertices, np.float32)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be [V, 3], got {vertices.shape}")
    n_i, n_v = len(instances), len(vertices)
    bg = np.zeros((0, 3), np.float32) if background is None else np.asarray(background, np.float32).reshape(-1, 3)
    points = np.concatenate([i.points for i in instances] + [bg])
    out = np.zeros((n_i, n_v), bool)
    if len(points) == 0 or n_v == 0:
        return out, np.zeros(n_v, bool)
    # Background points are owned by the extra column n_i, dropped below.
    owner = np.repeat(np.arange(n_i + 1), [len(i.points) for i in instances] + [len(bg)])
    # Instances share voxel centres where they overlap: one tree node per distinct centre, with a sparse
    # centre x instance membership table.
    uniq, inverse = np.unique(points, axis=0, return_inverse=True)
    membership = csr_matrix((np.ones(len(owner), bool), (inverse.ravel(), owner)), shape=(len(uniq), n_i + 1))
    dist, nearest = cKDTree(uniq).query(vertices, distance_upper_bound=radius)
    hit = np.isfinite(dist)
    rows = membership[nearest[hit]].tocoo()
    keep = rows.col < n_i
    out[rows.col[keep], np.flatnonzero(hit)[rows.row[keep]]] = True
    return out, hit


def transfer_to_points_reference(
    instances: list[Instance3D], vertices: np.ndarray, radius: float, background: np.ndarray | None = None
) -> np.ndarray:
    """Plain per-vertex version of `transfer_to_points` (the tests compare the two)."""
    out = np.zeros((len(instances), len(vertices)), bool)
    points = [np.asarray(i.points, np.float64) for i in instances]
    if background is not None:
        points.append(np.asarray(background, np.float64).reshape(-1, 3))
    for v, x in enumerate(np.asarray(vertices, np.float64)):
        d = [np.linalg.norm(p - x, axis=1).min() if len(p) else np.inf for p in points]
        best = min(d) if d else np.inf
        if best <= radius:
            for i, di in enumerate(d[: len(instances)]):
                out[i, v] = di == best
    return out


def fused_points(instances: list[Instance3D]) -> np.ndarray:
    """[P, 3] float32: the distinct instance points, the reference points when there is no mesh."""
    if not instances:
        return np.zeros((0, 3), np.float32)
    return np.unique(np.concatenate([i.points for i in instances]), axis=0)


def check_alignment(
    points: np.ndarray,
    vertices: np.ndarray,
    voxel: float,
    factor: float = 4.0,
    floor: float = 0.1,
    where: str = "mesh",
    tree: cKDTree | None = None,
) -> float:
    """Median distance (metres) from the mapped points to the nearest mesh vertex; ValueError when it exceeds
    max(factor · voxel, floor): the mesh is in another coordinate frame (or another scene). tree: a cKDTree of
    `vertices` when already made."""
    if len(points) == 0 or len(vertices) == 0:
        return 0.0
    sample = points[:: max(1, len(points) // 20000)]
    dist, _ = (tree if tree is not None else cKDTree(np.asarray(vertices, np.float32))).query(sample)
    median = float(np.median(dist))
    limit = max(factor * voxel, floor)
    if median > limit:
        raise ValueError(
            f"{where}: mapped points lie a median {median:.3f} m from the mesh (limit {limit:.3f} m); the mesh is"
            " probably in another coordinate frame than the camera poses"
        )
    return median


@dataclass(frozen=True)
class ReferenceMesh:
    """A mesh predictions are written over, with what transferring onto it needs, made before the instances
    exist (`segment` prepares it while the frames are mapped).

    vertices: [V, 3] float32, metres, world; faces: [F, 3] int64; edges: `mesh_edges` ([V, V] sparse, None
    without faces); tree: cKDTree of the vertices; superpoints: [V] int64 from the scene's own segs file
    (`mesh_superpoints`), None when the segmentator must make them.
    """

    path: Path
    vertices: np.ndarray
    faces: np.ndarray
    edges: csr_matrix | None
    tree: cKDTree
    superpoints: np.ndarray | None


def reference_mesh(scene, mesh_path: str | Path | bool | None) -> ReferenceMesh | None:
    """The mesh predictions go over: `mesh_path`, or the scene's own mesh when it is None; None when there is
    none or `mesh_path` is False (the fused map is written instead)."""
    path = mesh_path if mesh_path is not None else getattr(scene, "mesh_path", None)
    if path is None or path is False:
        return None
    mesh = read_ply(path)  # vertices float32, faces int64
    return ReferenceMesh(
        Path(path),
        mesh.vertices,
        mesh.faces,
        mesh_edges(mesh.vertices.astype(np.float64), mesh.faces) if len(mesh.faces) else None,
        cKDTree(mesh.vertices),
        mesh_superpoints(scene, mesh_path, len(mesh.vertices)),
    )


def reference_points(reference: ReferenceMesh | None, instances: list[Instance3D], voxel: float):
    """The points predictions are written over: the `reference` mesh's vertices (checked to be in the poses'
    frame), else the fused instance points.

    Returns (points [P, 3] float32, faces [F, 3] int64 or None, "mesh" | "fused").
    """
    if reference is None:
        return fused_points(instances), None, "fused"
    check_alignment(fused_points(instances), reference.vertices, voxel, where=str(reference.path), tree=reference.tree)
    return reference.vertices, reference.faces, "mesh"


def instance_masks(
    instances: list[Instance3D],
    points: np.ndarray,
    voxel: float,
    radius_voxels: float = 1.0,
    background: np.ndarray | None = None,
    faces: np.ndarray | None = None,
    fill_distance: float = 0.5,
    edges: csr_matrix | None = None,
) -> np.ndarray:
    """[I, P] bool: which of `points` ([P, 3] metres) belong to each instance: a point joins an instance when its
    nearest instance or `background` point ([B, 3], e.g. `Mapper.background_points()`), within
    radius_voxels · voxel, belongs to it. With mesh `faces` ([F, 3]), points no lifted voxel explains take the
    memberships of the nearest explained point along the mesh, up to `fill_distance` metres: surfaces the
    stride-sampled, edge-filtered lifting missed (slanted or thin parts, backs a few centimetres behind a seen
    face). Surfaces seen in no mask are background evidence (`LiftConfig.background_step`), so filling never
    spreads an instance over them. edges: the mesh's `mesh_edges` when already made.
    """
    radius = radius_voxels * voxel
    masks, observed = transfer_and_observed(instances, points, radius, background)
    if faces is not None and len(faces) and fill_distance > 0:
        masks = complete_on_mesh(masks, observed, points, faces, fill_distance, edges)
    return masks


def snap_to_superpoints(
    instances: list[Instance3D],
    masks: np.ndarray,
    vertices: np.ndarray,
    faces: np.ndarray | None,
    config: SnapConfig | None,
    superpoints: np.ndarray | None = None,
) -> tuple[list[Instance3D], np.ndarray]:
    """Snap vertex masks ([I, V] bool) to the mesh's superpoints (ScanNet's segmentator on `vertices` [V, 3] and
    `faces` [F, 3]); instances that collapse are dropped. A reconstruction differs from every depth map by
    centimetres, so vertex-by-vertex transfer leaves holes and slivers along object borders; a scan's
    annotation is made of the same superpoints (ScanNet labels segments), so a majority vote per superpoint
    restores the borders. superpoints: [V] int segment ids already made for this mesh (`mesh_superpoints`),
    else the segmentator runs. Without faces or with `config` None, returns the inputs unchanged."""
    if config is None or faces is None or len(faces) == 0 or len(instances) == 0:
        return instances, masks
    if superpoints is None:
        superpoints = segment_mesh(vertices, faces)
    result = snap_masks(masks, superpoints, np.array([i.score for i in instances]), config)
    return [instances[k] for k in result.kept], result.masks


def mesh_superpoints(scene, mesh_path: str | Path | bool | None, num_vertices: int) -> np.ndarray | None:
    """The scene's own superpoints (`scene.segs_path`, ScanNet's `*.segs.json`: the segmentator's output on the
    scene's mesh at its default thresholds) when predictions go over that same mesh and the file has one id per
    vertex; else None (the segmentator makes them). [V] int64."""
    segs, own = getattr(scene, "segs_path", None), getattr(scene, "mesh_path", None)
    if segs is None or own is None or mesh_path is False:
        return None
    if mesh_path is not None and Path(mesh_path).resolve() != Path(own).resolve():
        return None
    try:
        return read_segs(segs, num_vertices)
    except ValueError:  # made from another mesh (vertex count differs) or malformed: make them anew
        return None
