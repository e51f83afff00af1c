"""`tracklift batch` end to end on tiny generated scenes (64×48): the process pool and 2 local Ray workers
give the same bytes as `tracklift segment`; a corrupt scene fails after its retries while the others finish;
a killed worker is retried; a killed or interrupted driver is resumed from the completion markers."""

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import tracklift
from tracklift.batch.markers import STATE_DIR, completed, state_path
from tracklift.cli import main
from tracklift.eval import evaluate, read_gt_dir, read_predictions
from tracklift.synth.config import SynthConfig
from tracklift.synth.generate import generate_scene
from tracklift.vocab import load_vocabulary

GOOD = ("a", "b", "c")
SRC = str(Path(tracklift.__file__).resolve().parent.parent)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """ROOT/scans/{a,b,c} (6 frames), bad (a corrupt mesh), slow (24 frames); ROOT/masks/<scene>/ (mild
    corruption); ROOT/gt/<scene>.txt; list files good.txt and slow.txt."""
    root = tmp_path_factory.mktemp("dataset")
    for seed, (name, frames) in enumerate([("a", 6), ("b", 6), ("c", 6), ("bad", 6), ("slow", 24)]):
        scene = root / "scans" / name
        generate_scene(scene, SynthConfig(seed=seed, frames=frames, width=64, height=48, objects=5), progress=False)
        assert (
            main(["synth-masks", str(scene), "--out", str(root / "masks" / name), "--seed", str(seed), "--quiet"]) == 0
        )
        (root / "gt").mkdir(exist_ok=True)
        shutil.copy(scene / "gt" / f"{name}.txt", root / "gt")
    (root / "scans" / "bad" / "bad_vh_clean_2.ply").write_bytes(b"ply\nformat garbage\n")
    (root / "good.txt").write_text("a\nb\nc\n")
    (root / "slow.txt").write_text("slow\n")
    return root


def batch_args(root, out, *extra):
    return [
        "batch",
        str(root),
        "--out",
        str(out),
        "--masks-root",
        str(root / "masks"),
        "--pictures",
        "1",
        "--retries",
        "1",
        *extra,
    ]


def outputs(out):
    """{relative path: bytes} of the per-scene outputs (not batch.json / eval.json / the state folder, nor the
    wall-clock timings)."""
    out = Path(out)
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file()
        and STATE_DIR not in p.parts
        and p.name not in ("batch.json", "eval.json")
        and not p.name.endswith("_timings.json")
    }


def of_scenes(files, scenes):
    def scene_of(name):
        stem = name.split("/")[-1].split(".")[0]
        return next((s for s in scenes if stem == s or stem.startswith(f"{s}_")), None)

    return {k: v for k, v in files.items() if scene_of(k) in scenes}


@pytest.fixture(scope="module")
def process_run(dataset, tmp_path_factory):
    """Every scene found under ROOT, process pool of 2, with pooled evaluation: (out, exit code)."""
    out = tmp_path_factory.mktemp("process_run")
    code = main(batch_args(dataset, out, "--engine", "process", "--workers", "2", "--eval", str(dataset / "gt")))
    return out, code


def test_process_pool_runs_every_scene_and_records_the_corrupt_one(process_run, dataset):
    out, code = process_run
    assert code == 1  # a scene failed
    doc = json.loads((out / "batch.json").read_text())
    assert doc["engine"] == "process" and doc["counts"] == {"ok": 4, "failed": 1}
    bad = doc["scenes"]["bad"]
    assert bad["status"] == "failed" and bad["attempts"] == 2 and "bad_vh_clean_2.ply" in bad["error"]
    assert bad["errors"] == [bad["error"]] * 2
    assert "Traceback" in Path(bad["log"]).read_text()
    for name in (*GOOD, "slow"):
        entry = doc["scenes"][name]
        assert entry["status"] == "ok" and entry["attempts"] == 1 and "error" not in entry
        assert entry["frames"] == (24 if name == "slow" else 6) and entry["peak_rss_mb"] > 0
        assert entry["instances"] == len(json.loads((out / f"{name}.json").read_text())["instances"])
        assert state_path(out, name, "done").is_file() and not state_path(out, name, "running").exists()
    assert not (out / "bad.txt").exists() and not state_path(out, "bad", "done").exists()


def test_outputs_are_those_of_tracklift_segment(process_run, dataset, tmp_path, capsys):
    out, _ = process_run
    single = tmp_path / "single"
    assert (
        main(
            [
                "segment",
                str(dataset / "scans" / "b"),
                "--out",
                str(single),
                "--masks",
                str(dataset / "masks" / "b"),
                "--pictures",
                "1",
            ]
        )
        == 0
    )
    capsys.readouterr()
    expected = outputs(single)
    assert len(expected) >= 6 and of_scenes(outputs(out), ["b"]) == expected


