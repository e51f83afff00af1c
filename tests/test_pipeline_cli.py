"""`tracklift segment` end to end on a tiny ScanNet-layout scene written from the box world."""

import json
import shutil

import cv2
import numpy as np
import pytest

from tracklift.cli import main
from tracklift.eval import evaluate, read_gt_dir, read_predictions
from tracklift.io.ply import Mesh, write_ply
from tracklift.vocab import load_vocabulary

from .test_pipeline_mapper import K, scan, surface_points_and_gt


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """scene folder (color/depth/pose/intrinsic + mesh + gt/), masks folder; frame 5 has a NaN pose."""
    root = tmp_path_factory.mktemp("scenes") / "boxes"
    masks_dir = root.parent / "masks"
    for d in ("color", "depth", "pose", "intrinsic", "gt"):
        (root / d).mkdir(parents=True)
    masks_dir.mkdir()
    frames = scan()
    K4 = np.eye(4)
    K4[:3, :3] = K
    np.savetxt(root / "intrinsic" / "intrinsic_depth.txt", K4)
    for frame, masks, _ in frames:
        cv2.imwrite(str(root / "color" / f"{frame.name}.jpg"), cv2.cvtColor(frame.color, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / "depth" / f"{frame.name}.png"), np.round(frame.depth * 1000).astype(np.uint16))
        pose = np.full((4, 4), np.nan) if frame.name == "5" else frame.pose
        np.savetxt(root / "pose" / f"{frame.name}.txt", pose)
        ids = np.zeros(frame.depth.shape, np.uint16)
        meta = {}
        for k, (m, label) in enumerate(zip(masks.masks, masks.labels), 1):
            ids[m] = k
            meta[str(k)] = {"label": label, "score": 0.9}
        cv2.imwrite(str(masks_dir / f"{frame.name}.png"), ids)
        (masks_dir / f"{frame.name}.json").write_text(json.dumps(meta))
    points, gt = surface_points_and_gt(frames)
    write_ply(root / "boxes_vh_clean_2.ply", Mesh(points))
    np.savetxt(root / "gt" / "boxes.txt", gt, fmt="%d")
    return root, masks_dir


