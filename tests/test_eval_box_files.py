"""GT box files, the infos converter, predicted boxes from segment outputs, and `tracklift eval --boxes`."""

import json
import pickle

import numpy as np
import pytest

from tracklift.cli import main
from tracklift.eval.box_gt import (
    SceneBoxes,
    boxes_from_infos,
    parse_scene_boxes,
    read_box_gt,
    read_scene_boxes,
    write_scene_boxes,
)
from tracklift.eval.box_pred import box_label, read_detections
from tracklift.eval.detection_classes import SCANNET18, SCANNET200_NAME, detection_class
from tracklift.eval.idfile import mask_to_bytes
from tracklift.vocab import load_vocabulary

# world -> box frame: a quarter turn about z, then a shift (mmdetection3d's axis_align_matrix has this form)
ALIGN = np.array([[0.0, -1, 0, 1], [1, 0, 0, 2], [0, 0, 1, 0.5], [0, 0, 0, 1]])


def test_gt_file_round_trip_and_defaults(tmp_path):
    gt = SceneBoxes(
        "s1", ("chair", "table"), ALIGN, ("chair", "table"), np.array([[0, 0, 0, 1, 1, 1.0], [2, 0, 0, 1, 2, 3]])
    )
    write_scene_boxes(tmp_path / "s1.json", gt)
    back = read_scene_boxes(tmp_path / "s1.json")
    assert back.scene == "s1" and back.classes == gt.classes and back.labels == gt.labels
    np.testing.assert_array_equal(back.boxes, gt.boxes)
    np.testing.assert_array_equal(back.axis_align, ALIGN)
    bare = parse_scene_boxes({"scene": "s2", "boxes": []}, "bare")
    assert bare.classes == SCANNET18 and bare.boxes.shape == (0, 6) and (bare.axis_align == np.eye(4)).all()
    (tmp_path / "s2.json").write_text(json.dumps({"scene": "s2", "boxes": [], "split": "train"}))
    assert sorted(read_box_gt(tmp_path)) == ["s1", "s2"]


@pytest.mark.parametrize(
    "document, message",
    [
        ({"boxes": []}, "scene"),
        ({"scene": "s", "boxes": [{"label": "lamp", "box": [0, 0, 0, 1, 1, 1]}]}, "box 0 has label 'lamp'"),
        ({"scene": "s", "boxes": [{"label": "chair", "box": [0, 0, 0, 1, 1]}]}, "box 0 must be 6 finite numbers"),
        ({"scene": "s", "boxes": [{"label": "chair", "box": [0, 0, 0, 1, -1, 1]}]}, "sizes ≥ 0"),
        ({"scene": "s", "boxes": [], "axis_align_matrix": [[1, 0], [0, 1]]}, "4×4"),
        ({"scene": "s", "boxes": [], "classes": ["chair", "chair"]}, "distinct"),
    ],
)
def test_bad_gt_files_are_named(tmp_path, document, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=message) as err:
        read_scene_boxes(path)
    assert "bad.json" in str(err.value)


def infos(scenes: dict[str, list[tuple[list[float], int]]]) -> dict:
    """An mmdetection3d ScanNet infos document (v1.1) holding `scenes`: name -> [(bbox_3d, label)]."""
    return {
        "metainfo": {"categories": {n: i for i, n in enumerate(SCANNET18)}, "dataset": "scannet"},
        "data_list": [
            {
                "lidar_points": {"num_pts_feats": 6, "lidar_path": f"{name}.bin"},
                "instances": [{"bbox_3d": b, "bbox_label_3d": lab} for b, lab in boxes],
                "axis_align_matrix": ALIGN.tolist(),
            }
            for name, boxes in scenes.items()
        ],
    }


