"""The shared contracts every stage relies on: Frame, FrameMasks, Instance3D, PLY and atomic IO, the CLI table."""

import importlib
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.cli import COMMANDS, main
from tracklift.core.instance import Instance3D
from tracklift.core.masks import FrameMasks
from tracklift.data.frame import BadFrameError, Frame
from tracklift.io.atomic import atomic_open, atomic_write_text
from tracklift.io.ply import Mesh, read_ply, write_ply


def make_frame(**overrides):
    fields = dict(
        color=np.zeros((4, 6, 3), np.uint8),
        depth=np.ones((4, 6), np.float32),
        K=np.array([[5.0, 0, 3], [0, 5.0, 2], [0, 0, 1]]),
        pose=np.eye(4),
        name="7",
        index=0,
    )
    fields.update(overrides)
    return Frame(**fields)


def test_frame_accepts_valid_input():
    frame = make_frame()
    assert (frame.height, frame.width) == (4, 6)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(depth=np.ones((4, 6), np.float64)), "depth must be"),
        (dict(color=np.zeros((4, 5, 3), np.uint8)), "color must be"),
        (dict(pose=np.full((4, 4), np.nan)), "NaN"),
        (dict(pose=np.eye(3)), "pose must be"),
        (dict(K=np.zeros((3, 3))), "focal"),
        (dict(depth=np.full((4, 6), np.inf, np.float32)), "NaN or inf"),
    ],
)
def test_frame_rejects_bad_input_naming_the_frame(overrides, message):
    with pytest.raises(BadFrameError, match=message) as err:
        make_frame(**overrides)
    assert "'7'" in str(err.value)


def test_frame_masks_defaults_and_checks():
    masks = FrameMasks(np.zeros((2, 3, 4), bool))
    assert masks.labels == [None, None]
    np.testing.assert_array_equal(masks.scores, [1.0, 1.0])
    assert masks.shape == (3, 4) and len(masks) == 2
    assert len(FrameMasks.empty(3, 4)) == 0
    with pytest.raises(ValueError, match="labels"):
        FrameMasks(np.zeros((2, 3, 4), bool), labels=["a"])
    with pytest.raises(ValueError, match="bool"):
        FrameMasks(np.zeros((2, 3, 4), np.uint8))


def test_instance_box_is_centre_and_size():
    inst = Instance3D(1, np.array([[0, 0, 0], [2, 4, 1]], np.float32), frames=[3, 3, 5])
    np.testing.assert_allclose(inst.box, [1, 2, 0.5, 2, 4, 1])
    assert inst.views == 2


@settings(max_examples=20, deadline=None)
@given(n=st.integers(3, 40), seed=st.integers(0, 2**31 - 1))
def test_ply_round_trip(tmp_path_factory, n, seed):
    rng = np.random.default_rng(seed)
    mesh = Mesh(
        rng.normal(size=(n, 3)).astype(np.float32),
        rng.integers(0, n, size=(n // 2, 3)),
        rng.integers(0, 256, size=(n, 3)).astype(np.uint8),
        {"instance": rng.integers(0, 9, n).astype(np.int32)},
    )
    path = tmp_path_factory.mktemp("ply") / "m.ply"
    write_ply(path, mesh)
    back = read_ply(path)
    np.testing.assert_array_equal(back.vertices, mesh.vertices)
    np.testing.assert_array_equal(back.faces, mesh.faces)
    np.testing.assert_array_equal(back.colors, mesh.colors)
    np.testing.assert_array_equal(back.vertex_data["instance"], mesh.vertex_data["instance"])


def test_ply_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.ply"):
        read_ply(tmp_path / "nope.ply")
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nend_header\n1\n")
    with pytest.raises(ValueError, match="bad.ply"):
        read_ply(bad)
    with pytest.raises(ValueError, match="faces index"):
        Mesh(np.zeros((2, 3)), np.array([[0, 1, 2]]))


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path):
    path = tmp_path / "out.txt"
    atomic_write_text(path, "finished work")
    with pytest.raises(RuntimeError):
        with atomic_open(path) as f:
            f.write("half")
            raise RuntimeError("crash mid-write")
    assert path.read_text() == "finished work"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_atomic_write_gives_usual_permissions(tmp_path):
    path = tmp_path / "shared.txt"
    atomic_write_text(path, "x")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_every_cli_command_module_configures_a_parser():
    for name, (module, _) in COMMANDS.items():
        assert callable(importlib.import_module(module).configure), name


def test_cli_help_lists_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)
