"""Paths read from data files never escape their folder, reader by reader (`tracklift.io.paths.contained_path`):
each reader is given a name that climbs out with `..`, an absolute path, and a symlink inside the folder
that points out, where a valid file waits outside, and refuses each with one line naming the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures_rgbd import make_tum
from tests.splat_toy import toy_cameras
from tests.test_eval_box_files import write_outputs
from tests.test_eval_io import SCANNET200, mask, write_index
from tests.test_splat_io_cameras import _poses, _write_colmap_text
from tracklift.eval.idfile import mask_to_bytes

ESCAPES = ("parent", "absolute", "symlink")
REFUSED = r"points outside|must be a path relative"


def escaping(folder: Path, escape: str, outside: Path, inside: str = "") -> str:
    """A name, relative to `folder`, for the file `outside` (a valid file beside `folder`): `inside/../../…`,
    its absolute path, or a symlink `inside/link<suffix>` made in `folder / inside`."""
    if escape == "parent":
        up = [".."] * (len(Path(inside).parts) + 1)
        return str(Path(inside, *up, outside.relative_to(folder.parent)))
    if escape == "absolute":
        return str(outside)
    link = folder / inside / f"link{outside.suffix}"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    return str(Path(inside) / link.name)


def outside_copy(tmp_path: Path, source: Path | bytes, name: str) -> Path:
    """A valid file outside every data folder of the test (beside them, so `..` reaches it)."""
    path = tmp_path / "outside" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, bytes):
        path.write_bytes(source)
    else:
        shutil.copyfile(source, path)
    return path


def folder_and_name(tmp_path: Path, folder: str, escape: str, content: bytes, outside: str) -> tuple[Path, str]:
    """A new data folder `tmp_path / folder` and an escaping name in it for a file `outside` holding `content`."""
    root = tmp_path / folder
    root.mkdir()
    return root, escaping(root, escape, outside_copy(tmp_path, content, outside))


@pytest.mark.parametrize("escape", ESCAPES)
def test_tum_lists_skip_the_frame(tmp_path, escape):
    from tracklift.data.scene import open_scene

    fx = make_tum(tmp_path, n=4)
    root = fx.root
    lines = (root / "rgb.txt").read_text().splitlines()
    data = [k for k, line in enumerate(lines) if line and not line.startswith("#")]
    stamp, image = lines[data[1]].split()
    outside = outside_copy(root.parent, root / image, "color.png")
    lines[data[1]] = f"{stamp} {escaping(root, escape, outside)}"
    (root / "rgb.txt").write_text("\n".join(lines) + "\n")
    stream = open_scene(root).stream
    assert len(list(stream)) == 3 and len(stream.skipped) == 1
    assert "rgb.txt: image" in stream.skipped[0][1]
    assert "points outside" in stream.skipped[0][1] or "must be a path relative" in stream.skipped[0][1]


@pytest.mark.parametrize("escape", ESCAPES)
def test_prediction_index_mask_files(tmp_path, escape):
    from tracklift.eval import read_predictions

    pred = tmp_path / "pred"
    outside = outside_copy(tmp_path, mask_to_bytes(mask(0, 200)), "s_1.txt")
    bad = escaping(pred, escape, outside, "pred_mask")
    write_index(pred, "s", ["pred_mask/s_0.txt 2 0.9", f"{bad} 2 0.5"], {"pred_mask/s_0.txt": mask(0, 200)})
    with pytest.raises(ValueError, match=rf"s\.txt line 2: mask file .*({REFUSED})"):
        read_predictions(pred, SCANNET200)


@pytest.mark.parametrize("field", ["mask_file", "instances_npz"])
@pytest.mark.parametrize("escape", ESCAPES)
def test_segment_json_fields_read_by_the_box_evaluator(tmp_path, escape, field):
    from tracklift.eval.box_pred import read_detections

    out = tmp_path / "out"
    out.mkdir()
    points = np.zeros((4, 3))
    write_outputs(out, "s", points, [(np.array([1, 1, 0, 0], bool), "chair", 0.9)])
    document = json.loads((out / "s.json").read_text())
    source = out / ("pred_mask/s_0.txt" if field == "mask_file" else "s_instances.npz")
    bad = escaping(out, escape, outside_copy(tmp_path, source, source.name))
    if field == "mask_file":
        document["instances"][0]["mask_file"] = bad
    else:
        document["instances_npz"] = bad
    (out / "s.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match=rf"s\.json.*'{field}' .*({REFUSED})"):
        read_detections(out, "s")


@pytest.mark.parametrize("escape", ESCAPES)
def test_transforms_json_file_paths(tmp_path, escape):
    from tracklift.splat.io.cameras import read_transforms_json

    folder, bad = folder_and_name(tmp_path, "data", escape, b"not read", "view.png")
    path = folder / "transforms.json"
    meta = {"fl_x": 20.0, "fl_y": 20.0, "cx": 12.0, "cy": 8.0, "w": 24, "h": 16}
    frames = [{"file_path": name, "transform_matrix": np.eye(4).tolist()} for name in ("images/0.png", "./images/1")]
    path.write_text(json.dumps({**meta, "frames": frames}))
    assert [p.image_path for p in read_transforms_json(path)] == [
        (folder / f"images/{i}.png").resolve() for i in (0, 1)
    ]
    frames[1]["file_path"] = bad
    path.write_text(json.dumps({**meta, "frames": frames}))
    with pytest.raises(ValueError, match=rf"transforms\.json frame 1: 'file_path' .*({REFUSED})"):
        read_transforms_json(path)


@pytest.mark.parametrize("escape", ESCAPES)
def test_colmap_image_names(tmp_path, escape):
    from tracklift.splat.io.cameras import read_colmap

    model, images = tmp_path / "sparse", tmp_path / "images"
    _write_colmap_text(model, _poses(2))
    bad = escaping(images, escape, outside_copy(tmp_path, b"not read", "view.png"))
    assert [p.image_path for p in read_colmap(model, images)] == [(images / f"img_0{i}.png").resolve() for i in (0, 1)]
    text = (model / "images.txt").read_text()
    (model / "images.txt").write_text(text.replace("img_01.png", bad))
    with pytest.raises(ValueError, match=rf"images\.txt image .*image name .*({REFUSED})"):
        read_colmap(model, images)


def _instances(n: int, ids: list[int], labels: list):
    from tracklift.splat.io.instances import Instances

    return Instances(np.array(ids[:n], np.int32), labels)


@pytest.mark.parametrize("escape", ESCAPES)
def test_lifted_model_gaussians_file(tmp_path, escape):
    from tracklift.splat.io.instances import write_instances
    from tracklift.splat.io.model import FLAT, load_model

    model, bad = folder_and_name(tmp_path, "model", escape, b"ply\n", "gaussians.ply")
    write_instances(model, _instances(3, [0, 0, -1], ["chair"]), bad)
    with pytest.raises(ValueError, match=rf"instances\.json: 'gaussians' .*({REFUSED})"):
        load_model(model, FLAT)


@pytest.mark.parametrize("escape", ESCAPES)
def test_hierarchy_gaussians_file(tmp_path, escape):
    from tracklift.splat.io.hierarchy_file import write_hierarchy
    from tracklift.splat.io.model import load_model

    model, bad = folder_and_name(tmp_path, "model", escape, b"ply\n", "gaussians.ply")
    fine, coarse = _instances(3, [0, 1, -1], [None, None]), _instances(3, [0, 0, -1], [None])
    write_hierarchy(model, fine, coarse, np.array([0, 0]), bad)
    with pytest.raises(ValueError, match=rf"hierarchy\.json: 'gaussians' .*({REFUSED})"):
        load_model(model, "fine")


@pytest.mark.parametrize("escape", ESCAPES)
def test_camera_names_looked_up_as_mask_files(tmp_path, escape):
    import dataclasses

    from tracklift.splat.io.model import read_view_masks

    masks, bad = folder_and_name(tmp_path, "masks", escape, b"not read", "view.png")
    bad = str(Path(bad).with_suffix(""))  # a view name: the file without .png
    cams = [dataclasses.replace(cam, name=name) for cam, name in zip(toy_cameras(2), ["0", bad])]
    with pytest.raises(ValueError, match=rf"masks: view .* \(of cameras\.json\): masks file .*({REFUSED})"):
        read_view_masks(masks, cams)


@pytest.mark.parametrize("escape", ESCAPES)
def test_batch_marker_and_index_names(tmp_path, escape):
    from tracklift.batch.markers import completed, scene_files, state_path

    out, bad = folder_and_name(tmp_path, "out", escape, b"0\n1\n", "mask.txt")
    (out / "s.txt").write_text(f"{bad} 2 0.9\n")
    with pytest.raises(ValueError, match=rf"s\.txt line 1: mask file .*({REFUSED})"):
        scene_files(out, "s")
    marker = state_path(out, "s", "done")
    marker.parent.mkdir()
    marker.write_text(json.dumps({"scene": "s", "settings": "k", "files": {bad: 4}, "result": {}}))
    with pytest.raises(ValueError, match=rf"s\.done 'files': output .*({REFUSED})"):
        completed(out, "s", "k")