def test_boxes_from_infos_finds_the_scene_in_the_files_given(tmp_path):
    (tmp_path / "val.pkl").write_bytes(pickle.dumps(infos({"scene0001_00": []}), protocol=2))
    (tmp_path / "train.pkl").write_bytes(
        pickle.dumps(infos({"scene0002_00": [([1, 2, 3, 0.5, 0.5, 1], 17), ([0, 0, 0, 1, 1, 1], 2)]}), protocol=2)
    )
    gt = boxes_from_infos([tmp_path / "val.pkl", tmp_path / "train.pkl"], "scene0002_00")
    assert gt.labels == ("garbagebin", "chair") and gt.classes == SCANNET18
    np.testing.assert_array_equal(gt.boxes[0], [1, 2, 3, 0.5, 0.5, 1])
    np.testing.assert_array_equal(gt.axis_align, ALIGN)
    with pytest.raises(ValueError, match="scene0003_00.*is in none of"):
        boxes_from_infos([tmp_path / "val.pkl"], "scene0003_00")
    assert (
        main(
            [
                "boxes-from-infos",
                str(tmp_path / "val.pkl"),
                str(tmp_path / "train.pkl"),
                "--scene",
                "scene0002_00",
                "--out",
                str(tmp_path / "gt.json"),
            ]
        )
        == 0
    )
    written = read_scene_boxes(tmp_path / "gt.json")
    assert written.labels == gt.labels and np.array_equal(written.boxes, gt.boxes)
    assert (
        main(
            [
                "boxes-from-infos",
                str(tmp_path / "train.pkl"),
                "--scene",
                "scene0002_00",
                "--scene",
                "scene0002_00",
                "--out",
                str(tmp_path / "two.json"),
            ]
        )
        == 2
    )


def test_label_mapping_onto_the_detection_classes():
    assert [
        detection_class(n)
        for n in ("sofa", "Couch", "trash can", "shower curtain", "kitchen cabinet", "office chair", "lamp", None)
    ] == ["sofa", "sofa", "garbagebin", "showercurtrain", "cabinet", "chair", None, None]
    # every detection class's ScanNet200 spelling is a ScanNet200 name that maps back to it
    vocab = load_vocabulary("scannet200")
    for cls, name in SCANNET200_NAME.items():
        vocab.id_of(name)
        assert detection_class(name) == cls
    assert box_label("couch", ("couch", "lamp")) == "couch" and box_label("couch", SCANNET18) == "sofa"


def write_outputs(out, scene: str, points: np.ndarray, instances: list[tuple[np.ndarray, str | None, float]]) -> None:
    """A minimal `tracklift segment` output: <scene>.json, pred_mask files, <scene>_instances.npz."""
    (out / "pred_mask").mkdir(parents=True)
    entries = []
    for k, (mask, label, score) in enumerate(instances):
        (out / "pred_mask" / f"{scene}_{k}.txt").write_bytes(mask_to_bytes(mask))
        entries.append({"mask_file": f"pred_mask/{scene}_{k}.txt", "label": label, "score": score})
    (out / f"{scene}.json").write_text(
        json.dumps({"scene": scene, "instances": entries, "instances_npz": f"{scene}_instances.npz"})
    )
    np.savez(
        out / f"{scene}_instances.npz",
        points=points.astype(np.float32),
        instance_of_point=np.full(len(points), -1, np.int32),
    )


def test_predicted_boxes_are_taken_in_the_gt_frame(tmp_path):
    # world points of a 1 × 2 × 1 block; in the box frame (x' = 1 - y, y' = 2 + x) it is 2 × 1 × 1
    grid = np.stack(np.meshgrid([0, 1.0], [0, 1, 2.0], [0, 1.0], indexing="ij"), -1).reshape(-1, 3)
    points = np.concatenate([grid, [[10.0, 10, 10]]])
    block = np.arange(len(points)) < len(grid)
    write_outputs(tmp_path, "s", points, [(block, "couch", 0.9), (np.zeros(len(points), bool), "chair", 0.5)])
    (d,) = read_detections(tmp_path, "s", ALIGN)  # the empty instance gives no box
    np.testing.assert_allclose(d.box, [0, 2.5, 1.0, 2, 1, 1])
    assert d.label == "sofa" and d.score == 0.9
    np.testing.assert_allclose(read_detections(tmp_path, "s")[0].box, [0.5, 1, 0.5, 1, 2, 1])
    gt = SceneBoxes("s", SCANNET18, ALIGN, ("sofa",), np.array([[0, 2.5, 1.0, 2, 1, 1]]))
    write_scene_boxes(tmp_path / "gt" / "s.json", gt)
    assert (
        main(["eval", "--pred", str(tmp_path), "--boxes", str(tmp_path / "gt"), "--json", str(tmp_path / "r.json")])
        == 0
    )
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["all"] == {"ap25": 1.0, "ap50": 1.0} and result["classes"]["chair"]["ap25"] is None