def test_pooled_evaluation_matches_the_evaluator(process_run, dataset):
    out, _ = process_run
    result = json.loads((out / "eval.json").read_text())
    vocab = load_vocabulary("scannet200")
    scenes = [*GOOD, "slow"]
    gts = {s: g for s, g in read_gt_dir(dataset / "gt").items() if s in scenes}
    preds = {s: p for s, p in read_predictions(out, vocab).items() if s in scenes}
    pooled = evaluate(preds, gts, vocab)
    assert sorted(result["scenes"]) == sorted(scenes)
    assert result["pooled"]["all"]["ap50"] == pytest.approx(pooled["all"]["ap50"])
    assert set(result["pooled"]) >= {"head", "common", "tail", "classes"}
    a = evaluate({"a": preds["a"]}, {"a": gts["a"]}, vocab)["all"]
    assert result["scenes"]["a"]["ap"] == pytest.approx(a["ap"], nan_ok=True)


def test_rerun_skips_finished_scenes_and_retries_the_failed_one(process_run, dataset, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(process_run[0], out)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.txt")}
    assert main(batch_args(dataset, out, "--engine", "process", "--workers", "2")) == 1
    doc = json.loads((out / "batch.json").read_text())
    assert doc["counts"] == {"skipped": 4, "failed": 1} and doc["scenes"]["bad"]["attempts"] == 2
    assert doc["scenes"]["a"]["instances"] >= 1  # statistics of the original run
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.txt")} == before


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--max-frames", "0", "--max-frames must be ≥ 1"),
        ("--segmenter", "rgbd:min_area=abc", "option min_area must be float"),
        ("--features", "handcrafted:nope=1", "nope"),
        ("--vocab", "bogus", "bogus"),
    ],
)
def test_segment_options_a_scene_would_refuse_stop_the_batch_before_any_scene(
    dataset, tmp_path, capsys, flag, value, message
):
    out = tmp_path / "out"
    assert (
        main(batch_args(dataset, out, "--engine", "process", "--scenes", str(dataset / "good.txt"), flag, value)) == 2
    )
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("tracklift")]
    assert len(lines) == 1 and lines[0].startswith("tracklift batch: error: ") and message in lines[0], lines
    assert not (out / "batch.json").exists()


def test_changed_settings_redo_the_scene(process_run, dataset, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(process_run[0], out)
    (dataset / "one.txt").write_text("a\n")
    assert (
        main(batch_args(dataset, out, "--engine", "process", "--scenes", str(dataset / "one.txt"), "--voxel", "0.05"))
        == 0
    )
    assert json.loads((out / "batch.json").read_text())["counts"] == {"ok": 1}


def kill_when_running(out, scene, timeout=120.0):
    """A thread that SIGKILLs the process working on `scene` as soon as its running file names it."""
    killed = []

    def watch():
        path, deadline = state_path(out, scene, "running"), time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pid = json.loads(path.read_text())["pid"]
            except (FileNotFoundError, json.JSONDecodeError):
                time.sleep(0.002)
                continue
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread, killed


def check_killed_and_retried(out, process_run, killed, error):
    assert len(killed) == 1
    entry = json.loads((out / "batch.json").read_text())["scenes"]["slow"]
    assert entry["status"] == "ok" and entry["attempts"] == 2 and entry["pid"] != killed[0]
    assert len(entry["errors"]) == 1 and error in entry["errors"][0]
    assert of_scenes(outputs(out), ["slow"]) == of_scenes(outputs(process_run[0]), ["slow"])


def test_process_pool_retries_a_killed_worker(dataset, process_run, tmp_path):
    out = tmp_path / "out"
    thread, killed = kill_when_running(out, "slow")
    assert main(batch_args(dataset, out, "--engine", "process", "--scenes", str(dataset / "slow.txt"))) == 0
    thread.join()
    check_killed_and_retried(out, process_run, killed, "killed by SIGKILL")


def run_driver(dataset, out, sig):
    """`tracklift batch` (process pool, 1 worker) in a subprocess, sent `sig` once the first scene is done."""
    env = {**os.environ, "PYTHONPATH": SRC}
    driver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracklift.cli",
            *batch_args(dataset, out, "--engine", "process", "--workers", "1", "--scenes", str(dataset / "good.txt")),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not list((out / STATE_DIR).glob("*.done")) and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    driver.send_signal(sig)
    _, err = driver.communicate(timeout=60)
    return driver.returncode, err.decode()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_driver_resumes_to_identical_outputs(dataset, process_run, tmp_path, sig):
    out = tmp_path / "out"
    code, err = run_driver(dataset, out, sig)
    if sig == signal.SIGINT:
        assert code in (130, 0), err  # 0: every scene had finished before the signal landed
        doc = json.loads((out / "batch.json").read_text())
        assert {e["status"] for e in doc["scenes"].values()} <= {"ok", "interrupted"}
    else:
        assert code == -signal.SIGKILL
    for path in (out / STATE_DIR).glob("*.running"):  # the orphaned worker dies with the driver
        pid = json.loads(path.read_text())["pid"]
        for _ in range(500):
            if not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]:
                break
            time.sleep(0.01)
        else:
            pytest.fail(f"worker {pid} outlived its driver")
    done = sorted(p.name.removesuffix(".done") for p in (out / STATE_DIR).glob("*.done"))
    assert done
    assert (
        main(batch_args(dataset, out, "--engine", "process", "--workers", "2", "--scenes", str(dataset / "good.txt")))
        == 0
    )
    doc = json.loads((out / "batch.json").read_text())
    assert sorted(n for n, e in doc["scenes"].items() if e["status"] == "skipped") == done
    assert all(doc["scenes"][n]["status"] == "ok" for n in GOOD if n not in done)
    assert outputs(out) == of_scenes(outputs(process_run[0]), GOOD)


