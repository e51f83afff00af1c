"""Colour JPEGs decoded at a reduced size (DCT scaling) against the full decode + area resize they replace."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.fixtures_rgbd import color_image, make_scannet, write_image
from tracklift.data.frame import BadFrameError
from tracklift.data.images import jpeg_components, read_color, reduced_size
from tracklift.data.scene import open_scene
from tracklift.data.stream import color_reduction


def _reference(path, size):
    """The plain path: full decode, then the area resize that registers colour to depth."""
    return cv2.resize(read_color(path), size, interpolation=cv2.INTER_AREA)


def test_jpeg_components_from_the_frame_header():
    rgb = color_image(0, 64, 48)
    assert jpeg_components(cv2.imencode(".jpg", rgb)[1].tobytes()) == 3
    assert jpeg_components(cv2.imencode(".jpg", rgb[..., 0])[1].tobytes()) == 1
    assert jpeg_components(cv2.imencode(".png", rgb)[1].tobytes()) is None
    assert jpeg_components(b"\xff\xd8\xff") is None


@pytest.mark.parametrize(
    "color, depth, expected",
    [
        ((1296, 968), (640, 480), 2),
        ((1280, 960), (320, 240), 4),
        ((640, 480), (640, 480), 1),
        ((5, 5), (1, 1), 8),
        ((100, 75), (64, 48), 1),
    ],
)
def test_reduction_keeps_colour_at_least_depth_sized(color, depth, expected):
    assert color_reduction(color, depth) == expected
    w, h = reduced_size(color, expected)
    assert w >= depth[0] and h >= depth[1]


@pytest.mark.parametrize("reduce", [2, 4])
def test_reduced_decode_is_the_reduced_size_and_close_to_the_resized_full_decode(tmp_path, reduce):
    path = tmp_path / "c.jpg"
    yy, xx = np.mgrid[0:98, 0:130]  # smooth, as camera images mostly are
    smooth = np.stack([xx * 1.9, yy * 2.5, 128 + 60 * np.sin(xx / 9.0) * np.cos(yy / 7.0)], axis=2)
    write_image(path, smooth.astype(np.uint8))
    image = read_color(path, reduce)
    size = reduced_size((130, 98), reduce)
    assert image.shape == (size[1], size[0], 3) and image.dtype == np.uint8
    diff = np.abs(image.astype(int) - _reference(path, size).astype(int))
    assert diff.mean() < 4  # a few grey levels: DCT scaling is not an area average


def test_png_and_grey_jpeg_are_not_reduced(tmp_path):
    write_image(tmp_path / "c.png", color_image(0, 64, 48))
    assert read_color(tmp_path / "c.png", 2).shape == (48, 64, 3)
    write_image(tmp_path / "g.jpg", color_image(0, 64, 48)[..., 0])
    with pytest.raises(BadFrameError, match=r"g\.jpg: colour must have 3 channels"):
        read_color(tmp_path / "g.jpg", 2)
    with pytest.raises(ValueError, match="reduce must be"):
        read_color(tmp_path / "c.png", 3)


def test_stream_frames_match_the_full_decode_path_and_survive_a_size_change(tmp_path):
    fx = make_scannet(tmp_path, n=4)  # 128×96 colour over 64×48 depth: frames after the first decode at 1/2
    write_image(fx.files["2"]["color"], color_image(2, 256, 192))  # one frame of another size: decoded in full
    stream = open_scene(fx.root).stream
    frames = list(stream)
    assert [f.name for f in frames] == ["0", "1", "2", "3"]
    for frame in frames:
        path = fx.files[frame.name]["color"]
        reduced = frame.name in ("1", "3")  # the first frame fixes the reduction; frame 2 has another size
        source = read_color(path, 2) if reduced else read_color(path)
        expected = cv2.resize(source, (64, 48), interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(frame.color, expected)
        assert np.abs(frame.color.astype(int) - _reference(path, (64, 48)).astype(int)).mean() < 8
    assert stream._color_size == (128, 96)


@pytest.mark.parametrize("channels, dtype", [(3, np.uint8), (4, np.uint8), (3, np.uint16), (4, np.uint16)])
def test_read_color_gives_rgb_in_8_bits_whatever_the_file_holds(tmp_path, channels, dtype):
    rng = np.random.default_rng(0)
    rgb8 = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    # stored as OpenCV writes it: B, G, R (, A); 16-bit files hold the 8-bit value in the high byte
    stored = rgb8[:, :, ::-1].astype(dtype) * (257 if dtype == np.uint16 else 1)
    if channels == 4:
        stored = np.dstack([stored, np.full((5, 7), 9, dtype)])
    path = tmp_path / "c.png"
    assert cv2.imwrite(str(path), stored)
    out = read_color(path)
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.array_equal(out, rgb8)


def test_read_depth_is_raw_units_over_scale_in_float32(tmp_path):
    from tracklift.data.images import read_depth

    raw = np.array([[0, 1, 999, 1000], [1234, 65535, 7, 4096]], np.uint16)
    assert cv2.imwrite(str(tmp_path / "d.png"), raw)
    depth = read_depth(tmp_path / "d.png", 1000.0, invalid=65535)
    expected = raw.astype(np.float32) / np.float32(1000.0)
    expected[raw == 65535] = 0
    assert depth.dtype == np.float32 and np.array_equal(depth, expected)
    assert depth[0, 3] == np.float32(1.0) and depth[1, 0] == np.float32(1.234)
