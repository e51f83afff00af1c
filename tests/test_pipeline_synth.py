"""The method variants on a tiny procedural scene from `tracklift synth`, scored by the evaluator."""

import pytest

from benchmarks.methods import tracker_fused_refined, tracker_spatial
from benchmarks.naive_baseline import naive_baseline
from tracklift.cli import main
from tracklift.data.scene import open_scene
from tracklift.eval import evaluate
from tracklift.eval.gt import read_gt_file
from tracklift.vocab import load_vocabulary


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    assert (
        main(
            [
                "synth",
                str(root / "tiny"),
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
    assert (
        main(["synth-masks", str(root / "tiny"), "--out", str(root / "oracle"), "--preset", "oracle", "--quiet"]) == 0
    )
    return open_scene(root / "tiny"), root / "oracle"


def agnostic_ap(scene, preds) -> dict:
    return evaluate(
        {scene.name: preds}, {scene.name: read_gt_file(scene.gt_path)}, load_vocabulary("scannet200"), agnostic=True
    )["all"]


@pytest.mark.parametrize("method", [tracker_spatial, tracker_fused_refined])
def test_oracle_masks_find_every_object(tiny, method):
    scene, masks = tiny
    result = agnostic_ap(scene, method(scene, masks))
    # 5 objects, each seen in several of the 12 frames: every one must be found with IoU ≥ 0.5 over the mesh
    # vertices (measured AP50 = 1.0 for both variants). This scene caught a door taking the wall around it and
    # a book merged into the coffee table it lies on (AP50 0.8). AP over IoU 0.5–0.95 stays low (measured 0.45;
    # naive 0.32) because 160×120 frames see each object coarsely, and the mesh keeps surfaces a few cm behind
    # seen ones (the wall behind the door), which no lifted point reaches.
    assert result["ap50"] == pytest.approx(1.0)
    assert result["ap"] >= agnostic_ap(scene, naive_baseline(scene, masks))["ap"]
