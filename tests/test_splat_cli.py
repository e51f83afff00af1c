"""`tracklift splat train/lift/extract/render` end to end on a tiny RGB-D scene and on the toy Gaussian
scene, and their bad inputs."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.fixtures_rgbd import H, W, make_scannet, write_image
from tests.splat_toy import render_ids, toy_cameras, toy_gaussians
from tracklift.cli import build_parser, main


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
    assert (
        main(
            [
                "splat",
                "train",
                str(fx.root),
                "--out",
                str(out),
                "--iters",
                "4",
                "--holdout-every",
                "4",
                "--sh-degree",
                "0",
                "--voxel",
                "0.1",
            ]
        )
        == 0
    )
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
    source = json.loads((model / "source.json").read_text())
    scene = (model.parent / "scene0000_00").resolve()
    assert source == {"kind": "rgbd", "path": str(scene), "stride": 1, "max_frames": None}


def _parse_train(*flags: str):
    return build_parser("splat").parse_args(["splat", "train", "SCENE", "--out", "OUT", *flags])


def test_train_flags_keep_the_config_defaults_unless_given(capsys):
    from tracklift.splat.cli import train_config
    from tracklift.splat.train import TrainConfig
    from tracklift.splat.train.init import InitConfig

    assert train_config(_parse_train()) == TrainConfig()
    config = train_config(_parse_train("--iters", "40", "--voxel", "0.1", "--sh-degree", "1"))
    expected = TrainConfig(iterations=40, sh_degree=1, init=InitConfig(voxel=0.1))
    expected = dataclasses.replace(
        expected, densify_until=30
    )  # densification stops at 3/4 of a run shorter than the default schedule
    assert config == expected
    with pytest.raises(SystemExit):
        main(["splat", "train", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert f"optimisation steps (default: {TrainConfig().iterations})" in text
    assert f"seed Gaussians (default: {InitConfig().voxel})" in text


def test_bad_train_flags(tmp_path, capsys):
    fx = smooth_scannet(tmp_path, n=2)
    assert main(["splat", "train", str(fx.root), "--out", str(tmp_path / "m"), "--sh-degree", "5"]) == 2
    assert "invalid TrainConfig" in capsys.readouterr().err


def test_interrupted_training_resumes(tmp_path):
    fx = smooth_scannet(tmp_path, n=3)
    out = tmp_path / "m"
    assert (
        main(["splat", "train", str(fx.root), "--out", str(out), "--iters", "2", "--sh-degree", "0", "--voxel", "0.1"])
        == 0
    )
    # The first run stopped at step 2 (its checkpoint); a longer run continues from there.
    assert (
        main(
            [
                "splat",
                "train",
                str(fx.root),
                "--out",
                str(out),
                "--iters",
                "4",
                "--sh-degree",
                "0",
                "--voxel",
                "0.1",
                "--resume",
            ]
        )
        == 0
    )
    assert json.loads((out / "metrics.json").read_text())["iterations"] == 4


def test_lift_extract_render(model, masks, tmp_path):
    from tracklift.splat.io.instances import read_instances
    from tracklift.splat.io.ply import read_gaussians_ply

    assert (
        main(
            [
                "splat",
                "lift",
                str(model),
                "--masks",
                str(masks),
                "--correct",
                "--split-prune",
                "--keep-unresolved",
                "--split-axes",
                "3",
            ]
        )
        == 0
    )
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
    assert (
        main(
            [
                "splat",
                "render",
                str(model),
                "--out",
                str(pngs),
                "--instances",
                "--recolor",
                "0",
                "1",
                "0",
                "0",
                "--views",
                "holdout",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in pngs.iterdir()) == ["0.png", "0_instances.png"]
    assert cv2.imread(str(pngs / "0.png")).shape == (H, W, 3)


def test_lift_refits_from_the_recorded_source(model, masks):
    from tracklift.splat.io.instances import read_instances
    from tracklift.splat.io.ply import read_gaussians_ply

    assert main(["splat", "lift", str(model), "--masks", str(masks), "--split-prune", "--refit", "2"]) == 0
    inst, info = read_instances(model)
    assert info["refit"]["iterations"] == 2 and info["refit"]["views"] == 3  # view 0 is held out
    assert info["refit"]["source"] == str((model.parent / "scene0000_00").resolve())
    assert np.isfinite([info["refit"]["psnr_before"], info["refit"]["psnr_after"]]).all()
    assert read_gaussians_ply(model / info["gaussians"]).n == info["split_prune"]["after"] == len(inst.instance)


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


@pytest.mark.parametrize(
    "drop, nan, message", [("opacity", None, "missing 3DGS vertex properties opacity"), (None, "x", "NaN")]
)
def test_bad_ply(model, tmp_path, capsys, drop, nan, message):
    bad = _copy_model_with_ply(model, tmp_path / "bad", drop=drop, nan=nan)
    assert main(["splat", "render", str(bad), "--out", str(tmp_path / "png")]) == 2
    assert message in capsys.readouterr().err


def test_cameras_without_images(tmp_path, capsys):
    frames = [{"file_path": f"images/{i}.png", "transform_matrix": np.eye(4).tolist()} for i in range(2)]
    (tmp_path / "transforms.json").write_text(json.dumps({"fl_x": 50.0, "w": 64, "h": 48, "frames": frames}))
    assert (
        main(["splat", "train", str(tmp_path / "transforms.json"), "--out", str(tmp_path / "m"), "--iters", "1"]) == 2
    )
    assert "missing" in capsys.readouterr().err


def test_missing_inputs(tmp_path, capsys):
    assert main(["splat", "train", str(tmp_path / "nope"), "--out", str(tmp_path / "m")]) == 2
    assert main(["splat", "extract", str(tmp_path), "--instance", "0", "--out", str(tmp_path / "o.ply")]) == 2
    err = capsys.readouterr().err
    assert "no such scene folder" in err and "splat lift" in err


_GL_TO_CV = np.diag([1.0, -1.0, -1.0, 1.0])  # transforms.json poses use OpenGL camera axes


def write_toy_model(root: Path, n_views: int = 4) -> tuple[Path, Path]:
    """A model folder of the toy scene, as if trained elsewhere (its exact Gaussians as point_cloud.ply,
    cameras.json, no source.json), and a transforms.json dataset of its renders. Views are named like
    posed images ("images/0.png"). Returns (model folder, transforms.json)."""
    from tracklift.splat.io.camera_file import write_cameras
    from tracklift.splat.io.cameras import read_posed_images
    from tracklift.splat.io.ply import write_gaussians_ply
    from tracklift.splat.render.rasterizer import rasterize

    g, _ = toy_gaussians()
    cams = toy_cameras(n_views)
    frames = []
    for i, cam in enumerate(cams):
        with torch.no_grad():
            rgb = (rasterize(g, cam).color.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
        (root / "data" / "images").mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(root / "data" / "images" / f"{i}.png"), rgb[..., ::-1])
        frames.append({"file_path": f"images/{i}.png", "transform_matrix": (cam.pose @ _GL_TO_CV).tolist()})
    K, cam = cams[0].K, cams[0]
    meta = {"fl_x": K[0, 0], "fl_y": K[1, 1], "cx": K[0, 2] + 0.5, "cy": K[1, 2] + 0.5, "w": cam.width, "h": cam.height}
    transforms = root / "data" / "transforms.json"
    transforms.write_text(json.dumps({**meta, "frames": frames}))
    model = root / "model"
    write_gaussians_ply(model / "point_cloud.ply", g)
    posed = [p.camera for p in read_posed_images(transforms)[0]]
    assert np.allclose(posed[1].pose, cams[1].pose) and np.allclose(posed[1].K, cams[1].K)
    write_cameras(model / "cameras.json", posed, [False] * n_views)
    return model, transforms


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(model folder, transforms.json, masks folder with each view's exact object ids)."""
    root = tmp_path_factory.mktemp("splat_toy")
    model, transforms = write_toy_model(root)
    g, obj = toy_gaussians()
    for i, cam in enumerate(toy_cameras(4)):
        write_id_png(root / "masks" / f"{i}.png", render_ids(g, obj, cam, 3) + 1)
    return model, transforms, root / "masks"


