"""RGBDStream: laziness, stride/max_frames, indexing, and every kind of bad frame; scene detection errors."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from tests.fixtures_rgbd import K_DEPTH_64, make_generic, make_scannet, pose, write_image, write_matrix
from tracklift.data import stream as stream_module
from tracklift.data.frame import BadFrameError
from tracklift.data.scene import LAYOUTS, open_scene
from tracklift.data.stream import FrameRecord, RGBDStream, SensorSpec


def test_listing_reads_no_image_and_indexing_reads_only_that_frame(tmp_path, monkeypatch):
    fx = make_scannet(tmp_path, n=5)
    opened = []
    real_color, real_depth = stream_module.read_color, stream_module.read_depth
    monkeypatch.setattr(stream_module, "read_color", lambda p, *a: opened.append(p) or real_color(p, *a))
    monkeypatch.setattr(stream_module, "read_depth", lambda p, *a: opened.append(p) or real_depth(p, *a))
    stream = open_scene(fx.root).stream
    assert len(stream) == 5 and opened == []
    frame = stream[3]
    assert frame.name == "3" and frame.index == 3
    assert sorted(opened) == sorted([fx.files["3"]["color"], fx.files["3"]["depth"]])


def test_frames_of_other_files_are_not_needed(tmp_path):
    fx = make_scannet(tmp_path, n=4)
    stream = open_scene(fx.root).stream
    for name in ("0", "1", "3"):
        for path in fx.files[name].values():
            path.unlink()
    np.testing.assert_array_equal(stream[2].depth, fx.depth_m(2))
    assert stream[-2].name == "2"
    with pytest.raises(IndexError):
        stream[4]


@pytest.mark.parametrize(
    ("stride", "max_frames", "names"),
    [
        (1, None, ["0", "1", "2", "3", "4", "5", "6"]),
        (2, None, ["0", "2", "4", "6"]),
        (3, 2, ["0", "3"]),
        (1, 0, []),
        (10, None, ["0"]),
    ],
)
def test_stride_and_max_frames(tmp_path, stride, max_frames, names):
    fx = make_scannet(tmp_path, n=7)
    stream = open_scene(fx.root, stride=stride, max_frames=max_frames).stream
    assert stream.names == names and len(stream) == len(names)
    frames = list(stream)
    assert [f.name for f in frames] == names
    assert [f.index for f in frames] == list(range(len(names)))
    for f in frames:
        np.testing.assert_array_equal(f.depth, fx.depth_m(int(f.name)))


@pytest.mark.parametrize(("stride", "max_frames"), [(0, None), (1, -1)])
def test_bad_stride_or_max_frames(tmp_path, stride, max_frames):
    fx = make_scannet(tmp_path, n=2)
    with pytest.raises(ValueError):
        open_scene(fx.root, stride=stride, max_frames=max_frames)


def _break(fx, name, kind):
    """Damage frame `name` of a ScanNet fixture; returns the text the skip reason must contain."""
    files = fx.files[name]
    if kind == "inf-pose":  # how ScanNet marks frames without tracking
        files["pose"].write_text("\n".join(["-inf -inf -inf -inf"] * 4) + "\n")
        return f"{files['pose']}: pose has NaN or inf"
    if kind == "nan-pose":
        p = pose(0)
        p[0, 3] = np.nan
        write_matrix(files["pose"], p)
        return "NaN or inf"
    if kind == "non-rigid-pose":
        write_matrix(files["pose"], np.diag([2.0, 1.0, 1.0, 1.0]))
        return "not a rigid transform"
    if kind == "short-pose":
        files["pose"].write_text("1 0 0 0\n0 1 0 0\n")
        return "expected a 4×4 matrix (16 values), found 8"
    if kind == "missing-pose":
        files["pose"].unlink()
        return f"{files['pose']}: missing"
    if kind in ("missing-depth", "missing-color"):
        path = files[kind.split("-")[1]]
        path.unlink()
        return f"{path}: missing"
    if kind == "truncated-color":
        data = files["color"].read_bytes()
        files["color"].write_bytes(data[: len(data) // 2])
        return f"{files['color']}: truncated JPEG"
    if kind == "truncated-depth":
        data = files["depth"].read_bytes()
        files["depth"].write_bytes(data[: len(data) // 2])
        return f"{files['depth']}: corrupt or truncated"
    if kind == "corrupt-depth":
        files["depth"].write_bytes(b"not a png at all" * 10)
        return f"{files['depth']}: corrupt or truncated"
    if kind == "empty-color":
        files["color"].write_bytes(b"")
        return f"{files['color']}: empty file"
    if kind == "rgb-depth":
        write_image(files["depth"], np.zeros((48, 64, 3), np.uint8))
        return "depth must be single-channel"
    if kind == "8bit-depth":
        write_image(files["depth"], np.zeros((48, 64), np.uint8))
        return "depth must be 16-bit"
    if kind == "gray-color":
        write_image(files["color"], np.zeros((96, 128), np.uint8))
        return "colour must have 3 channels"
    if kind == "zero-depth":
        write_image(files["depth"], np.zeros((48, 64), np.uint16))
        return f"{files['depth']}: no valid depth"
    if kind == "small-depth":
        write_image(files["depth"], np.ones((24, 32), np.uint16))
        return "depth is 32×24, the stream's depth is 64×48"
    if kind == "aspect":
        write_image(files["color"], np.zeros((48, 128, 3), np.uint8))
        return "aspect ratios differ"
    raise AssertionError(kind)


BAD = [
    "inf-pose",
    "nan-pose",
    "non-rigid-pose",
    "short-pose",
    "missing-pose",
    "missing-depth",
    "missing-color",
    "truncated-color",
    "truncated-depth",
    "corrupt-depth",
    "empty-color",
    "rgb-depth",
    "8bit-depth",
    "gray-color",
    "zero-depth",
    "small-depth",
    "aspect",
]


@pytest.mark.parametrize("kind", BAD)
def test_bad_frame_is_skipped_logged_counted_and_raised_on_index(tmp_path, caplog, kind):
    fx = make_scannet(tmp_path, n=4)
    expected = _break(fx, "2", kind)
    stream = open_scene(fx.root).stream
    with caplog.at_level(logging.WARNING, logger="tracklift.data.stream"):
        frames = list(stream)
    assert [f.name for f in frames] == ["0", "1", "3"]
    assert len(stream.skipped) == 1 and stream.skipped[0][0] == "2"
    assert expected in stream.skipped[0][1]
    assert any("skipping frame 2" in r.getMessage() and expected in r.getMessage() for r in caplog.records)
    with pytest.raises(BadFrameError) as err:
        stream[2]
    assert expected in str(err.value)
    # a second pass reports the same skip once, not twice
    list(stream)
    assert len(stream.skipped) == 1


def test_first_frame_read_fixes_the_resolution(tmp_path):
    fx = make_scannet(tmp_path, n=3)
    write_image(fx.files["0"]["depth"], np.ones((24, 32), np.uint16))
    stream = open_scene(fx.root).stream
    # frame 0 is read first and sets 32×24; the 64×48 frames after it are then the odd ones out
    assert [f.name for f in stream] == ["0"]
    assert [name for name, _ in stream.skipped] == ["1", "2"]


def test_frame_with_only_colour_or_only_depth_is_listed_and_skipped(tmp_path):
    fx = make_scannet(tmp_path, n=3)
    write_image(fx.root / "color" / "7.jpg", np.zeros((96, 128, 3), np.uint8))
    write_matrix(fx.root / "pose" / "7.txt", np.eye(4))
    stream = open_scene(fx.root).stream
    assert stream.names == ["0", "1", "2", "7"]
    list(stream)
    assert stream.skipped == [("7", f"{fx.root / 'depth' / '7.png'}: missing")]


def test_stream_from_records_directly(tmp_path):
    depth = np.full((4, 6), 2500, np.uint16)
    write_image(tmp_path / "d.png", depth)
    write_image(tmp_path / "c.png", np.full((4, 6, 3), 7, np.uint8))
    record = FrameRecord("a", tmp_path / "c.png", tmp_path / "d.png", np.eye(4), K_DEPTH_64)
    stream = RGBDStream(
        [record, FrameRecord("b", tmp_path / "c.png", tmp_path / "d.png", np.eye(4), K_DEPTH_64, problem="no pose")],
        SensorSpec(depth_scale=500.0),
    )
    frame = stream[0]
    assert frame.depth.dtype == np.float32 and (frame.depth == 5.0).all()
    assert (frame.color == 7).all() and frame.name == "a"
    with pytest.raises(BadFrameError, match="frame b: no pose"):
        stream[1]


@pytest.mark.parametrize("spec", [{"depth_scale": 0.0}, {"K_of": "rgb"}])
def test_bad_sensor_spec(spec):
    with pytest.raises(ValueError):
        SensorSpec(**spec)


def test_colour_is_registered_with_inter_area(tmp_path):
    # a 4×4-pixel checkerboard at 128×96 averages to exactly mid-grey blocks at 64×48 only with area
    # averaging; nearest-neighbour would keep 0/255 values
    fx = make_generic(tmp_path, n=1)
    yy, xx = np.mgrid[0:96, 0:128]
    checker = (((yy + xx) % 2) * 255).astype(np.uint8)
    write_image(fx.files["000000"]["color"], np.repeat(checker[:, :, None], 3, axis=2))
    frame = open_scene(fx.root).stream[0]
    expected = cv2.resize(np.repeat(checker[:, :, None], 3, axis=2), (64, 48), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(frame.color, expected)
    assert set(np.unique(frame.color)) <= {127, 128}


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        open_scene(tmp_path)


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such scene folder"):
        open_scene(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no such scene folder"):
        open_scene(tmp_path / "nope", layout="scannet")


def test_unknown_layout_lists_what_was_looked_for(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="unknown scene layout") as err:
        open_scene(tmp_path)
    for name in LAYOUTS:
        assert name in str(err.value)
    assert "rgb.txt" in str(err.value) and "traj.txt" in str(err.value)


def test_wrong_explicit_layout_is_an_error(tmp_path):
    fx = make_scannet(tmp_path)
    with pytest.raises(ValueError, match="does not look like the tum layout"):
        open_scene(fx.root, layout="tum")
    with pytest.raises(ValueError, match="unknown layout 'kitti'"):
        open_scene(fx.root, layout="kitti")


def test_layout_without_frames_is_an_error(tmp_path):
    for d in ("color", "depth", "pose", "intrinsic"):
        (tmp_path / d).mkdir()
    write_matrix(tmp_path / "intrinsic" / "intrinsic_depth.txt", np.eye(4))
    with pytest.raises(ValueError, match="no frames found"):
        open_scene(tmp_path)
