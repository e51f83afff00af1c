"""Gaussians container, SH basis, quaternions, camera and the INRIA 3DGS PLY format."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from tracklift.data.frame import Frame
from tracklift.splat.io.ply import read_gaussians_ply, write_gaussians_ply
from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import (
    Gaussians,
    eval_sh,
    num_sh_coeffs,
    quat_to_rotmat,
    rgb_to_sh_dc,
    sh_degree_of,
)


def _gaussians(n: int = 6, degree: int = 2, seed: int = 0) -> Gaussians:
    gen = torch.Generator().manual_seed(seed)
    return Gaussians(
        means=torch.randn(n, 3, generator=gen),
        log_scales=torch.randn(n, 3, generator=gen) - 3,
        quats=torch.randn(n, 4, generator=gen),
        opacity_logits=torch.randn(n, generator=gen),
        sh=torch.randn(n, num_sh_coeffs(degree), 3, generator=gen),
    )


def test_container_operations():
    g = _gaussians(6, 2)
    assert g.n == 6 and g.sh_degree == 2
    assert len(g.parameters()) == 5 and g.parameters()[0] is g.means
    sub = g.index(torch.tensor([True, False, True, False, False, True]))
    assert sub.n == 3 and torch.equal(sub.means[1], g.means[2])
    assert g.index(torch.tensor([5, 0])).n == 2
    both = g.cat(sub)
    assert both.n == 9 and torch.equal(both.sh[6:], sub.sh)
    g.requires_grad_()
    assert all(t.requires_grad and t.is_leaf for t in g.parameters())
    assert not any(t.requires_grad for t in g.detach().parameters())
    assert g.with_sh_degree(3).sh.shape == (6, 16, 3) and torch.equal(g.with_sh_degree(0).sh, g.sh[:, :1])
    torch.testing.assert_close(g.opacity, torch.sigmoid(g.opacity_logits))
    assert Gaussians.empty(1).n == 0


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("means", torch.zeros(6, 2), r"means must be \[6, 3\]"),
        ("means", torch.zeros(6), r"means must be an \[N, 3\] tensor"),
        ("quats", torch.zeros(5, 4), r"quats must be \[6, 4\]"),
        ("opacity_logits", torch.zeros(6, 1), r"opacity_logits must be \[6\]"),
        ("sh", torch.zeros(6, 5, 3), "SH coefficient count"),
        ("sh", torch.zeros(6, 4, 2), r"sh must be \[6, K, 3\]"),
    ],
)
def test_container_rejects_bad_shapes(field, value, match):
    kwargs = {name: getattr(_gaussians(), name) for name in ("means", "log_scales", "quats", "opacity_logits", "sh")}
    kwargs[field] = value
    with pytest.raises(ValueError, match=match):
        Gaussians(**kwargs)


def test_cat_rejects_mixed_degrees():
    with pytest.raises(ValueError, match="SH degree"):
        _gaussians(degree=1).cat(_gaussians(degree=2))


def test_sh_degree_helpers():
    assert [num_sh_coeffs(d) for d in range(4)] == [1, 4, 9, 16]
    assert [sh_degree_of(k) for k in (1, 4, 9, 16)] == [0, 1, 2, 3]
    for bad in (0, 2, 25):
        with pytest.raises(ValueError):
            sh_degree_of(bad)


def _real_sh_3dgs(l: int, m: int, dirs: np.ndarray) -> np.ndarray:  # noqa: E741 (l, m: the spherical-harmonic degree and order)
    """The 3DGS basis from scipy's complex SH: sqrt2·Im Y_l^|m| (m<0), Y_l^0, sqrt2·Re Y_l^m (m>0)."""
    from scipy.special import sph_harm_y

    polar = np.arccos(np.clip(dirs[:, 2], -1, 1))
    azimuth = np.arctan2(dirs[:, 1], dirs[:, 0])
    y = sph_harm_y(l, abs(m), polar, azimuth)
    if m < 0:
        return math.sqrt(2) * y.imag
    if m > 0:
        return math.sqrt(2) * y.real
    return y.real