def test_segment_cli_writes_everything_and_scores(scene, tmp_path, capsys):
    root, masks_dir = scene
    out = tmp_path / "out"
    code = main(
        [
            "segment",
            str(root),
            "--out",
            str(out),
            "--masks",
            str(masks_dir),
            "--voxel",
            "0.05",
            "--pixel-stride",
            "1",
            "--features",
            "handcrafted",
            "--pictures",
            "2",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames_unreadable"] == 1 and summary["frames"] == 11 and summary["instances"] >= 3
    for name in (
        "boxes.txt",
        "boxes.json",
        "boxes_instances.npz",
        "boxes_instances.ply",
        "boxes_frames.png",
        "boxes_topdown.png",
    ):
        assert (out / name).is_file(), name
    doc = json.loads((out / "boxes.json").read_text())
    assert doc["reference"] == "mesh" and doc["scene_dir"] == str(root.resolve())
    vocab = load_vocabulary("scannet200")
    result = evaluate(read_predictions(out, vocab), read_gt_dir(root / "gt"), vocab, agnostic=True)
    assert result["all"]["ap50"] >= 0.9


def test_segment_cli_timings_table_and_json(scene, tmp_path, capsys):
    root, masks_dir = scene
    out = tmp_path / "out"
    code = main(
        [
            "segment",
            str(root),
            "--out",
            str(out),
            "--masks",
            str(masks_dir),
            "--voxel",
            "0.05",
            "--pixel-stride",
            "1",
            "--pictures",
            "0",
            "--timings",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    stages = ["read", "segment", "wait", "lift", "features", "track", "merge", "name", "transfer", "write"]
    assert list(summary["timings"]) == stages and all(s >= 0 for s in summary["timings"].values())
    err = captured.err.splitlines()
    table = err[next(i for i, row in enumerate(err) if row.split()[:2] == ["stage", "seconds"]) :]
    assert [row.split()[0] for row in table[2:]] == stages + ["total"]
    total = float(table[-1].split()[1])
    assert total == pytest.approx(sum(summary["timings"].values()), abs=0.01)
    assert "timings" not in json.loads((out / "boxes.json").read_text())["run"]  # scene files stay reproducible
    written = json.loads((out / "boxes_timings.json").read_text())
    assert list(written["seconds"]) == stages[:-1]  # the scene files are written last: every stage before them


def test_segment_cli_fails_when_no_frame_can_be_used(scene, tmp_path, capsys):
    """A masks folder of another scene (no file matches a frame): one summary line, exit 2, nothing written."""
    root, _ = scene
    other = tmp_path / "other_masks"
    other.mkdir()
    (other / "frame-000000.png").write_bytes(b"")
    out = tmp_path / "out"
    code = main(["segment", str(root), "--out", str(out), "--masks", str(other), "--voxel", "0.05"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == (
        "tracklift segment: error: scene boxes: not one 2D mask in 11 frames (are the masks named "
        "after this scene's frames, e.g. '0'.png?); nothing written"
    )
    assert not out.exists() or not any(out.iterdir())


def test_segment_cli_fails_when_most_frames_are_lost(scene, tmp_path, capsys):
    root, masks_dir = scene
    broken = tmp_path / "boxes"
    shutil.copytree(root, broken)
    for name in range(7):  # 7 of 12 frames unreadable (frame 5 has a NaN pose too) > 0.5
        (broken / "depth" / f"{name}.png").write_bytes(b"not a png")
    args = ["segment", str(broken), "--out", str(tmp_path / "out"), "--masks", str(masks_dir), "--voxel", "0.05"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(
        "tracklift segment: error: scene boxes: 7 of 12 frames could not be used (7 unreadable, "
        "0 without masks), e.g. 0: "
    )
    assert main(args + ["--max-lost", "0.6"]) == 0


def test_segment_cli_rejects_a_mesh_in_another_frame(scene, tmp_path, capsys):
    root, masks_dir = scene
    from tracklift.io.ply import read_ply

    mesh = read_ply(root / "boxes_vh_clean_2.ply")
    moved = tmp_path / "moved.ply"
    write_ply(moved, Mesh(mesh.vertices + np.array([5.0, 0.0, 0.0], np.float32)))
    code = main(
        [
            "segment",
            str(root),
            "--out",
            str(tmp_path / "o"),
            "--masks",
            str(masks_dir),
            "--voxel",
            "0.05",
            "--mesh",
            str(moved),
            "--pictures",
            "0",
            "--features",
            "none",
            "--mode",
            "spatial",
        ]
    )
    assert code == 2
    assert "another coordinate frame" in capsys.readouterr().err


def test_segment_cli_bad_arguments(scene, tmp_path, capsys):
    root, masks_dir = scene
    assert main(["segment", str(root), "--out", str(tmp_path), "--masks", str(tmp_path / "nope")]) == 2
    assert "no such masks folder" in capsys.readouterr().err
    assert main(["segment", str(root), "--out", str(tmp_path), "--stride", "0"]) == 2
    assert main(["segment", str(root), "--out", str(tmp_path), "--masks", str(masks_dir), "--trace-budget", "0"]) == 2
    assert "TrackerConfig.trace_budget must be ≥ 1, got 0" in capsys.readouterr().err
    assert main(["segment", str(tmp_path / "missing"), "--out", str(tmp_path), "--masks", str(masks_dir)]) == 2


def test_segment_cli_geo3d_needs_no_masks_and_finds_the_boxes(scene, tmp_path, capsys):
    root, _ = scene
    out = tmp_path / "geo3d"
    code = main(
        [
            "segment",
            str(root),
            "--out",
            str(out),
            "--segmenter",
            "geo3d",
            "--voxel",
            "0.05",
            "--pixel-stride",
            "1",
            "--classifier",
            "none",
            "--pictures",
            "1",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 11 and summary["structural_planes"] >= 1 and summary["instances"] >= 3
    for name in ("boxes.txt", "boxes.json", "boxes_instances.npz", "boxes_instances.ply", "boxes_frames.png"):
        assert (out / name).is_file(), name
    doc = json.loads((out / "boxes.json").read_text())
    assert doc["reference"] == "mesh" and all(i["views"] >= 1 for i in doc["instances"])
    vocab = load_vocabulary("scannet200")
    result = evaluate(read_predictions(out, vocab), read_gt_dir(root / "gt"), vocab, agnostic=True)
    assert result["all"]["ap50"] >= 0.9


def test_segment_cli_geo3d_rejects_unknown_options(scene, tmp_path, capsys):
    root, _ = scene
    assert main(["segment", str(root), "--out", str(tmp_path), "--segmenter", "geo3d:bogus=1"]) == 2
    assert "bogus" in capsys.readouterr().err


@pytest.mark.parametrize("segmenter", ["precomputed", "rgbd"])
def test_segment_outputs_do_not_depend_on_the_reading_workers(scene, tmp_path, segmenter, capsys):
    root, masks_dir = scene
    outputs = {}
    for workers in (1, 3):
        out = tmp_path / f"out{workers}"
        args = ["segment", str(root), "--segmenter", segmenter, "--out", str(out), "--read-threads", str(workers)]
        code = main(args + (["--masks", str(masks_dir)] if segmenter == "precomputed" else []))
        assert code == 0, capsys.readouterr().err
        files = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        outputs[workers] = {p: b for p, b in files.items() if not p.name.endswith("_timings.json")}  # wall seconds
    assert len(outputs[1]) > 3 and outputs[1] == outputs[3]
    assert main(["segment", str(root), "--out", str(tmp_path / "x"), "--read-threads", "0"]) == 2
    assert "--read-threads must be in [1, 64]" in capsys.readouterr().err
