"""Coarse/fine hierarchy: `tracklift splat hierarchy` on the toy scene with nested masks (an object and its
part), its files, levels in `splat extract` / `splat render`, and bad input."""

from __future__ import annotations

import io
import json
import shutil
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.splat_toy import render_ids, toy_cameras, toy_gaussians
from tests.test_splat_cli import write_id_png, write_toy_model
from tracklift.cli import main
from tracklift.core.masks import FrameMasks
from tracklift.segment2d.precomputed import write_masks
from tracklift.splat.io.hierarchy_file import read_hierarchy, write_hierarchy
from tracklift.splat.io.instances import Instances
from tracklift.splat.trace3d.hierarchy import children_of, level_masks

N_VIEWS = 4
PART = 3  # toy object 0's outer end (x < -0.5 m) gets this id: a part nested in object 0


def part_ids() -> np.ndarray:
    """[N] int64 per toy Gaussian: its object 0..2, or PART for the outer end of object 0."""
    g, obj = toy_gaussians()
    return np.where((obj == 0) & (g.means[:, 0].numpy() < -0.5), PART, obj)


@pytest.fixture(scope="module")
def nested(tmp_path_factory) -> tuple[Path, Path]:
    """(toy model folder, masks folder): per view overlapping masks object 0, its end, object 1, object 2."""
    root = tmp_path_factory.mktemp("hierarchy")
    model, _ = write_toy_model(root, N_VIEWS)
    g, _ = toy_gaussians()
    ids = part_ids()
    for i, cam in enumerate(toy_cameras(N_VIEWS)):
        m = render_ids(g, ids, cam, 4)
        masks = np.stack([(m == 0) | (m == PART), m == PART, m == 1, m == 2])
        write_masks(root / "masks", str(i), FrameMasks(masks, ["box", "end", "box", "box"]), format="npz")
    return model, root / "masks"


@pytest.fixture(scope="module")
def lifted(nested, tmp_path_factory) -> tuple[Path, Path, dict]:
    """The nested toy model after `splat hierarchy --out`: (model folder, PNG folder, printed summary)."""
    model, masks = nested
    out = tmp_path_factory.mktemp("hierarchy_png")
    capture = io.StringIO()
    with redirect_stdout(capture):
        assert main(["splat", "hierarchy", str(model), "--masks", str(masks), "--out", str(out)]) == 0
    return model, out, json.loads(capture.getvalue())


def main_instance(inst: Instances, select: np.ndarray) -> int:
    return Counter(inst.instance[select].tolist()).most_common(1)[0][0]


def test_parts_nest_in_their_objects(lifted):
    model, out, summary = lifted
    fine, coarse, parent, info = read_hierarchy(model)
    assert fine.count == 4 and coarse.count == 3
    assert summary["fine"]["instances"] == 4 and summary["coarse"]["instances"] == 3 and summary["views"] == N_VIEWS
    # every fine instance's parent is the coarse instance holding (nearly) all of its Gaussians
    for f in range(fine.count):
        inside = coarse.instance[fine.instance == f]
        assert (inside == parent[f]).mean() > 0.9
    ids = part_ids()
    fine_of = [main_instance(fine, ids == k) for k in range(4)]
    coarse_of = [main_instance(coarse, ids == k) for k in range(3)]
    assert len(set(fine_of)) == 4 and len(set(coarse_of)) == 3
    assert parent[fine_of[PART]] == parent[fine_of[0]] == coarse_of[0]
    assert [parent[fine_of[k]] for k in (1, 2)] == coarse_of[1:]
    assert summary["children"][str(coarse_of[0])] == sorted([fine_of[0], fine_of[PART]])
    assert summary["orphans"] == []
    assert fine.labels[fine_of[PART]] == "end" and coarse.labels[coarse_of[0]] == "box"
    assert info["gaussians"] == "point_cloud.ply" and info["mode"] == "alpha"


def test_instance_map_pngs(lifted):
    _, out, _ = lifted
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{i}_{level}.png" for i in range(N_VIEWS) for level in ("coarse", "fine"))
    fine_png, coarse_png = (cv2.imread(str(out / f"0_{level}.png")) for level in ("fine", "coarse"))
    assert fine_png.shape == (48, 64, 3)
    # the part is a colour of its own in the fine map only
    assert len(np.unique(fine_png.reshape(-1, 3), axis=0)) == len(np.unique(coarse_png.reshape(-1, 3), axis=0)) + 1


def test_levels_in_extract_and_render(lifted, tmp_path):
    from tracklift.splat.io.ply import read_gaussians_ply

    model, _, _ = lifted
    fine, coarse, _, _ = read_hierarchy(model)
    for level, inst in (("fine", fine), ("coarse", coarse)):
        obj = tmp_path / f"{level}.ply"
        assert main(["splat", "extract", str(model), "--level", level, "--instance", "0", "--out", str(obj)]) == 0
        assert read_gaussians_ply(obj).n == int((inst.instance == 0).sum())
    out = tmp_path / "png"
    assert (
        main(["splat", "render", str(model), "--out", str(out), "--instances", "--level", "fine", "--remove", "0"]) == 0
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{i}{s}.png" for i in range(N_VIEWS) for s in ("", "_instances")
    )


