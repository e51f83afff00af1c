"""The speed benchmark's instruments: the back-and-forth playback, the looped scene, the plot and the section."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from benchmarks.speed import (
    lift_track_alone,
    looped_scene,
    markdown_section,
    played_back,
    plot_streams,
    previous_parts,
    read_floor,
)
from tracklift.data.scene import open_scene


def test_played_back_by_hand():
    assert [played_back(i, 4) for i in range(10)] == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    assert [played_back(i, 1) for i in range(3)] == [0, 0, 0]


@pytest.mark.parametrize("frames", [1, 2, 5, 300])
def test_playback_steps_by_one_frame(frames):
    sources = [played_back(i, frames) for i in range(3 * frames)]
    assert set(sources) == set(range(frames))
    assert all(abs(a - b) == (1 if frames > 1 else 0) for a, b in zip(sources, sources[1:]))


def small_scene(tmp_path):
    """A 3-frame ScanNet-layout scene (32×24, camera moving 1 m along x per frame) and a masks folder."""
    scene, masks = tmp_path / "src" / "scene0001_00", tmp_path / "src" / "masks"
    for folder in ("color", "depth", "pose", "intrinsic"):
        (scene / folder).mkdir(parents=True)
    masks.mkdir()
    K = np.eye(4)
    K[:3, :3] = [[50, 0, 16], [0, 50, 12], [0, 0, 1]]
    np.savetxt(scene / "intrinsic" / "intrinsic_depth.txt", K)
    for i in range(3):
        cv2.imwrite(str(scene / "color" / f"{i}.jpg"), np.full((24, 32, 3), 40 * i, np.uint8))
        cv2.imwrite(str(scene / "depth" / f"{i}.png"), np.full((24, 32), 1000 + i, np.uint16))
        pose = np.eye(4)
        pose[0, 3] = i
        np.savetxt(scene / "pose" / f"{i}.txt", pose)
        (masks / f"{i}.json").write_text(json.dumps({"1": {"label": "chair"}}))
    return scene, masks


def test_looped_scene_links_frames_back_and_forth(tmp_path):
    scene, masks = small_scene(tmp_path)
    looped, looped_masks = looped_scene(scene, masks, 7, tmp_path / "loop")
    stream = open_scene(looped).stream
    assert len(stream) == 7
    assert [round(f.pose[0, 3]) for f in stream] == [0, 1, 2, 1, 0, 1, 2]
    assert sorted(p.name for p in looped_masks.iterdir()) == sorted(f"{i}.json" for i in range(7))
    assert (looped / "depth" / "3.png").resolve() == (scene / "depth" / "1.png").resolve()


def test_plot_and_section(tmp_path):
    rows = [
        {"frames": 300, "seconds": 30.0, "fps": 10.0, "lift_track_fps": 80.0, "max_rss_mb": 500.0},
        {"frames": 1000, "seconds": 95.0, "fps": 10.5, "lift_track_fps": 82.0, "max_rss_mb": 700.0, "ap": 0.25},
    ]
    plot_streams(rows, tmp_path / "plot.png", size=(400, 200))
    image = cv2.imread(str(tmp_path / "plot.png"))
    assert image.shape == (200, 400, 3) and (image < 255).any()
    r = {"seconds": 12.0, "fps": 25.0, "max_rss_mb": 400.0, "ap": 0.5, "ap50": 0.7, "ap25": 0.8}
    doc = {
        "suite": {
            "name": "speed",
            "realism": "scan",
            "frames": 300,
            "width": 640,
            "height": 480,
            "preset": "mild",
            "repeats": 2,
        },
        "mesh_vertices": 1000,
        "color_size": "1296×968",
        "date": "today",
        "machine": {"cpus": 2, "python": "3.11", "numpy": "2"},
        "compare": {
            "segment": {**r, "seconds": 6.0, "lift_track_fps": 90.0, "cpu_seconds": 11.0},
            "naive": {**r, "cpu_seconds": 10.0},
            "ratio": 0.5,
            "read_seconds": {"1 thread": 2.0, "2 threads": 1.5},
            "lift_track_alone_fps": 120.0,
        },
        "streams": rows,
        "streams_date": "later",
        "plot": "docs/speed_streams.png",
    }
    text = markdown_section(doc)
    assert "**0.50×**" in text and "| 1000 | 95.0 | – | 10.5 | 82.0 | 700 | 0.250 | – | – |" in text
    assert "Recorded today" in text and "recorded later" in text  # each part says when it was measured
    # the naive baseline's 12 s halved, less the 1.5 s two threads need to read the inputs
    assert "takes 2.0 s in one thread and 1.5 s in two: half the baseline's time, 6.0 s, leaves 4.5 s" in text
    assert "| `tracklift segment` | 6.0 | 11.0 | 25.0 | 90.0 | 400 | 0.500 | 0.700 | 0.800 |" in text
    # 2 cores over half the baseline's 12 s hold 12 CPU seconds at most
    assert "used 11.0, 1.1× the baseline's 10.0. Finishing in half the baseline's time (6.0 s) on 2 cores" in text
    assert "leaves at most 12.0 CPU seconds" in text
    assert "nothing beside it) runs at 120.0 frames/s" in text


def test_read_floor_reads_every_frame_and_its_masks_once_per_repeat(tmp_path, monkeypatch):
    import tracklift.segment2d.precomputed as precomputed

    scene, masks = small_scene(tmp_path)
    read, original = [], precomputed.read_masks
    monkeypatch.setattr(precomputed, "read_masks", lambda *a, **k: read.append(a[1]) or original(*a, **k))
    assert read_floor(scene, masks, workers=2, repeats=2) > 0
    assert sorted(read) == ["0", "0", "1", "1", "2", "2"]


def test_only_one_part_keeps_the_other(tmp_path):
    path = tmp_path / "speed.json"
    old = {"date": "then", "suite": {"repeats": 1}, "compare": {"ratio": 0.5}, "streams": [{"frames": 300}]}
    path.write_text(json.dumps(old))
    kept = previous_parts(path, ("streams",))  # --only streams: the old compare part stays, dated as it was
    assert "streams" not in kept and kept["compare"] == {"ratio": 0.5, "date": "then", "repeats": 1}
    kept = previous_parts(path, ("compare",))
    assert "compare" not in kept and kept["streams"] == [{"frames": 300}] and kept["streams_date"] == "then"
    assert previous_parts(path, ("compare", "streams")) == {"date": "then", "suite": {"repeats": 1}}
    assert previous_parts(tmp_path / "none.json", ("compare", "streams")) == {}
    with pytest.raises(SystemExit, match="no 'compare' part to keep"):
        previous_parts(tmp_path / "none.json", ("streams",))


def test_run_measured_counts_the_childs_cpu_seconds_over_its_threads(tmp_path):
    from benchmarks.measure import run_measured

    # two threads spinning for 0.3 s of wall each: at least ~0.3 CPU seconds whatever the cores, and a child
    # that sleeps uses next to none
    spin = (
        "import threading, time\n"
        "def spin():\n"
        "    end = time.process_time() + 0.3\n"
        "    while time.process_time() < end: pass\n"
        "ts = [threading.Thread(target=spin) for _ in range(2)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
    )
    import sys

    busy = run_measured([sys.executable, "-c", spin], tmp_path / "busy.log")
    idle = run_measured([sys.executable, "-c", "import time; time.sleep(0.3)"], tmp_path / "idle.log")
    assert busy["returncode"] == 0 and idle["returncode"] == 0
    assert busy["cpu_seconds"] >= 0.3 and idle["cpu_seconds"] < 0.25
    assert idle["seconds"] >= 0.3


def test_lift_track_alone_maps_every_frame_once_per_repeat(tmp_path, monkeypatch):
    from tracklift.pipeline.mapper import Mapper

    scene, masks = small_scene(tmp_path)
    mapped, original = [], Mapper.add_frame
    monkeypatch.setattr(
        Mapper, "add_frame", lambda self, frame, *a: mapped.append(frame.name) or original(self, frame, *a)
    )
    assert lift_track_alone(scene, masks, batch=2, repeats=2) > 0
    assert mapped == ["0", "1", "2"] * 2
