"""`segment` SIGKILLed while it writes its outputs leaves a complete scene or none: an index `<scene>.txt` only
beside every file it names, with the bytes of a run that never stopped; the next run cleans up and finishes.

The kill lands just before the k-th `os.replace` of the process (every output file is written to a temporary
and renamed), so each k is a moment at which one file's bytes are on disk under their temporary name."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.processes import cli_env, run_files
from tracklift.cli import main

# Counts the process's renames into COUNT_FILE at exit; SIGKILLs the process at the KILL_AT-th (0 = never).
KILLER = """
import atexit, json, os, signal, sys
kill_at, count_file = int(sys.argv[1]), sys.argv[2]
renames, real_replace = [], os.replace
def replace(src, dst, **kw):
    renames.append(os.fspath(dst))
    if len(renames) == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, **kw)
os.replace = replace
atexit.register(lambda: open(count_file, "w").write(json.dumps(renames)))
from tracklift.cli import main
sys.exit(main(sys.argv[3:]))
"""


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    base = tmp_path_factory.mktemp("killwrites")
    scene, masks = base / "scene0011_00", base / "masks"
    assert main(["synth", str(scene), "--frames", "12", "--width", "128", "--height", "96", "--objects", "6"]) == 0
    assert main(["synth-masks", str(scene), "--out", str(masks), "--preset", "mild", "--quiet"]) == 0
    return scene, masks


def segment_args(scene, masks, out) -> list[str]:
    return ["segment", str(scene), "--masks", str(masks), "--out", str(out), "--pictures", "1", "--read-threads", "1"]


def run_killed_at(k: int, args: list[str], count_file) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", KILLER, str(k), str(count_file), *args],
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def uninterrupted(room, tmp_path_factory):
    """The outputs of a run that never stopped, and the files it renamed into place, in order."""
    scene, masks = room
    base = tmp_path_factory.mktemp("whole")
    done = run_killed_at(0, segment_args(scene, masks, base / "out"), base / "renames.json")
    assert done.returncode == 0, done.stderr
    out = base / "out"
    renames = [Path(r) for r in json.loads((base / "renames.json").read_text())]
    return run_files(out), [r.relative_to(out).as_posix() for r in renames if r.is_relative_to(out)]


def test_the_index_is_renamed_into_place_after_every_file_it_names(uninterrupted):
    files, renames = uninterrupted
    index = next(r for r in renames if r.endswith("_00.txt"))
    named = [line.split()[0] for line in files[index].decode().splitlines()]
    assert named and all(renames.index(m) < renames.index(index) for m in named)
    assert renames.index(index) > renames.index(index.replace(".txt", ".json"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_killed_while_writing_leaves_a_complete_scene_or_none(room, uninterrupted, tmp_path, seed):
    scene, masks = room
    files, renames = uninterrupted
    index = next(r for r in renames if r.endswith("_00.txt"))
    # seed 0 kills just before the index lands, the others at a random rename
    k = renames.index(index) + 1 if seed == 0 else int(np.random.default_rng(seed).integers(1, len(renames) + 1))
    out = tmp_path / "out"
    killed = run_killed_at(k, segment_args(scene, masks, out), tmp_path / "renames.json")
    assert killed.returncode == -signal.SIGKILL
    left = run_files(out)
    if index in left:
        for line in left[index].decode().splitlines():
            assert line.split()[0] in left, f"the index names {line.split()[0]}, which is missing"
        assert {name: left[name] for name in files if name.endswith((".txt", ".json", ".npz", ".ply"))} == {
            name: data for name, data in files.items() if name.endswith((".txt", ".json", ".npz", ".ply"))
        }
    else:
        assert k <= renames.index(index) + 1
    # the next run in a new process, as a user would run it (it removes the killed writer's temporaries)
    assert run_killed_at(0, segment_args(scene, masks, out), tmp_path / "renames.json").returncode == 0
    assert run_files(out) == files
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