def test_refit_after_split_prune(toy):
    from tracklift.splat.io.instances import read_instances
    from tracklift.splat.io.ply import read_gaussians_ply

    model, transforms, masks = toy
    lift = ["splat", "lift", str(model), "--masks", str(masks), "--split-prune"]
    assert main(lift) == 0
    plain = read_gaussians_ply(model / "segmented.ply")
    assert main([*lift, "--refit", "3", "--images", str(transforms)]) == 0
    inst, info = read_instances(model)
    refitted = read_gaussians_ply(model / info["gaussians"])
    assert refitted.n == plain.n == len(inst.instance)  # refitting does not densify
    assert not torch.allclose(refitted.sh, plain.sh) and not torch.allclose(refitted.means, plain.means)
    assert info["refit"]["iterations"] == 3 and info["refit"]["views"] == 4
    assert info["refit"]["source"] == str(transforms.resolve())
    assert inst.count == 3 and (inst.instance >= 0).mean() > 0.5


def test_refit_bad_input(toy, tmp_path, capsys):
    model, transforms, masks = toy
    lift = ["splat", "lift", str(model), "--masks", str(masks)]
    assert main([*lift, "--refit", "3"]) == 2
    assert "needs --split-prune" in capsys.readouterr().err
    assert main([*lift, "--split-prune", "--refit", "3"]) == 2  # trained elsewhere: no source.json
    err = capsys.readouterr().err
    assert "source.json: missing" in err and "--images" in err
    data = tmp_path / "data"
    shutil.copytree(transforms.parent, data)
    (data / "images" / "2.png").unlink()
    assert main([*lift, "--split-prune", "--refit", "3", "--images", str(data / "transforms.json")]) == 2
    err = capsys.readouterr().err
    assert "'images/2.png'" in err and str(data / "images" / "2.png") in err
    held = shutil.copytree(model, tmp_path / "held")  # views 0 and 1 held out, and only they have masks
    cams = json.loads((held / "cameras.json").read_text())
    for entry in cams["cameras"][:2]:
        entry["holdout"] = True
    (held / "cameras.json").write_text(json.dumps(cams))
    (tmp_path / "held_masks").mkdir()
    for name in ("0.png", "1.png"):
        shutil.copy(masks / name, tmp_path / "held_masks" / name)
    args = ["--masks", str(tmp_path / "held_masks"), "--split-prune", "--refit", "3", "--images", str(transforms)]
    assert main(["splat", "lift", str(held), *args]) == 2
    assert "masks only for held-out views" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, stem",
    [
        ("0", "0"),
        ("images/0.png", "0"),
        ("frame_001.JPG", "frame_001"),
        ("images/r_0", "r_0"),
        ("1305031102.175304", "1305031102.175304"),
    ],
)
def test_view_stem(name, stem):
    from tracklift.splat.io.model import view_stem

    assert view_stem(name) == stem