def test_correct_each_level(nested, tmp_path):
    model, masks = nested
    copy = shutil.copytree(model, tmp_path / "model")  # the other tests read the uncorrected hierarchy
    assert main(["splat", "hierarchy", str(copy), "--masks", str(masks), "--correct"]) == 0
    fine, coarse, parent, info = read_hierarchy(copy)
    assert set(info["correction"]) == {"fine", "coarse"}
    assert fine.count > coarse.count and (parent >= 0).all()


def test_bad_input(nested, tmp_path, capsys):
    model, _ = nested
    for name in ("0", "1"):
        write_id_png(tmp_path / "small" / f"{name}.png", np.ones((24, 32), np.uint16))
    assert main(["splat", "hierarchy", str(model), "--masks", str(tmp_path / "small")]) == 2
    assert "0.png: masks are 24×32" in capsys.readouterr().err
    bare, _ = write_toy_model(tmp_path / "bare", N_VIEWS)
    assert (
        main(["splat", "extract", str(bare), "--level", "coarse", "--instance", "0", "--out", str(tmp_path / "o.ply")])
        == 2
    )
    assert main(["splat", "render", str(bare), "--out", str(tmp_path / "png"), "--level", "fine"]) == 2
    err = capsys.readouterr().err
    assert err.count("hierarchy.json: missing; run `tracklift splat hierarchy") == 2


def test_hierarchy_files_round_trip(tmp_path):
    fine = Instances(np.array([0, 1, 1, 2, -1]), ["lid", None, "leg"], np.array([2, 3, 2]))
    coarse = Instances(np.array([0, 0, 0, 1, -1]), ["box", None])
    write_hierarchy(tmp_path, fine, coarse, np.array([0, 0, 1]), "point_cloud.ply", views=3)
    f, c, parent, info = read_hierarchy(tmp_path)
    assert (
        f.instance.tolist() == [0, 1, 1, 2, -1] and f.labels == ["lid", None, "leg"] and f.views.tolist() == [2, 3, 2]
    )
    assert c.instance.tolist() == [0, 0, 0, 1, -1] and c.labels == ["box", None]
    assert parent.tolist() == [0, 0, 1] and info["views"] == 3 and info["gaussians"] == "point_cloud.ply"
    # a level file of another run (another Gaussian count) is caught
    from tracklift.splat.io.instances import write_instances

    write_instances(tmp_path, Instances(np.array([0, 0, 1])), "point_cloud.ply", stem="instances_coarse")
    with pytest.raises(ValueError, match="hierarchy.json: fine ids cover 5 Gaussians, coarse ids 3"):
        read_hierarchy(tmp_path)
    with pytest.raises(ValueError, match="parent must have one entry per fine instance"):
        write_hierarchy(tmp_path, fine, coarse, np.array([0, 0]), "point_cloud.ply")
    with pytest.raises(ValueError, match="parent ids must be in -1..1"):
        write_hierarchy(tmp_path, fine, coarse, np.array([0, 0, 2]), "point_cloud.ply")
    (tmp_path / "instances_fine.npy").unlink()
    with pytest.raises(FileNotFoundError, match="instances_fine.npy: missing, .*hierarchy.json needs it"):
        read_hierarchy(tmp_path)
    (tmp_path / "hierarchy.json").write_text("{")
    with pytest.raises(ValueError, match="not a hierarchy file"):
        read_hierarchy(tmp_path)


def test_level_masks_exact():
    big = np.zeros((2, 4), bool)
    big[:, :3] = True
    small = np.zeros((2, 4), bool)
    small[:, :1] = True
    same = small.copy()  # painted after `small` (same size), so `small` wins no pixel in either painting
    fine, coarse = level_masks(
        FrameMasks(np.stack([big, small, same]), ["table", "leg", None], np.array([0.9, 0.8, 0.7]))
    )
    assert fine.labels == ["table", None] and fine.scores.tolist() == pytest.approx([0.9, 0.7])
    assert (
        fine.masks[0].astype(int).tolist() == [[0, 1, 1, 0]] * 2
        and fine.masks[1].astype(int).tolist() == [[1, 0, 0, 0]] * 2
    )
    assert coarse.labels == ["table"] and coarse.masks[0].tolist() == big.tolist()
    empty_fine, empty_coarse = level_masks(FrameMasks.empty(2, 4))
    assert len(empty_fine) == len(empty_coarse) == 0 and empty_fine.shape == (2, 4)


def test_children_of():
    assert children_of(np.array([1, -1, 1, 0]), 3) == [[3], [0, 2], []]
    with pytest.raises(ValueError, match="parent must be"):
        children_of(np.array([0, 3]), 3)
