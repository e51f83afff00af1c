"""benchmarks.rgbd_speed: timing rows compare the kernel sets on the same frames; the section renders them."""

import pytest

from benchmarks.rgbd_speed import load_frames, markdown_section, time_frames
from tests.test_segment2d_rgbd import BOXES, look_at, render


def test_time_frames_reports_both_kernel_sets_and_identical_masks():
    frames = [
        render(60, 80, BOXES, look_at((0.3 + 0.1 * i, -2.2, 1.4), (0, 0.3, 0.2)), wall_y=1.5)[0] for i in range(2)
    ]
    row = time_frames(frames, repeats=1)
    assert row["frames"] == 2 and row["size"] == "80×60"
    assert row["identical_frames"] == 2 and row["masks_per_frame"] >= len(BOXES)
    assert row["reference_fps"] > 0 and row["fast_fps"] > 0
    doc = {"date": "d", "machine": "m", "load_average_start": [1.0], "repeats": 1, "rows": [{"source": "s", **row}]}
    assert "| s | 80×60 | 2 |" in markdown_section(doc) and "2/2" in markdown_section(doc)


def test_held_out_scan_is_refused(tmp_path):
    with pytest.raises(ValueError, match="held-out"):
        load_frames(tmp_path / "scene0000_00", 3)
