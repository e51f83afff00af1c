"""The real-scan benchmark's helpers: box-derived proxy masks, scan discovery, results and their markdown,
and one tiny run of the whole harness on a generated room."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from benchmarks.box_masks import NOTE, box_instance_image, label_points, label_points_reference, write_box_masks
from benchmarks.real import METHODS, Method, Scan, find_scans, markdown_section, run_benchmark
from tracklift.cli import main
from tracklift.data.frame import Frame
from tracklift.data.scene import open_scene
from tracklift.eval.box_gt import SceneBoxes, write_scene_boxes
from tracklift.eval.detection_classes import SCANNET18
from tracklift.segment2d.precomputed import read_masks

ALIGN = np.array([[0.0, -1, 0, 1], [1, 0, 0, 2], [0, 0, 1, 0.5], [0, 0, 0, 1]])


def test_points_go_to_the_smallest_box_above_the_floor_margin():
    boxes = np.array([[0, 0, 1, 4, 4, 2.0], [0, 0, 0.5, 1, 1, 1], [5, 5, 5, 1, 1, 1]])
    points = np.array(
        [
            [1.5, 1.5, 1.0],  # only in the big box
            [0.0, 0.0, 0.5],  # in both: the small one
            [0.0, 0.0, 0.01],  # the small box's bottom 2 cm: none (the big one starts at z 0 + 0.02)
            [9.0, 9.0, 9.0],
        ]
    )  # outside
    np.testing.assert_array_equal(label_points(points, boxes), [1, 2, 0, 0])
    np.testing.assert_array_equal(label_points(points, boxes, floor_margin=0.0), [1, 2, 2, 0])


def test_box_labelling_matches_the_plain_reference():
    rng = np.random.default_rng(0)
    boxes = np.concatenate([rng.uniform(-1, 1, (12, 3)), rng.uniform(0.2, 1.5, (12, 3))], axis=1)
    boxes[5] = boxes[4]  # equal volumes: the lower index wins
    points = rng.uniform(-1.5, 1.5, (3000, 3))
    got = label_points(points, boxes)
    np.testing.assert_array_equal(got, label_points_reference(points, boxes))
    assert (got > 0).mean() > 0.1 and len(np.unique(got)) > 6 and 6 not in got  # box 5, index 4's twin, never wins


def test_box_instance_image_back_projects_in_the_box_frame():
    # a camera at the world origin looking down +z at a wall 2 m away; one box holds the wall's right half
    H, W = 6, 8
    K = np.array([[4.0, 0, 3.5], [0, 4.0, 2.5], [0, 0, 1]])
    frame = Frame(np.zeros((H, W, 3), np.uint8), np.full((H, W), 2.0, np.float32), K, np.eye(4), "0", 0)
    # world x >= 0 (u >= 4) and z = 2: in the box frame x' = 1 - y, y' = 2 + x, z' = z + 0.5
    box = [0.0, 4.0, 2.5, 10.0, 4.0, 1.0]  # y' in [2, 6] <=> x in [0, 4]; z' in [2, 3]
    gt = SceneBoxes("s", ("chair",), ALIGN, ("chair",), np.array([box]))
    image = box_instance_image(frame, gt)
    expected = np.zeros((H, W), np.int32)
    expected[:, 4:] = 1  # pixel centre u = 3.5 is x = 0 exactly, u >= 4 is x > 0; u = 3 is x < 0
    np.testing.assert_array_equal(image, expected)
    frame.depth[0, 5] = 0  # no depth, no label
    assert box_instance_image(frame, gt)[0, 5] == 0


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """A tiny synthetic room and a GT box file from its scene.json (world frame, the 18 ScanNet classes)."""
    root = tmp_path_factory.mktemp("real_bench")
    assert (
        main(
            [
                "synth",
                str(root / "room"),
                "--seed",
                "3",
                "--frames",
                "8",
                "--width",
                "96",
                "--height",
                "72",
                "--objects",
                "5",
                "--quiet",
            ]
        )
        == 0
    )
    from tracklift.eval.detection_classes import detection_class

    objects = [
        o for o in json.loads((root / "room" / "scene.json").read_text())["objects"] if detection_class(o["label"])
    ]
    gt = SceneBoxes(
        "room",
        SCANNET18,
        np.eye(4),
        tuple(detection_class(o["label"]) for o in objects),
        np.array([o["box"] for o in objects]),
    )
    write_scene_boxes(root / "gt" / "room.json", gt)
    return root, gt


def test_box_masks_are_written_readable_labelled_and_reproducible(room, tmp_path):
    root, gt = room
    scene = open_scene(root / "room")
    stats = write_box_masks(scene, gt, {"exact": tmp_path / "a", "hard": tmp_path / "h"}, seed=1, progress=False)
    write_box_masks(scene, gt, {"exact": tmp_path / "b"}, seed=1, progress=False)
    assert stats["frames"] == 8 and stats["masks"]["exact"] > 0 and 0 < stats["labelled_pixel_share"] < 1
    frame = scene.stream[0]
    masks = read_masks(tmp_path / "a", frame.name, (frame.height, frame.width))
    image = box_instance_image(frame, gt)
    # exact: one mask per box seen in the frame, its pixels exactly the box's, its label the class's ScanNet200 name
    assert len(masks) == len(set(np.unique(image)) - {0})
    for m, label in zip(masks.masks, masks.labels):
        (box,) = set(np.unique(image[m]))
        assert (image == box).sum() == m.sum()
        assert label in {"couch" if gt.labels[box - 1] == "sofa" else gt.labels[box - 1], "trash can", "shower curtain"}
    for name in ("0.png", "0.json", "7.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    note = json.loads((tmp_path / "h" / NOTE).read_text())
    assert "proxy" in note["kind"] and note["preset"] == "hard"
    with pytest.raises(ValueError, match="unknown box-mask preset"):
        write_box_masks(scene, gt, {"perfect": tmp_path / "p"}, progress=False)


def test_find_scans_reads_posed_images_infos_and_7scenes(tmp_path):
    data = tmp_path / "data"
    (data / "scannet" / "posed_images" / "scene0001_00").mkdir(parents=True)
    infos = {
        "metainfo": {"categories": {n: i for i, n in enumerate(SCANNET18)}},
        "data_list": [
            {
                "lidar_points": {"lidar_path": "scene0001_00.bin"},
                "axis_align_matrix": ALIGN.tolist(),
                "instances": [{"bbox_3d": [0, 0, 0, 1, 1, 1], "bbox_label_3d": 2}],
            }
        ],
    }
    (data / "scannet" / "scannet_infos_train.pkl").write_bytes(pickle.dumps(infos, protocol=2))
    for folder in (data / "7scenes" / "data", data / "other" / "3dmatch"):  # only the 7-Scenes one counts
        folder.mkdir(parents=True)
        for suffix in ("color.jpg", "depth.png", "pose.txt"):
            (folder / f"frame-000000.{suffix}").write_bytes(b"")
    scans = find_scans(data, ("scene0001_00", "scene0002_00"), tmp_path / "cache")
    assert [s.name for s in scans] == ["scene0001_00", "7scenes-redkitchen"]
    assert scans[0].gt == tmp_path / "cache" / "gt" / "scene0001_00.json" and scans[0].gt.is_file()
    assert scans[1].gt is None and scans[1].path == data / "7scenes" / "data"
    with pytest.raises(ValueError, match="held-out"):
        find_scans(data, ("scene0000_00",), tmp_path / "cache")


def test_every_method_is_described_for_the_results():
    assert list(METHODS)[0] == "naive"  # the baseline stays first
    assert all(isinstance(m, Method) for m in METHODS.values())


def test_harness_end_to_end_on_a_generated_room(room, tmp_path):
    root, _ = room
    scans = [Scan("room", root / "room", root / "gt" / "room.json")]
    methods = {"naive": METHODS["naive"], "segment": METHODS["segment"]}
    doc = run_benchmark(scans, methods, ("exact",), frames=8, stride=1, cache=tmp_path / "cache")
    assert [(r["method"], r["masks"], r["frames"]) for r in doc["runs"]] == [
        ("naive", "exact", 8),
        ("segment", "exact", 8),
    ]
    for row in doc["runs"] + doc["pooled"]:
        assert 0.0 <= row["agnostic"]["all"]["ap25"] <= 1.0
    # oracle box masks of a room whose objects all map to detection classes: segment finds them
    assert doc["pooled"][1]["agnostic"]["all"]["ap25"] >= 0.5
    text = markdown_section(doc)
    assert "box-derived proxy masks" in text and "| room | segment | exact |" in text
    json.dumps(doc, allow_nan=True)