def test_eval_sh_matches_scipy_spherical_harmonics():
    rng = np.random.default_rng(0)
    dirs = rng.normal(size=(50, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    for degree in range(4):
        for k in range(num_sh_coeffs(degree)):
            l = math.isqrt(k)  # noqa: E741 (l, m: the spherical-harmonic degree and order)
            m = k - l * l - l
            sh = torch.zeros(50, num_sh_coeffs(degree), 1, dtype=torch.float64)
            sh[:, k] = 1.0
            got = eval_sh(sh, torch.as_tensor(dirs), degree)[:, 0].numpy()
            np.testing.assert_allclose(got, _real_sh_3dgs(l, m, dirs), atol=1e-12, err_msg=f"l={l} m={m}")


def test_dc_colour_round_trip():
    rgb = torch.tensor([[0.1, 0.5, 0.9]])
    sh = rgb_to_sh_dc(rgb)[:, None, :]
    torch.testing.assert_close(eval_sh(sh, torch.tensor([[0.0, 0.0, 1.0]]), 0) + 0.5, rgb)


def test_quat_to_rotmat_matches_scipy():
    q = torch.randn(20, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected = Rotation.from_quat(q[:, [1, 2, 3, 0]].numpy()).as_matrix()  # scipy is xyzw
    np.testing.assert_allclose(quat_to_rotmat(q).numpy(), expected, atol=1e-12)


def test_camera_from_frame_and_validation():
    pose = np.eye(4)
    pose[:3, 3] = [1.0, 2.0, 3.0]
    frame = Frame(
        color=np.zeros((4, 5, 3), np.uint8),
        depth=np.zeros((4, 5), np.float32),
        K=np.array([[5.0, 0, 2], [0, 5, 1.5], [0, 0, 1]]),
        pose=pose,
        name="7",
        index=7,
    )
    cam = Camera.from_frame(frame)
    assert (cam.width, cam.height, cam.name) == (5, 4, "7")
    np.testing.assert_allclose(cam.world_to_camera() @ cam.pose, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(cam.center, [1, 2, 3])
    with pytest.raises(ValueError, match="K must be"):
        Camera(K=np.eye(2), pose=np.eye(4), width=5, height=4)
    with pytest.raises(ValueError, match="NaN"):
        Camera(K=np.eye(3), pose=np.full((4, 4), np.nan), width=5, height=4)
    with pytest.raises(ValueError, match="focal"):
        Camera(K=np.diag([0.0, 1.0, 1.0]), pose=np.eye(4), width=5, height=4)
    with pytest.raises(ValueError, match="image size"):
        Camera(K=np.eye(3), pose=np.eye(4), width=0, height=4)


@pytest.mark.parametrize("degree", [0, 1, 3])
def test_ply_round_trip(tmp_path, degree):
    g = _gaussians(7, degree)
    path = tmp_path / "point_cloud.ply"
    write_gaussians_ply(path, g)
    back = read_gaussians_ply(path)
    for a, b in zip(g.parameters(), back.parameters()):
        torch.testing.assert_close(a, b)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temp file


def test_ply_layout_is_inria_channel_major(tmp_path):
    from plyfile import PlyData

    g = _gaussians(2, 1)
    write_gaussians_ply(tmp_path / "g.ply", g)
    vertex = PlyData.read(str(tmp_path / "g.ply"))["vertex"]
    names = [p.name for p in vertex.properties]
    assert names[:9] == ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    assert names[9:] == [f"f_rest_{i}" for i in range(9)] + ["opacity", "scale_0", "scale_1", "scale_2"] + [
        f"rot_{i}" for i in range(4)
    ]
    # f_rest_0..2 are the red channel's three band-1 coefficients, f_rest_3 starts green.
    np.testing.assert_allclose(vertex["f_rest_1"], g.sh[:, 2, 0].numpy())
    np.testing.assert_allclose(vertex["f_rest_3"], g.sh[:, 1, 1].numpy())
    np.testing.assert_allclose(vertex["rot_0"], g.quats[:, 0].numpy())


def _write_table(path, columns: dict[str, np.ndarray]) -> None:
    from plyfile import PlyData, PlyElement

    data = np.empty(len(next(iter(columns.values()))), dtype=[(k, "f4") for k in columns])
    for k, v in columns.items():
        data[k] = v
    PlyData([PlyElement.describe(data, "vertex")]).write(str(path))


def test_ply_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.ply"):
        read_gaussians_ply(tmp_path / "missing.ply")
    (tmp_path / "junk.ply").write_bytes(b"not a ply")
    with pytest.raises(ValueError, match="junk.ply"):
        read_gaussians_ply(tmp_path / "junk.ply")
    write_gaussians_ply(tmp_path / "g.ply", _gaussians(3, 0))
    from plyfile import PlyData

    vertex = PlyData.read(str(tmp_path / "g.ply"))["vertex"].data
    columns = {k: np.array(vertex[k]) for k in vertex.dtype.names if k != "scale_1"}
    _write_table(tmp_path / "noscale.ply", columns)
    with pytest.raises(ValueError, match=r"noscale.ply.*scale_1"):
        read_gaussians_ply(tmp_path / "noscale.ply")
    columns = {k: np.array(vertex[k]) for k in vertex.dtype.names}
    columns["opacity"][1] = np.nan
    _write_table(tmp_path / "nan.ply", columns)
    with pytest.raises(ValueError, match=r"nan.ply.*'opacity'"):
        read_gaussians_ply(tmp_path / "nan.ply")
    columns = {k: np.array(vertex[k]) for k in vertex.dtype.names}
    columns["f_rest_0"] = columns["x"]
    _write_table(tmp_path / "rest.ply", columns)
    with pytest.raises(ValueError, match="rest.ply.*multiple of 3"):
        read_gaussians_ply(tmp_path / "rest.ply")
