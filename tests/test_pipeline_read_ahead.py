"""Frames read and segmented by several threads ahead of the mapping: same frames, skips and outputs as one."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from tests.faults import write_frame_masks
from tests.fixtures_rgbd import make_scannet
from tracklift.core.masks import FrameMasks
from tracklift.data.scene import open_scene
from tracklift.pipeline.mapper import ReadAhead
from tracklift.segment2d.precomputed import PrecomputedSegmenter


class CountingSegmenter:
    """Two boxes per frame; remembers how many calls ran at once (each call sleeps a little so they overlap)."""

    def __init__(self, thread_safe: bool) -> None:
        self.thread_safe = thread_safe
        self.running = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, frame) -> FrameMasks:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.01)
        with self.lock:
            self.running -= 1
        masks = np.zeros((2, frame.height, frame.width), bool)
        masks[0, :10, :10] = masks[1, -10:, -10:] = True
        return FrameMasks(masks, ["chair", "table"], np.array([0.9, 0.8], np.float32))


def _drain(read_ahead: ReadAhead) -> list[str]:
    names = []
    try:
        while (item := read_ahead.next()) is not None:
            names.append(item[0].name)
    finally:
        read_ahead.close()
    return names


def _broken_scene(tmp_path):
    fx = make_scannet(tmp_path, n=12)
    for name in ("0", "3", "4", "9"):
        fx.files[name]["depth"].write_bytes(b"")
    fx.files["6"]["pose"].write_text("nan " * 16)
    return fx


@pytest.mark.parametrize("workers", [2, 3, 5])
def test_frames_and_skips_come_in_stream_order_whatever_the_workers(tmp_path, workers):
    fx = _broken_scene(tmp_path)
    one = open_scene(fx.root).stream
    names_one = _drain(ReadAhead(one, CountingSegmenter(True), workers=1))
    many = open_scene(fx.root).stream
    names_many = _drain(ReadAhead(many, CountingSegmenter(True), workers=workers, depth=4))
    assert names_one == names_many == ["1", "2", "5", "7", "8", "10", "11"]
    assert [name for name, _ in many.skipped] == ["0", "3", "4", "6", "9"]
    assert many.skipped == one.skipped and many.skipped_by_reason == one.skipped_by_reason


def test_a_resumed_pass_starts_at_its_frame_and_keeps_earlier_skips(tmp_path):
    fx = _broken_scene(tmp_path)
    stream = open_scene(fx.root).stream
    stream.restore_skipped([("0", "earlier: empty file")])
    assert _drain(ReadAhead(stream, CountingSegmenter(True), start=5, workers=3)) == ["5", "7", "8", "10", "11"]
    assert [name for name, _ in stream.skipped] == ["0", "6", "9"]


def test_only_a_thread_safe_segmenter_is_called_from_several_threads(tmp_path):
    fx = make_scannet(tmp_path, n=10)
    safe, unsafe = CountingSegmenter(True), CountingSegmenter(False)
    _drain(ReadAhead(open_scene(fx.root).stream, safe, workers=3))
    _drain(ReadAhead(open_scene(fx.root).stream, unsafe, workers=3))
    assert unsafe.most == 1
    assert safe.most > 1  # ten sleeping calls over three threads overlap


def test_a_segmenter_error_reaches_the_mapping_as_that_frames_item(tmp_path):
    fx = make_scannet(tmp_path, n=4)
    write_frame_masks(tmp_path / "masks", ["0", "1", "2", "3"], fx.raw_depth[0].shape)
    broken = next((tmp_path / "masks").glob("2.*"))
    broken.write_bytes(b"not an image")
    read_ahead = ReadAhead(open_scene(fx.root).stream, PrecomputedSegmenter(tmp_path / "masks"), workers=2)
    try:
        items = [read_ahead.next() for _ in range(4)]
        assert read_ahead.next() is None
    finally:
        read_ahead.close()
    assert [frame.name for frame, _, _ in items] == ["0", "1", "2", "3"]
    assert isinstance(items[2][1], ValueError) and broken.name in str(items[2][1])
    assert isinstance(items[3][1], FrameMasks) and len(items[3][1]) == 2


def test_bad_arguments_are_refused(tmp_path):
    stream = open_scene(make_scannet(tmp_path, n=2).root).stream
    with pytest.raises(ValueError, match="workers and depth must be >= 1"):
        ReadAhead(stream, CountingSegmenter(True), workers=0)
