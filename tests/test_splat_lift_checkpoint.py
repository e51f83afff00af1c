"""`splat lift --checkpoint DIR --resume`: a lift killed at a random view (or stopped by SIGTERM after its
whole-scene phases) and resumed writes the same bytes as a lift that never stopped; finished phases are not
run again; checkpoints of other settings or corrupt ones are refused with one line."""

from __future__ import annotations

import pickle
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from tests.processes import run_files
from tests.splat_toy import render_ids, toy_cameras, toy_gaussians
from tests.test_splat_cli import write_id_png
from tracklift.cli import main
from tracklift.io.checkpoint import read_checkpoint
from tracklift.splat.lift_checkpoint import STATE_MODULES, LiftCheckpoint, gaussians_from_state, gaussians_state

VIEWS = 24


def write_scene(root: Path, views: int, width: int, height: int, spacing: float) -> tuple[Path, Path]:
    """(model folder, masks folder): the toy boxes' Gaussians seen by a ring of views, each view's exact
    object ids as its masks."""
    from tracklift.splat.io.camera_file import write_cameras
    from tracklift.splat.io.ply import write_gaussians_ply

    g, obj = toy_gaussians(spacing=spacing)
    cams = toy_cameras(views, width, height)
    write_gaussians_ply(root / "model" / "point_cloud.ply", g)
    write_cameras(root / "model" / "cameras.json", cams, [False] * views)
    for cam in cams:
        write_id_png(root / "masks" / f"{cam.name}.png", render_ids(g, obj, cam, 3) + 1)
    return root / "model", root / "masks"


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> tuple[Path, Path, dict[str, bytes]]:
    """~800 Gaussians, 24 views of 64×48 (some tens of milliseconds of tracing per view, so a kill lands in
    the middle of the pass), and the files of an uninterrupted lift."""
    root = tmp_path_factory.mktemp("lift_ckpt")
    model, masks = write_scene(root, VIEWS, 64, 48, 0.07)
    return model, masks, lifted(model, masks, root)


def copy_model(model: Path, where: Path) -> Path:
    return Path(shutil.copytree(model, where / "model"))


def lift_args(model: Path, masks: Path, *extra: str) -> list[str]:
    return ["splat", "lift", str(model), "--masks", str(masks), *extra]


def lifted(model: Path, masks: Path, where: Path, *extra: str) -> dict[str, bytes]:
    """The files of an uninterrupted lift (no checkpoint) of a fresh copy of the model."""
    fresh = copy_model(model, where / "whole")
    assert main(lift_args(fresh, masks, *extra)) == 0
    return run_files(fresh)


