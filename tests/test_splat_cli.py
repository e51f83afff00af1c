"""`tracklift splat train/lift/extract/render` end to end on a tiny RGB-D scene, and its bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.fixtures_rgbd import H, W, make_scannet, write_image
from tracklift.cli import main


def smooth_scannet(root: Path, n: int):
    """The ScanNet fixture with its random depth replaced by a slanted plane (random depth is all edges,
    so no pixel would seed a Gaussian)."""
    fx = make_scannet(root, n=n)
    rows = np.linspace(1800, 2200, H, dtype=np.float64)[:, None].repeat(W, 1)
    for files in fx.files.values():
        write_image(files["depth"], rows.astype(np.uint16))
    return fx


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("splat_cli")
    fx = smooth_scannet(root, n=4)
    out = root / "model"
    assert main(["splat", "train", str(fx.root), "--out", str(out), "--iters", "4", "--holdout-every", "4", "--sh-degree", "0", "--voxel", "0.1"]) == 0
    return out


def write_id_png(path: Path, ids: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), ids.astype(np.uint16))


@pytest.fixture(scope="module")
def masks(model) -> Path:
    """Left half id 1, right half id 2 in every view (ids are per view in the format; here they agree)."""
    pytest.importorskip("tracklift.segment2d.precomputed", reason="precomputed masks IO not available yet")
    d = model.parent / "masks"
    ids = np.zeros((H, W), np.uint16)
    ids[:, : W // 2] = 1
    ids[:, W // 2 :] = 2
    for name in ("0", "1", "2", "3"):
        write_id_png(d / f"{name}.png", ids)
    return d


def test_train_writes_model_metrics_and_cameras(model):
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["iterations"] == 4 and metrics["holdout_views"] == 1
    assert np.isfinite(metrics["psnr_holdout"])
    cams = json.loads((model / "cameras.json").read_text())["cameras"]
    assert [c["name"] for c in cams] == ["0", "1", "2", "3"]
    assert [c["holdout"] for c in cams] == [True, False, False, False]
    assert (model / "point_cloud.ply").is_file()


def test_interrupted_training_resumes(tmp_path):
    fx = smooth_scannet(tmp_path, n=3)
    out = tmp_path / "m"
    assert main(["splat", "train", str(fx.root), "--out", str(out), "--iters", "2", "--sh-degree", "0", "--voxel", "0.1"]) == 0
    # The first run stopped at step 2 (its checkpoint); a longer run continues from there.
    assert main(["splat", "train", str(fx.root), "--out", str(out), "--iters", "4", "--sh-degree", "0", "--voxel", "0.1", "--resume"]) == 0
    assert json.loads((out / "metrics.json").read_text())["iterations"] == 4


def test_lift_extract_render(model, masks, tmp_path):
    from tracklift.splat.instances import read_instances
    from tracklift.splat.ply import read_gaussians_ply

    assert main(["splat", "lift", str(model), "--masks", str(masks), "--correct", "--split-prune", "--keep-unresolved"]) == 0
    inst, info = read_instances(model)
    g = read_gaussians_ply(model / info["gaussians"])
    assert inst.instance.shape == (g.n,) and info["views"] == 4
    assert "correction" in info and "split_prune" in info
    assert sorted(p.name for p in (model / "corrected_masks").glob("*.png")) == ["0.png", "1.png", "2.png", "3.png"]
    assert inst.count >= 1

    obj = tmp_path / "obj.ply"
    assert main(["splat", "extract", str(model), "--instance", "0", "--out", str(obj)]) == 0
    assert read_gaussians_ply(obj).n == int((inst.instance == 0).sum())

    pngs = tmp_path / "png"
    assert main(["splat", "render", str(model), "--out", str(pngs), "--instances", "--recolor", "0", "1", "0", "0", "--views", "holdout"]) == 0
    assert sorted(p.name for p in pngs.iterdir()) == ["0.png", "0_instances.png"]
    assert cv2.imread(str(pngs / "0.png")).shape == (H, W, 3)


def test_contrastive_lift(model, masks):
    assert main(["splat", "lift", str(model), "--masks", str(masks), "--method", "contrastive", "--iters", "5"]) == 0
    assert (model / "features.npy").is_file()


def test_masks_of_the_wrong_size(model, masks, tmp_path, capsys):
    for name in ("0", "1"):
        write_id_png(tmp_path / "bad" / f"{name}.png", np.ones((H // 2, W // 2), np.uint16))
    assert main(["splat", "lift", str(model), "--masks", str(tmp_path / "bad")]) == 2
    assert "0.png: masks are 24×32" in capsys.readouterr().err


def test_too_few_mask_views(model, masks, tmp_path, capsys):
    write_id_png(tmp_path / "one" / "0.png", np.ones((H, W), np.uint16))
    assert main(["splat", "lift", str(model), "--masks", str(tmp_path / "one")]) == 2
    assert "at least 2" in capsys.readouterr().err


def _copy_model_with_ply(model: Path, dst: Path, drop: str | None = None, nan: str | None = None) -> Path:
    from plyfile import PlyData, PlyElement

    dst.mkdir()
    (dst / "cameras.json").write_text((model / "cameras.json").read_text())
    vert = PlyData.read(str(model / "point_cloud.ply"))["vertex"].data
    names = [n for n in vert.dtype.names if n != drop]
    data = np.empty(len(vert), dtype=[(n, "f4") for n in names])
    for n in names:
        data[n] = vert[n]
    if nan:
        data[nan][0] = np.nan
    PlyData([PlyElement.describe(data, "vertex")]).write(str(dst / "point_cloud.ply"))
    return dst


@pytest.mark.parametrize("drop, nan, message", [("opacity", None, "missing 3DGS vertex properties opacity"), (None, "x", "NaN")])
def test_bad_ply(model, tmp_path, capsys, drop, nan, message):
    bad = _copy_model_with_ply(model, tmp_path / "bad", drop=drop, nan=nan)
    assert main(["splat", "render", str(bad), "--out", str(tmp_path / "png")]) == 2
    assert message in capsys.readouterr().err


def test_cameras_without_images(tmp_path, capsys):
    frames = [{"file_path": f"images/{i}.png", "transform_matrix": np.eye(4).tolist()} for i in range(2)]
    (tmp_path / "transforms.json").write_text(json.dumps({"fl_x": 50.0, "w": 64, "h": 48, "frames": frames}))
    assert main(["splat", "train", str(tmp_path / "transforms.json"), "--out", str(tmp_path / "m"), "--iters", "1"]) == 2
    assert "missing" in capsys.readouterr().err


def test_missing_inputs(tmp_path, capsys):
    assert main(["splat", "train", str(tmp_path / "nope"), "--out", str(tmp_path / "m")]) == 2
    assert main(["splat", "extract", str(tmp_path), "--instance", "0", "--out", str(tmp_path / "o.ply")]) == 2
    err = capsys.readouterr().err
    assert "no such scene folder" in err and "splat lift" in err