def test_eval_boxes_errors_name_the_missing_file(tmp_path, capsys):
    write_scene_boxes(tmp_path / "gt.json", SceneBoxes("s", SCANNET18, np.eye(4), (), np.zeros((0, 6))))
    assert main(["eval", "--pred", str(tmp_path / "out"), "--boxes", str(tmp_path / "gt.json")]) == 2
    assert "s.json does not exist" in capsys.readouterr().err
    assert main(["eval", "--pred", str(tmp_path), "--boxes", str(tmp_path / "gt.json"), "--dataset", "scannet20"]) == 2
    assert "do not apply to --boxes" in capsys.readouterr().err


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    """A tiny `tracklift synth` room segmented from its oracle masks, and a GT box file built from its scene.json
    (world-frame boxes: identity axis_align_matrix; classes: the room's own ScanNet200 labels)."""
    root = tmp_path_factory.mktemp("boxes_synth")
    scene = root / "room"
    assert (
        main(
            [
                "synth",
                str(scene),
                "--seed",
                "3",
                "--frames",
                "12",
                "--width",
                "160",
                "--height",
                "120",
                "--objects",
                "5",
                "--quiet",
            ]
        )
        == 0
    )
    assert main(["synth-masks", str(scene), "--out", str(root / "masks"), "--preset", "oracle", "--quiet"]) == 0
    assert (
        main(
            [
                "segment",
                str(scene),
                "--out",
                str(root / "out"),
                "--masks",
                str(root / "masks"),
                "--voxel",
                "0.05",
                "--classifier",
                "none",
                "--pictures",
                "0",
            ]
        )
        == 0
    )
    objects = [
        o
        for o in json.loads((scene / "scene.json").read_text())["objects"]
        if o["label"] not in ("wall", "floor", "ceiling")
    ]
    labels = tuple(sorted({o["label"] for o in objects}))
    gt = SceneBoxes(
        "room", labels, np.eye(4), tuple(o["label"] for o in objects), np.array([o["box"] for o in objects])
    )
    write_scene_boxes(root / "gt" / "room.json", gt)
    return root


@pytest.mark.parametrize("agnostic", [True, False])
def test_eval_boxes_end_to_end_on_a_synthetic_room(synthetic_run, agnostic, capsys):
    root = synthetic_run
    args = [
        "eval",
        "--pred",
        str(root / "out"),
        "--boxes",
        str(root / "gt" / "room.json"),
        "--json",
        str(root / "r.json"),
    ]
    assert main(args + (["--agnostic"] if agnostic else [])) == 0
    assert "AP25" in capsys.readouterr().out
    result = json.loads((root / "r.json").read_text())
    # 5 objects seen in several of 12 oracle-masked frames, found with box IoU > 0.25: measured AP25 1.0 both ways
    # (AP50 0.8 class-wise, 0.72 agnostic: the coffee table's box is cut short); with the tracker of main at the
    # time of writing the coffee table is seen as its top only (a flat box): AP25 0.8 class-wise, 0.72 agnostic.
    # One miss is allowed: 4 of 5 found, the miss ranked anywhere, gives AP ≥ 0.64; two misses give at most 0.6.
    assert result["all"]["ap25"] >= 0.64
    assert set(result["classes"]) == (
        {"object"} if agnostic else set(json.loads((root / "gt" / "room.json").read_text())["classes"])
    )
