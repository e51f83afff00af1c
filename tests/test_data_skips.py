"""Skipped frames: counted per reason, warnings collapsed, `info` and `segment` agreeing on what is readable
(the 7-Scenes JPEG copy of andyzeng/tsdf-fusion-python), corrupt poses far from the origin."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from tests.faults import write_frame_masks
from tests.fixtures_rgbd import make_7scenes, make_scannet, write_matrix
from tracklift.cli import main
from tracklift.data.camera import MAX_TRANSLATION, pose_problem
from tracklift.data.scene import open_scene
from tracklift.data.stream import SHOWN_PER_REASON, skip_reason


def _segment(root, out, masks, capsys) -> dict:
    write_frame_masks(masks, [f"frame-{i:06d}" for i in range(3)])
    code = main(
        [
            "segment",
            str(root),
            "--out",
            str(out),
            "--segmenter",
            "precomputed",
            "--masks",
            str(masks),
            "--max-frames",
            "3",
            "--classifier",
            "none",
            "--pictures",
            "0",
        ]
    )
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_7scenes_jpeg_layout_info_and_segment_read_the_same_frames(tmp_path, capsys):
    # tsdf-fusion-python's data/: one sequence folder of frame-XXXXXX.color.jpg + camera-intrinsics.txt
    fx = make_7scenes(tmp_path, n=4, sequences=1, color_ext="jpg", intrinsics=True)
    root = fx.root / "seq-01"
    (root / "camera-intrinsics.txt").write_text((fx.root / "camera-intrinsics.txt").read_text())
    assert main(["info", str(root)]) == 0
    out = capsys.readouterr().out
    assert "7scenes" in out and "bad frames   0 (of 3 read" in out and "colour       64×48" in out
    run = _segment(root, tmp_path / "out", tmp_path / "masks", capsys)
    assert run["frames"] == 3 and run["frames_unreadable"] == 0


def test_info_fails_with_one_line_when_no_frame_read_is_usable(tmp_path, capsys):
    fx = make_7scenes(tmp_path, n=4, sequences=1, color_ext="jpg")
    for files in fx.files.values():
        files["color"].write_bytes(files["color"].read_bytes()[:100])
    assert main(["info", str(fx.root)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"tracklift info: error: {fx.root}: none of 3 frames read is usable (3 truncated JPEG)"]


def test_repeated_skips_collapse_into_a_count_per_reason(tmp_path, caplog):
    fx = make_scannet(tmp_path, n=9)
    for name in ("0", "1", "2", "3", "4", "5"):
        fx.files[name]["depth"].write_bytes(b"")
    fx.files["7"]["pose"].write_text("nan " * 16)
    stream = open_scene(fx.root).stream
    with caplog.at_level(logging.WARNING, logger="tracklift.data.stream"):
        names = [frame.name for frame in stream]
    assert names == ["6", "8"]
    assert dict(stream.skipped_by_reason) == {"empty file": 6, "pose has NaN or inf entries": 1}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == SHOWN_PER_REASON + 1 + 1  # three shown, one summary, the pose's one line
    assert lines[-1] == f"{6 - SHOWN_PER_REASON} more frames skipped: empty file"
    assert stream.skip_summary() == "7 of 9 frames skipped: 6 empty file, 1 pose has NaN or inf entries"
    list(stream)  # a second pass counts afresh
    assert sum(stream.skipped_by_reason.values()) == 7


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("/a/b: 1.png: empty file", "empty file"),
        ("/x/1.jpg: corrupt or truncated image (cannot decode 12 bytes)", "corrupt or truncated image"),
        ("frame 7: traj.txt line 3: expected 16 numbers, found '1 2'", "expected 16 numbers, found"),
    ],
)
def test_skip_reason_drops_files_and_details(message, reason):
    assert skip_reason(message) == reason


def test_pose_far_from_the_origin_skips_only_its_frame(tmp_path):
    fx = make_scannet(tmp_path, n=3)
    corrupt = fx.poses[1].copy()
    corrupt[:3, 3] = [1e30, 0.0, 0.0]
    write_matrix(fx.files["1"]["pose"], corrupt)
    stream = open_scene(fx.root).stream
    assert [frame.name for frame in stream] == ["0", "2"]
    assert dict(stream.skipped_by_reason) == {
        f"pose translation is farther than {MAX_TRANSLATION:g} m from the origin": 1
    }
    near = np.eye(4)
    near[:3, 3] = [MAX_TRANSLATION * 0.99, 0.0, 0.0]
    assert pose_problem(near) is None


def test_tum_list_naming_an_image_outside_the_sequence_skips_that_frame(tmp_path):
    from tests.fixtures_rgbd import make_tum

    fx = make_tum(tmp_path, n=4)
    lines = (fx.root / "rgb.txt").read_text().splitlines()
    data = [k for k, line in enumerate(lines) if line and not line.startswith("#")]
    stamp = lines[data[1]].split()[0]
    lines[data[1]] = f"{stamp} ../../../etc/passwd"
    (fx.root / "rgb.txt").write_text("\n".join(lines) + "\n")
    stream = open_scene(fx.root).stream
    assert len([frame.name for frame in stream]) == 3
    assert len(stream.skipped) == 1 and "rgb.txt: image '../../../etc/passwd' points outside" in stream.skipped[0][1]


def test_frames_from_a_start_index_keep_the_earlier_counts(tmp_path):
    fx = make_scannet(tmp_path, n=4)
    fx.files["0"]["depth"].write_bytes(b"")
    fx.files["2"]["depth"].write_bytes(b"")
    stream = open_scene(fx.root).stream
    assert [f.name for f in stream.frames(0)][:1] == ["1"]
    assert [f.name for f in stream.frames(2)] == ["3"]  # a resumed pass adds to the counts
    assert dict(stream.skipped_by_reason) == {"empty file": 3}
