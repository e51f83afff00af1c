"""ScanNet-segmentator mesh superpoints: constructed shapes, fast vs plain reference, invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from tracklift.superpoints.graph_segment import segment_graph, segment_graph_reference
from tracklift.superpoints.segmentator import mesh_graph, mesh_graph_reference, segment_mesh, vertex_normals


def grid_faces(rows: int, cols: int) -> np.ndarray:
    """[2(rows-1)(cols-1), 3] triangles of a row-major vertex grid, counter-clockwise seen from +z."""
    i, j = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    a = (i * cols + j).ravel()
    return np.concatenate([np.stack([a, a + 1, a + cols + 1], 1), np.stack([a, a + cols + 1, a + cols], 1)])


def orient(vertices: np.ndarray, faces: np.ndarray, outward: np.ndarray) -> np.ndarray:
    """Flip faces whose normal points against `outward` ([F, 3] directions)."""
    p = vertices[faces]
    flip = np.einsum("fi,fi->f", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), outward) < 0
    faces = faces.copy()
    faces[flip] = faces[flip][:, ::-1]
    return faces


def cube(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welded unit cube, n×n vertices per side, outward winding; [V] side id, -1 on cube edges."""
    t = np.linspace(0, 1, n)
    u, v = (g.ravel() for g in np.meshgrid(t, t, indexing="ij"))
    verts, faces, side = [], [], []
    for axis in range(3):
        for s in (0.0, 1.0):
            p = np.empty((n * n, 3))
            p[:, axis] = s
            p[:, [x for x in range(3) if x != axis]] = np.stack([u, v], 1)
            faces.append(grid_faces(n, n) + n * n * len(verts))
            verts.append(p)
            side.append(np.where((u > 0) & (u < 1) & (v > 0) & (v < 1), len(side), -1))
    vertices, faces, side = np.concatenate(verts), np.concatenate(faces), np.concatenate(side)
    _, first, weld = np.unique(np.round(vertices * (n - 1)), axis=0, return_index=True, return_inverse=True)
    faces = weld.ravel()[faces]
    vertices = vertices[first].astype(np.float32)
    faces = orient(vertices, faces, vertices[faces].mean(1) - 0.5)
    welded_side = np.full(len(vertices), -1)
    welded_side[weld.ravel()] = side
    return vertices, faces, welded_side