@pytest.fixture(scope="module")
def ray_session():
    pytest.importorskip("ray")
    from tracklift.batch.ray_engine import start_local_ray

    ray = start_local_ray(2)
    yield ray
    ray.shutdown()


def test_ray_two_workers_same_bytes_as_the_process_pool(ray_session, dataset, process_run, tmp_path):
    out = tmp_path / "out"
    assert (
        main(batch_args(dataset, out, "--engine", "ray", "--workers", "2", "--scenes", str(dataset / "good.txt"))) == 0
    )
    doc = json.loads((out / "batch.json").read_text())
    assert doc["engine"] == "ray" and doc["counts"] == {"ok": 3}
    assert all(e["memory_request_mb"] > 0 and e["peak_rss_mb"] > 0 for e in doc["scenes"].values())
    assert outputs(out) == of_scenes(outputs(process_run[0]), GOOD)
    assert ray_session.is_initialized()  # a session the command did not start is left open


def test_ray_retries_a_killed_worker(ray_session, dataset, process_run, tmp_path):
    out = tmp_path / "out"
    thread, killed = kill_when_running(out, "slow")
    assert main(batch_args(dataset, out, "--engine", "ray", "--scenes", str(dataset / "slow.txt"))) == 0
    thread.join()
    check_killed_and_retried(out, process_run, killed, "WorkerCrashedError")


# ---------------------------------------------------------------- SIGKILL at random moments


def check_consistent(out, scenes):
    """After a kill, per scene: an index names only mask files that exist, and a completion marker means
    every file it lists is there with its size (so a rerun may skip the scene)."""
    for scene in scenes:
        index = out / f"{scene}.txt"
        if index.exists():
            for line in index.read_text().splitlines():
                assert (out / line.split()[0]).is_file(), (scene, line)
        marker = state_path(out, scene, "done")
        if marker.exists():
            assert completed(out, scene, json.loads(marker.read_text())["settings"]) is not None, scene


def start_batch(dataset, out, *extra):
    env = {**os.environ, "PYTHONPATH": SRC}
    args = batch_args(dataset, out, "--engine", "process", "--scenes", str(dataset / "good.txt"), *extra)
    return subprocess.Popen(
        [sys.executable, "-m", "tracklift.cli", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def files_written(out):
    return sum(1 for p in out.rglob("*") if p.is_file()) if out.exists() else 0


def kill_at_random_moment(process, out, seed, total, victim):
    """SIGKILL `victim(out)` (a pid, or None while there is none) once OUT holds a number of files drawn
    from [1, total] with `seed`: moments spread over the whole run whatever the machine's speed."""
    moment = random.Random(seed).randint(1, total)
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        pid = victim(out) if files_written(out) >= moment else None
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return moment
        time.sleep(0.002)
    return None  # the run ended first


def running_worker(out):
    for path in (out / STATE_DIR).glob("*.running") if (out / STATE_DIR).is_dir() else []:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
            return json.loads(path.read_text())["pid"]
    return None


KILL_SEEDS = [0, 1, *(pytest.param(s, marks=pytest.mark.slow) for s in range(2, 12))]


@pytest.mark.parametrize("who", ["driver", "worker"])
@pytest.mark.parametrize("seed", KILL_SEEDS)
def test_sigkill_at_a_random_moment_leaves_complete_or_absent_scenes(dataset, process_run, tmp_path, who, seed):
    out = tmp_path / "out"
    reference = of_scenes(outputs(process_run[0]), GOOD)
    total = len(reference) + 2 * len(GOOD) + 1  # outputs, markers and logs, batch.json
    driver = start_batch(dataset, out, "--workers", "2", "--retries", "0")
    victim = (lambda _: driver.pid) if who == "driver" else running_worker
    assert kill_at_random_moment(driver, out, seed, total, victim) is not None
    _, err = driver.communicate(timeout=120)
    # a killed worker's scene fails (no retries), unless the worker had just finished it
    assert driver.returncode in ((-signal.SIGKILL,) if who == "driver" else (0, 1)), err.decode()
    check_consistent(out, GOOD)
    rerun = start_batch(dataset, out, "--workers", "2")
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    assert outputs(out) == reference
    assert not [p for p in out.rglob(".*.tmp")]  # temporaries of the killed run are gone
    doc = json.loads((out / "batch.json").read_text())
    assert {e["status"] for e in doc["scenes"].values()} <= {"ok", "skipped"}
