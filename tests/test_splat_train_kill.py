"""`splat train` killed with SIGKILL: at a random step, `--resume` ends with the same outputs as an unbroken
run (the model byte for byte); at any moment, the output folder holds a complete model or none."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.processes import start
from tests.splat_toy import toy_cameras
from tests.test_splat_cli import smooth_scannet
from tracklift.cli import main
from tracklift.splat.train.loop import CHECKPOINT, MODEL, TrainConfig, train_gaussians

ITERS = 60
WALL_CLOCK = ("seconds", "seconds_per_iteration")  # the only outputs that differ between runs


def train_args(scene: Path, out: Path, *extra: str) -> list[str]:
    flags = ["--iters", str(ITERS), "--sh-degree", "1", "--voxel", "0.1", "--holdout-every", "3"]
    return ["splat", "train", str(scene), "--out", str(out), *flags, "--checkpoint-every", "1", *extra]


def model_outputs(out: Path) -> dict:
    """The files of a model folder (its checkpoint aside), metrics.json without its wall-clock times."""
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and p.name != CHECKPOINT}
    metrics = json.loads(files.pop("metrics.json"))
    return {**files, "metrics": {k: v for k, v in metrics.items() if k not in WALL_CLOCK}}


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> tuple[Path, dict]:
    """A 6-frame RGB-D scene of 64×48 and the outputs of an unbroken training on it."""
    root = tmp_path_factory.mktemp("train_kill")
    fx = smooth_scannet(root, n=6)
    assert main(train_args(fx.root, root / "whole")) == 0
    return fx.root, model_outputs(root / "whole")


def wait_until(proc, ready, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"training ended (exit {proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.005)


def resume(args: list[str]) -> int:
    """`ARGS --resume` as the user would run it after the kill: a new process (which, unlike this one, started
    after the killed writer, so it removes the temporary files that writer left)."""
    return start([*args, "--resume"]).wait(timeout=300)


def checkpointed_step(path: Path) -> int:
    return int(torch.load(path, weights_only=True)["step"]) if path.exists() else 0


@pytest.mark.parametrize("seed", [0, 1])
def test_killed_at_a_random_step_then_resumed_equals_an_unbroken_run(scene, tmp_path, running, seed):
    root, expected = scene
    out = tmp_path / "model"
    args = train_args(root, out)
    proc = running(args)
    target = int(np.random.default_rng(seed).integers(1, ITERS // 3))
    wait_until(proc, lambda: checkpointed_step(out / CHECKPOINT) >= target, f"a checkpoint at step {target}")
    proc.kill()
    proc.wait()
    assert target <= checkpointed_step(out / CHECKPOINT) < ITERS  # killed in the middle of training ...
    assert not (out / MODEL).exists() and not (out / "metrics.json").exists()  # ... so no model yet
    assert resume(args) == 0
    assert model_outputs(out) == expected  # point_cloud.ply, cameras.json, source.json byte for byte


def test_a_kill_while_the_outputs_are_written_leaves_a_complete_model_or_none(scene, tmp_path, running):
    root, expected = scene
    out = tmp_path / "model"
    proc = running(train_args(root, out))
    written = ("metrics.json", "cameras.json", "source.json")
    wait_until(proc, lambda: any((out / name).exists() for name in written), "the first output")
    proc.kill()
    proc.wait()
    if (out / MODEL).exists():
        assert model_outputs(out) == expected
    else:
        assert checkpointed_step(out / CHECKPOINT) == ITERS  # trained, not yet complete: a resume finishes it
    assert resume(train_args(root, out)) == 0
    assert model_outputs(out) == expected  # and the temporary file a write killed half-way is gone


def test_the_old_model_is_removed_first_and_the_new_one_written_last(tmp_path):
    cams = toy_cameras(3, 16, 12)
    images = [np.zeros((c.height, c.width, 3), np.uint8) for c in cams]
    (tmp_path / MODEL).write_text("an older model")
    seen = []
    config = TrainConfig(iterations=1, sh_degree=0, holdout_every=0, random_init_points=10, densify_until=0)
    train_gaussians(cams, images, config, tmp_path, before_model=lambda m: seen.append((tmp_path / MODEL).exists()))
    assert seen == [False] and (tmp_path / MODEL).read_bytes().startswith(b"ply")