def crease(n: int, degrees: float, convex: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two n×n planes meeting along x = 0, normals up: a flat one (x < 0) and one tilted by `degrees`,
    down (a convex ridge) or up (a concave valley). Returns vertices, faces, [V] side 0/1 (-1 on the crease)."""
    t = np.linspace(0, 1, n)
    x, y = (g.ravel() for g in np.meshgrid(np.concatenate([t - 1, t[1:]]), t, indexing="ij"))
    z = np.where(x > 0, x * np.tan(np.radians(degrees)) * (-1 if convex else 1), 0)
    vertices = np.stack([x, y, z], 1).astype(np.float32)
    faces = orient(vertices, grid_faces(2 * n - 1, n), np.array([[0, 0, 1]]))
    return vertices, faces, np.where(x < 0, 0, np.where(x > 0, 1, -1))


def uv_sphere(rings: int, segments: int) -> tuple[np.ndarray, np.ndarray]:
    theta = np.linspace(0, np.pi, rings + 1)[1:-1]
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    t, p = (g.ravel() for g in np.meshgrid(theta, phi, indexing="ij"))
    ring = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], 1)
    vertices = np.concatenate([[[0, 0, 1]], ring, [[0, 0, -1]]]).astype(np.float32)

    def idx(r, s):
        return 1 + r * segments + s % segments

    faces = []
    for s in range(segments):
        faces += [[0, idx(0, s), idx(0, s + 1)], [len(vertices) - 1, idx(rings - 2, s), idx(rings - 2, s + 1)]]
        for r in range(rings - 2):
            faces += [[idx(r, s), idx(r + 1, s), idx(r + 1, s + 1)], [idx(r, s), idx(r + 1, s + 1), idx(r, s + 1)]]
    faces = np.asarray(faces)
    return vertices, orient(vertices, faces, vertices[faces].mean(1))


def noisy_grid(n: int, seed: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, y = (g.ravel() for g in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    z = rng.normal(0, noise, n * n) + np.where(x > n // 2, 0.7 * (x - n // 2), 0)
    faces = grid_faces(n, n)
    return (0.02 * np.stack([x, y, z], 1)).astype(np.float32), faces[rng.permutation(len(faces))]


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = np.unique(np.stack([a, b], 1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def segments_connected(labels: np.ndarray, faces: np.ndarray) -> bool:
    """Every segment is one connected piece of the mesh graph restricted to its own vertices."""
    a, b = faces[:, [0, 1, 2]].ravel(), faces[:, [1, 2, 0]].ravel()
    inside = labels[a] == labels[b]
    graph = coo_matrix((np.ones(inside.sum()), (a[inside], b[inside])), shape=(len(labels), len(labels)))
    return connected_components(graph, directed=False)[0] == len(np.unique(labels))


# --- constructed shapes with a known answer ---------------------------------------------------------


@pytest.mark.parametrize("inward", [False, True], ids=["object", "room"])
def test_cube_gives_its_six_sides(inward):
    vertices, faces, side = cube(8)
    labels = segment_mesh(vertices, faces[:, ::-1] if inward else faces)
    assert len(np.unique(labels)) == 6
    per_side = [np.unique(labels[side == s]) for s in range(6)]
    assert all(len(u) == 1 for u in per_side)  # each side's interior is one segment ...
    assert len({int(u[0]) for u in per_side}) == 6  # ... and no two sides share one


def test_small_cube_sides_merge_below_min_verts():
    vertices, faces, _ = cube(5)  # 9 interior vertices per side < 20: every side is merged away
    assert len(np.unique(segment_mesh(vertices, faces))) == 1
    assert len(np.unique(segment_mesh(vertices, faces, min_verts=5))) == 6


@pytest.mark.parametrize(("degrees", "k_thresh"), [(20, 0.1), (45, 5.0)])
def test_convex_crease_merges_where_concave_splits(degrees, k_thresh):
    # Squaring the weight of convex edges is what lets the ridge merge at a k where the valley splits.
    for convex, expected in ((False, 2), (True, 1)):
        vertices, faces, side = crease(10, degrees, convex)
        labels = segment_mesh(vertices, faces, k_thresh, 20)
        assert len(np.unique(labels)) == expected, "convex" if convex else "concave"
        if expected == 2:
            assert len(np.unique(labels[side == 0])) == len(np.unique(labels[side == 1])) == 1
            assert labels[side == 0][0] != labels[side == 1][0]


def test_sphere_patches_respect_min_size():
    vertices, faces = uv_sphere(20, 40)
    labels = segment_mesh(vertices, faces, 0.01, 20)
    counts = np.unique(labels, return_counts=True)[1]
    assert 1 < len(counts) < len(vertices) / 20
    assert counts.min() >= 20
    assert segments_connected(labels, faces)
    assert len(np.unique(segment_mesh(vertices, faces, 0.1, 20))) == 1  # a larger k swallows the smooth sphere


def test_exact_scannet_labels_with_tied_weights():
    # Quantised heights give 322 tied weights in 384 edges; a stable sort would partition this mesh
    # differently. Labels printed by a C++ build of the segmentator's algorithm (g++ 12, std::sort).
    n = 9
    i = np.arange(n * n)
    z = ((i * 37) % 11).astype(np.float32) * np.float32(0.004)
    vertices = np.stack([(i % n).astype(np.float32) * np.float32(0.02), (i // n) * np.float32(0.02), z], 1)
    expected = (
        "9 9 21 13 13 13 6 6 6 9 9 21 13 13 6 6 6 6 9 9 21 21 32 6 6 53 53 9 37 21 21 32 32 53 53 53 37 37 21 21 "
        "32 32 53 53 53 37 37 56 56 53 53 53 53 53 56 56 56 56 53 53 53 71 71 56 56 56 56 56 53 71 71 71 56 56 56 "
        "56 56 56 71 71 71"
    )
    labels = segment_mesh(vertices, grid_faces(n, n), 0.05, 4)
    assert labels.tolist() == [int(x) for x in expected.split()]


def test_vertex_normal_is_unnormalised_mean_of_unit_face_normals():
    # Vertex 0 is shared by a face in z = 0 and a face in x = 0 (both unit normals count once,
    # whatever their areas): its normal is their mean, of length √2/2.
    vertices = np.array([[0, 0, 0], [5, 0, 0], [0, 5, 0], [0, 0, 1], [0, 1, 0]], np.float32)
    faces = np.array([[0, 1, 2], [0, 3, 4]])
    normals = vertex_normals(vertices, faces)
    np.testing.assert_allclose(normals[0], [-0.5, 0, 0.5], atol=1e-7)
    np.testing.assert_allclose(normals[1], [0, 0, 1], atol=1e-7)


def test_edge_order_and_flat_weights():
    # ScanNet's three edges per face (i1, i2), (i1, i3), (i3, i2); a flat face has equal normals: weight 0.
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0]], np.float32)
    a, b, w = mesh_graph(vertices, np.array([[0, 1, 2]]))
    assert a.tolist() == [0, 0, 2] and b.tolist() == [1, 2, 1]
    np.testing.assert_array_equal(w, np.zeros(3, np.float32))


def test_convex_edge_weight_is_squared():
    # Ridge: faces tilted ±45° about the y axis meet along x = 0; normals (∓s, 0, s), s = √2/2.
    vertices = np.array([[-1, 0, -1], [0, 0, 0], [0, 1, 0], [1, 0, -1]], np.float32)
    faces = np.array([[0, 1, 2], [1, 3, 2]])
    a, b, w = mesh_graph(vertices, faces)
    normals = vertex_normals(vertices, faces)
    np.testing.assert_allclose(normals[1], [0, 0, np.sqrt(0.5)], atol=1e-6)
    # Edge 0→1 (face 0's first edge): n0 = (-s, 0, s), n1 = (0, 0, s): 1 - n0·n1 = 0.5, convex → 0.25.
    assert a[0] == 0 and b[0] == 1
    np.testing.assert_allclose(w[0], 0.25, atol=1e-6)
    # The same pair as a valley (mirrored in z) is concave: weight 0.5, not squared.
    _, _, w_valley = mesh_graph(vertices * np.array([1, 1, -1], np.float32), faces[:, ::-1])
    np.testing.assert_allclose(w_valley[0], 0.5, atol=1e-6)


# --- fast vs reference --------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(st.integers(3, 14), st.integers(0, 10**6), st.sampled_from([0.0, 0.05, 1.0]))
def test_mesh_graph_matches_reference_bit_for_bit(n, seed, noise):
    vertices, faces = noisy_grid(n, seed, noise)
    for fast, slow in zip(mesh_graph(vertices, faces), mesh_graph_reference(vertices, faces), strict=True):
        assert fast.dtype == slow.dtype
        np.testing.assert_array_equal(fast, slow)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(3, 14),
    st.integers(0, 10**6),
    st.sampled_from([0.0, 0.05, 1.0]),
    st.sampled_from([0.001, 0.01, 0.1, 1.0]),
    st.integers(0, 30),
)
def test_segment_graph_matches_reference(n, seed, noise, k_thresh, min_size):
    vertices, faces = noisy_grid(n, seed, noise)
    a, b, w = mesh_graph(vertices, faces)
    fast = segment_graph(len(vertices), a, b, w, k_thresh, min_size)
    slow = segment_graph_reference(len(vertices), a, b, w, k_thresh, min_size)
    assert same_partition(fast, slow)


# --- invariants ----------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 16), st.integers(0, 10**6), st.sampled_from([0.0, 0.3]), st.integers(1, 40))
def test_partition_invariants(n, seed, noise, min_verts):
    vertices, faces = noisy_grid(n, seed, noise)
    labels = segment_mesh(vertices, faces, 0.01, min_verts)
    assert labels.shape == (len(vertices),) and labels.dtype == np.int64
    assert np.all(labels[labels] == labels)  # each id is a vertex of its own segment, as in ScanNet
    assert segments_connected(labels, faces)
    counts = np.unique(labels, return_counts=True)[1]
    if len(vertices) >= min_verts:  # the grid is connected: no segment can stay below min_verts
        assert counts.min() >= min_verts
    np.testing.assert_array_equal(labels, segment_mesh(vertices, faces, 0.01, min_verts))


def test_unreferenced_vertices_stay_alone():
    vertices, faces, _ = cube(8)
    extra = np.concatenate([vertices, [[5, 5, 5], [6, 6, 6]]]).astype(np.float32)
    labels = segment_mesh(extra, faces)
    assert labels[-2] == len(extra) - 2 and labels[-1] == len(extra) - 1
    assert len(np.unique(labels)) == 8


def test_degenerate_face_is_skipped():
    vertices, faces, _ = cube(8)
    with_sliver = np.concatenate([faces, [[0, 0, 1]]])  # zero area: ScanNet would spread NaN from it
    np.testing.assert_array_equal(vertex_normals(vertices, with_sliver), vertex_normals(vertices, faces))
    assert np.all(np.isfinite(mesh_graph(vertices, with_sliver)[2]))
    assert len(np.unique(segment_mesh(vertices, with_sliver))) == 6


def test_empty_mesh():
    assert segment_mesh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int64)).shape == (0,)


@pytest.mark.parametrize(
    ("vertices", "faces", "match"),
    [
        (np.zeros((4, 2)), np.zeros((1, 3), int), "vertices must be"),
        (np.zeros((4, 3)), np.zeros((1, 4), int), "faces must be"),
        (np.zeros((4, 3)), np.array([[0, 1, 4]]), "outside"),
        (np.zeros((4, 3)), np.array([[0.0, 1.0, 2.0]]), "integer"),
        (np.full((4, 3), np.nan), np.array([[0, 1, 2]]), "NaN"),
    ],
)
def test_bad_mesh_raises(vertices, faces, match):
    with pytest.raises(ValueError, match=match):
        segment_mesh(vertices, faces)


@pytest.mark.parametrize(
    ("k_thresh", "min_size", "a", "match"),
    [(0.0, 20, [0], "k_thresh"), (0.01, -1, [0], "min_size"), (0.01, 20, [7], r"\[0, 3\)")],
)
def test_bad_graph_raises(k_thresh, min_size, a, match):
    with pytest.raises(ValueError, match=match):
        segment_graph(3, np.array(a), np.array([1]), np.array([0.5], np.float32), k_thresh, min_size)
