"""The viewer of a Gaussian model: splat arrays, instance colours, extract / remove toggles, camera views."""

import math

import numpy as np
import pytest
import torch

from tracklift.splat.io.camera_file import write_cameras
from tracklift.splat.io.instances import Instances, write_instances
from tracklift.splat.io.ply import write_gaussians_ply
from tracklift.splat.render.gaussians import Gaussians
from tracklift.splat.trace3d.objects import palette
from tracklift.view.outputs import output_kind
from tracklift.view.splats import UNASSIGNED, instance_rgbs, load_gaussians, splat_arrays

from .splat_toy import toy_cameras, toy_gaussians
from .view_helpers import server  # noqa: F401


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A toy model folder (three boxes of Gaussians, four cameras) lifted to its exact object ids, with
    Gaussian 0 left unassigned."""
    root = tmp_path_factory.mktemp("gs") / "model"
    g, obj = toy_gaussians(spacing=0.15)
    write_gaussians_ply(root / "point_cloud.ply", g)
    write_cameras(root / "cameras.json", toy_cameras(4), [False] * 4)
    ids = obj.astype(np.int32)
    ids[0] = -1
    write_instances(root, Instances(ids, ["chair", "table", "box"]), "point_cloud.ply")
    return root


def test_splat_arrays_hand_computed():
    half = math.sqrt(0.5)
    g = Gaussians(
        torch.tensor([[1.0, 2.0, 3.0]]),
        torch.log(torch.tensor([[0.1, 0.2, 0.3]])),
        torch.tensor([[half, 0.0, 0.0, half]]),  # 90 degrees about z: x -> y
        torch.tensor([0.0]),
        torch.zeros(1, 1, 3),
    )
    a = splat_arrays(g)
    np.testing.assert_allclose(a["centers"], [[1, 2, 3]])
    np.testing.assert_allclose(a["covariances"][0], np.diag([0.04, 0.01, 0.09]), atol=1e-7)
    np.testing.assert_allclose(a["rgbs"], [[0.5, 0.5, 0.5]])
    np.testing.assert_allclose(a["opacities"], [[0.5]])


def test_instance_rgbs():
    pal = palette(2)
    rgbs = instance_rgbs(np.array([1, -1, 0]), pal)
    np.testing.assert_allclose(rgbs * 255, np.stack([pal[1], UNASSIGNED, pal[0]]), atol=1e-4)


def test_viewer_extracts_removes_and_recolours(model, server):  # noqa: F811
    from tracklift.view.splats import GaussianViewer

    assert output_kind(model) == "gaussians"
    scene = load_gaussians(model)
    sizes = scene.instances.sizes()
    view = GaussianViewer(server, scene)
    n = scene.gaussians.n
    assert view.node.buffer.shape == (n, 8)
    g, ids = view.current
    assert g.n == n and ids[0] == -1
    view.extract(1)
    assert view.node.buffer.shape == (sizes[1], 8) and view.current[0].n == sizes[1]
    np.testing.assert_allclose(
        view.current[0].means.numpy(), scene.gaussians.means[scene.instances.instance == 1].numpy()
    )
    view.extract(None)
    view.set_removed(0, True)
    view.set_removed(2, True)
    assert view.current[0].n == n - sizes[0] - sizes[2] and set(np.unique(view.current[1])) == {-1, 1}
    view.set_removed(0, False)
    assert view.current[0].n == n - sizes[2]
    # instance colours travel in the buffer's last word (RGBA bytes)
    rgba = view.node.buffer[:, 7].copy().view(np.uint8).reshape(-1, 4)
    keep = view.current[1]
    np.testing.assert_array_equal(rgba[keep == 1, :3], np.tile(palette(3)[1], ((keep == 1).sum(), 1)))
    view.set_colour_by_instance(False)
    rgba = view.node.buffer[:, 7].copy().view(np.uint8).reshape(-1, 4)
    assert not (rgba[keep == 1, :3] == palette(3)[1]).all(axis=1).any()


def test_clicking_a_camera_renders_what_is_shown(model, server):  # noqa: F811
    from tracklift.view.splats import GaussianViewer

    view = GaussianViewer(server, load_gaussians(model))
    view.show_view(0)
    full = view.image.image.astype(int)
    assert view.image.visible and full.shape == (48, 64, 3) and full.std() > 5
    view.extract(2)
    view.show_view(0)
    assert (np.abs(view.image.image.astype(int) - full).max(axis=2) > 30).mean() > 0.05  # the other boxes are gone


def test_a_model_without_instances_opens_in_its_own_colours(model, tmp_path, server):  # noqa: F811
    import shutil

    from tracklift.view.splats import GaussianViewer

    bare = tmp_path / "bare"
    shutil.copytree(model, bare)
    (bare / "instances.json").unlink()
    view = GaussianViewer(server, load_gaussians(bare))
    assert view.scene.instances is None and view.node.buffer.shape[0] == view.scene.gaussians.n


def test_view_cli_opens_a_gaussian_model(model, monkeypatch, capsys):
    import tracklift.view.server as server_module
    from tracklift.cli import main

    from .view_helpers import free_port

    monkeypatch.setattr(server_module, "serve_forever", lambda srv: srv.stop())
    assert main(["view", str(model), "--port", str(free_port())]) == 0
    assert f"viewer: {model} loaded in" in capsys.readouterr().out
