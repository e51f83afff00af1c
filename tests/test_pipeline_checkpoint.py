"""Checkpoints: a run killed at a random frame and resumed writes the same bytes as a run that never stopped;
checkpoints of other settings, corrupt ones and foreign pickles are refused with one clear line."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.processes import run_files, start
from tracklift.cli import main
from tracklift.io.safe_pickle import ForbiddenGlobalError
from tracklift.pipeline.checkpoint import Checkpointer, load_checkpoint, read_checkpoint, settings_key


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """A small synthetic room (40 frames) and its corrupted masks."""
    base = tmp_path_factory.mktemp("ckpt")
    scene, masks = base / "scene0007_00", base / "masks"
    assert (
        main(
            [
                "synth",
                str(scene),
                "--frames",
                "40",
                "--width",
                "160",
                "--height",
                "120",
                "--objects",
                "8",
                "--seed",
                "3",
                "--quiet",
            ]
        )
        == 0
    )
    assert main(["synth-masks", str(scene), "--out", str(masks), "--preset", "mild", "--quiet"]) == 0
    return scene, masks


def segment_args(scene: Path, masks: Path, out: Path, *extra: str) -> list[str]:
    return ["segment", str(scene), "--masks", str(masks), "--out", str(out), "--pictures", "1", *extra]


@pytest.fixture(scope="module")
def uninterrupted(room, tmp_path_factory):
    scene, masks = room
    out = tmp_path_factory.mktemp("whole") / "out"
    assert main(segment_args(scene, masks, out)) == 0
    return run_files(out)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before writing {path}"
        assert time.monotonic() < deadline, f"no checkpoint after {timeout} s"
        time.sleep(0.02)


@pytest.mark.parametrize("seed", [0, 1])
def test_killed_at_a_random_frame_then_resumed_writes_the_same_bytes(room, uninterrupted, tmp_path, capsys, seed):
    scene, masks = room
    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    args = segment_args(scene, masks, out, "--checkpoint", str(ckpt), "--checkpoint-every", "3")
    proc = start(args)
    wait_for(ckpt / f"{scene.name}.ckpt", proc)
    time.sleep(np.random.default_rng(seed).uniform(0.0, 0.15))  # a little further on, somewhere random
    proc.kill()
    proc.wait()
    assert 0 < read_checkpoint(ckpt / f"{scene.name}.ckpt")["next_frame"] <= 40
    capsys.readouterr()
    assert main(args + ["--resume"]) == 0
    assert run_files(out) == uninterrupted
    assert not (ckpt / f"{scene.name}.ckpt").exists()  # done: nothing left to resume


def test_a_folded_tracing_table_is_checkpointed_and_changes_no_output(room, uninterrupted, tmp_path, capsys):
    scene, masks = room
    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    # ~2,500 tracing-table entries per frame here: the first frame already passes the budget, and the table is
    # folded again each time it doubles, before the first save
    args = segment_args(
        scene, masks, out, "--checkpoint", str(ckpt), "--checkpoint-every", "3", "--trace-budget", "500"
    )
    proc = start(args)
    wait_for(ckpt / f"{scene.name}.ckpt", proc)
    proc.kill()
    proc.wait()
    saved = read_checkpoint(ckpt / f"{scene.name}.ckpt")
    assert saved["mapper"].tracker.table.folded
    capsys.readouterr()
    assert main(args + ["--resume"]) == 0
    assert run_files(out) == uninterrupted


def test_sigterm_saves_a_checkpoint_and_stops(room, uninterrupted, tmp_path):
    scene, masks = room
    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    args = segment_args(scene, masks, out, "--checkpoint", str(ckpt), "--checkpoint-every", "5")
    proc = start(args)
    wait_for(ckpt / f"{scene.name}.ckpt", proc)
    proc.send_signal(signal.SIGTERM)  # saved at the next frame boundary, then the run stops as SIGTERM would
    assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    assert (ckpt / f"{scene.name}.ckpt").exists() and not (out / f"{scene.name}.txt").exists()
    assert main(args + ["--resume"]) == 0
    assert run_files(out) == uninterrupted


def test_resume_refuses_other_settings_and_bad_files(room, tmp_path, capsys):
    scene, masks = room
    ckpt = tmp_path / "ckpt"
    path = ckpt / f"{scene.name}.ckpt"
    Checkpointer(path, "0123456789abcdef").save({"next_frame": 3})
    args = segment_args(scene, masks, tmp_path / "out", "--checkpoint", str(ckpt), "--resume")
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == (
        f"tracklift segment: error: {path}: made with other settings (scene, "
        "masks or options differ); delete it or run without --resume"
    )
    path.write_bytes(b"\x80\x05garbage")
    assert main(args) == 2
    assert f"{path}: not a readable checkpoint" in capsys.readouterr().err
    assert main(segment_args(scene, masks, tmp_path / "out", "--resume")) == 2
    assert "--resume needs --checkpoint DIR" in capsys.readouterr().err


def test_a_checkpoint_naming_other_code_is_refused(tmp_path):
    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps({"version": 1, "key": "k", "run": os.system}))
    with pytest.raises(ForbiddenGlobalError, match="refusing to load global posix.system"):
        load_checkpoint(path, "k")
    assert load_checkpoint(tmp_path / "none.ckpt", "k") is None


def test_checkpointer_saves_every_n_frames_and_on_a_signal(tmp_path):
    path = tmp_path / "c.ckpt"
    checkpointer = Checkpointer(path, "k", every=3)
    for frame in range(1, 6):
        checkpointer.after_frame({"next_frame": frame})
    assert load_checkpoint(path, "k")["next_frame"] == 3
    checkpointer.signal = signal.SIGINT
    with pytest.raises(KeyboardInterrupt):
        checkpointer.after_frame({"next_frame": 6})
    assert load_checkpoint(path, "k")["next_frame"] == 6
    with pytest.raises(ValueError, match="≥ 1 frame"):
        Checkpointer(path, "k", every=0)


def test_settings_key_depends_on_every_setting():
    base = {"scene": "/a", "masks": "/m", "config": "C(voxel=0.03)"}
    assert settings_key(base) == settings_key(dict(reversed(base.items())))
    assert len({settings_key({**base, k: "other"}) for k in base} | {settings_key(base)}) == 4