def test_building_the_splat_parser_does_not_import_torch():
    import subprocess
    import sys

    # A flag without its value: argparse fails after building every splat subcommand, before any runs.
    code = """
import sys
from tracklift.cli import main
try:
    main(["splat", "train", "x", "--out", "y", "--sh-degree"])
except SystemExit:
    print("torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_source_file(model, tmp_path):
    from dataclasses import replace

    from tracklift.splat.io.camera_file import read_cameras
    from tracklift.splat.io.source import describe_source, load_view_images, read_source, write_source

    source = read_source(model)
    cams, _ = read_cameras(model / "cameras.json")
    images = load_view_images(source, cams[1:3])
    assert [im.shape for im in images] == [(H, W, 3)] * 2 and images[0].dtype == np.uint8
    with pytest.raises(ValueError, match="has no view '99'"):
        load_view_images(source, [replace(cams[0], name="99")])
    with pytest.raises(ValueError, match="view '1' is 64x48, its camera is 32x24"):
        load_view_images(source, [replace(cams[1], width=32, height=24)])
    posed = tmp_path / "transforms.json"
    posed.write_text("{}")
    assert describe_source(posed) == {"kind": "posed_images", "path": str(posed.resolve())}
    write_source(tmp_path, {"kind": "rgbd", "path": str(tmp_path / "gone"), "stride": 1, "max_frames": None})
    with pytest.raises(FileNotFoundError, match=r"gone \(the dataset named in .*source.json\): missing; pass --images"):
        read_source(tmp_path)
    (tmp_path / "source.json").write_text('{"kind": "video"}')
    with pytest.raises(ValueError, match="source.json: expected"):
        read_source(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such scene folder or dataset"):
        describe_source(tmp_path / "nope")


def test_train_at_half_resolution_end_to_end(tmp_path):
    fx = smooth_scannet(tmp_path, n=3)
    out = tmp_path / "m"
    flags = ["--iters", "2", "--sh-degree", "0", "--voxel", "0.1", "--holdout-every", "3", "-r", "2"]
    assert main(["splat", "train", str(fx.root), "--out", str(out), *flags]) == 0
    cams = json.loads((out / "cameras.json").read_text())["cameras"]
    assert [(c["width"], c["height"]) for c in cams] == [(W // 2, H // 2)] * 3
    K = np.array(cams[0]["K"])
    from tracklift.data.scene import open_scene

    frame = next(iter(open_scene(fx.root).stream))
    expected = np.array(frame.K, np.float64)
    expected[:2, :2] *= 0.5
    expected[:2, 2] = 0.5 * (expected[:2, 2] + 0.5) - 0.5
    np.testing.assert_allclose(K, expected)
    assert cams[0]["holdout"] and json.loads((out / "metrics.json").read_text())["holdout_views"] == 1
    renders = tmp_path / "renders"
    assert main(["splat", "render", str(out), "--out", str(renders)]) == 0
    for c in cams:
        assert cv2.imread(str(renders / f"{c['name']}.png")).shape == (H // 2, W // 2, 3)


def test_holdout_flags_refused_or_written_as_valid_json(tmp_path, capsys):
    fx = smooth_scannet(tmp_path, n=2)
    base = ["splat", "train", str(fx.root), "--iters", "1", "--sh-degree", "0", "--voxel", "0.1"]
    for value in ("1", "-1"):
        assert main([*base, "--out", str(tmp_path / value), "--holdout-every", value]) == 2
        err = capsys.readouterr().err
        assert "holdout_every" in err and len(err.strip().splitlines()) == 1
    assert main([*base, "--out", str(tmp_path / "none"), "--holdout-every", "0"]) == 0
    text = (tmp_path / "none" / "metrics.json").read_text()
    assert "NaN" not in text and json.loads(text)["psnr_holdout"] is None


def test_train_from_malformed_transforms_json_is_one_line(tmp_path, capsys):
    path = tmp_path / "transforms.json"
    for frames in (
        [{"file_path": 7, "transform_matrix": np.eye(4).tolist()}],
        [{"file_path": "a", "transform_matrix": "x"}],
        [3],
    ):
        path.write_text(json.dumps({"fl_x": 20.0, "w": W, "h": H, "frames": frames}))
        assert main(["splat", "train", str(path), "--out", str(tmp_path / "m"), "--iters", "1"]) == 2
        err = capsys.readouterr().err
        assert "transforms.json frame 0" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_resume_from_a_corrupt_checkpoint_is_one_line(tmp_path, capsys):
    fx = smooth_scannet(tmp_path, n=2)
    out = tmp_path / "m"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"\x80\x04garbage")
    flags = ["--iters", "1", "--sh-degree", "0", "--voxel", "0.1", "--resume"]
    assert main(["splat", "train", str(fx.root), "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{out / 'checkpoint.pt'}: not a readable training checkpoint" in err


def test_render_out_naming_a_file_is_a_clean_error(model, tmp_path, capsys):
    target = tmp_path / "file.png"
    target.write_bytes(b"x")
    assert main(["splat", "render", str(model), "--out", str(target)]) == 2
    assert f"{target}: exists and is not a folder" in capsys.readouterr().err