def wait_until(path: Path, proc, done, timeout: float = 120.0) -> dict:
    """The phases of the checkpoint at `path` once `done(phases)` holds (the run still going)."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"the lift ended (exit {proc.returncode}) before the awaited checkpoint"
        assert time.monotonic() < deadline, f"no awaited checkpoint after {timeout} s"
        if path.exists():
            phases = read_checkpoint(path, STATE_MODULES)["phases"]
            if done(phases):
                return phases
        time.sleep(0.005)


def traced_to(view: int):
    return lambda phases: "tracing" in phases and phases["tracing"].next_view >= view


@pytest.mark.parametrize(("seed", "signum"), [(0, signal.SIGKILL), (1, signal.SIGTERM)])
def test_stopped_at_a_random_view_then_resumed_writes_the_same_bytes(scene, tmp_path, capsys, running, seed, signum):
    model, masks, expected = scene
    work, ckpt = copy_model(model, tmp_path), tmp_path / "ckpt"
    args = lift_args(work, masks, "--checkpoint", str(ckpt), "--checkpoint-every", "1")
    path = ckpt / "model_lift.ckpt"
    proc = running(args)
    wait_until(path, proc, traced_to(int(np.random.default_rng(seed).integers(1, VIEWS // 2))))
    proc.send_signal(signum)
    # SIGTERM: the pass is saved at the next view and the run stops with SIGTERM's exit status
    assert proc.wait(timeout=120) == (-signal.SIGKILL if signum == signal.SIGKILL else 128 + signal.SIGTERM)
    stopped_at = read_checkpoint(path, STATE_MODULES)["phases"]["tracing"].next_view
    assert 0 < stopped_at < VIEWS  # stopped in the middle of the pass ...
    assert not (work / "instances.npy").exists()  # ... before any output
    capsys.readouterr()
    assert main(args + ["--resume"]) == 0
    assert run_files(work) == expected
    assert not path.exists()  # done: nothing left to resume


def test_killed_after_the_whole_scene_phases_resumes_without_running_them_again(tmp_path, running, monkeypatch):
    model, masks = write_scene(tmp_path / "small", 12, 64, 48, 0.1)
    flags = ("--correct", "--split-prune")
    expected = lifted(model, masks, tmp_path, *flags)
    work, ckpt = copy_model(model, tmp_path), tmp_path / "ckpt"
    args = lift_args(work, masks, *flags, "--checkpoint", str(ckpt), "--checkpoint-every", "1")
    path = ckpt / "model_lift.ckpt"
    proc = running(args)
    wait_until(path, proc, lambda phases: "split_prune" in phases)
    proc.kill()
    proc.wait()
    assert {"correct", "split_prune"} <= set(read_checkpoint(path, STATE_MODULES)["phases"])

    def must_not_run(*_args, **_kwargs):
        raise AssertionError("a finished phase ran again")

    monkeypatch.setattr("tracklift.splat.trace3d.correct.correct_masks", must_not_run)
    monkeypatch.setattr("tracklift.splat.trace3d.instance_split.split_and_prune", must_not_run)
    assert main(args + ["--resume"]) == 0
    assert run_files(work) == expected  # corrected masks, split/pruned Gaussians, instances
    assert any(name.startswith("corrected_masks/") for name in expected)


def test_resume_refuses_other_settings_and_bad_files(scene, tmp_path, capsys):
    model, masks, _ = scene
    work, ckpt = copy_model(model, tmp_path), tmp_path / "ckpt"
    path = ckpt / "model_lift.ckpt"
    LiftCheckpoint(path, "0123456789abcdef").finish("correct", None)
    args = lift_args(work, masks, "--checkpoint", str(ckpt), "--resume")
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == (
        f"tracklift splat: error: {path}: made with other settings (inputs or options differ); "
        "delete it or run without --resume"
    )
    path.write_bytes(b"\x80\x05garbage")
    assert main(args) == 2
    assert f"{path}: not a readable checkpoint" in capsys.readouterr().err
    assert main(lift_args(work, masks, "--resume")) == 2
    assert "--resume needs --checkpoint DIR" in capsys.readouterr().err
    assert main(lift_args(work, masks, "--checkpoint", str(ckpt), "--checkpoint-every", "0")) == 2
    assert "checkpoint interval must be ≥ 1 view" in capsys.readouterr().err


def test_resumed_tracing_pass_equals_an_unbroken_one():
    from tracklift.splat.trace3d.tracing import trace_instances

    g, obj = toy_gaussians()
    cams = toy_cameras(5)
    maps = [render_ids(g, obj, c, 3) for c in cams]
    whole = trace_instances(g, cams, maps)
    saved = []  # as a checkpoint holds it: a snapshot taken after the second view

    def after_view(traced):
        if traced.next_view == 2:
            saved.append(pickle.dumps(traced))

    trace_instances(g, cams, maps, after_view=after_view)
    resumed = trace_instances(g, cams, maps, resume=pickle.loads(saved[0]))
    assert len(resumed.table) == len(whole.table) > 0
    for column in ("primitive", "view", "label", "weight"):
        assert np.array_equal(getattr(resumed.table, column), getattr(whole.table, column))
    assert np.array_equal(resumed.offsets, whole.offsets)


def test_gaussians_survive_the_checkpoint_bit_for_bit():
    g, _ = toy_gaussians()
    back = gaussians_from_state(gaussians_state(g))
    for a, b in zip(g.parameters(), back.parameters()):
        assert a.dtype == b.dtype and np.array_equal(a.numpy(), b.numpy())
