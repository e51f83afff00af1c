"""`tracklift.batch` bookkeeping: the memory request formula, completion markers (what makes a scene count
as done), peak RSS."""

import numpy as np
import pytest

from tracklift.batch.markers import completed, scene_files, settings_key, state_path, write_marker
from tracklift.batch.memory import BASE, MB, peak_rss, reset_peak, scene_memory


def test_scene_memory_formula_by_hand():
    # 640×480, 2000 frames: BASE + 307200 · (200 + 2000 · 3.5) bytes
    assert scene_memory(2000, 640, 480) == BASE + 307200 * 200 + 307200 * 7000
    assert scene_memory(0, 0, 0) == BASE
    assert scene_memory(10, 64, 48) < scene_memory(20, 64, 48) < scene_memory(20, 128, 96)
    with pytest.raises(ValueError, match="non-negative"):
        scene_memory(-1, 64, 48)


def fake_outputs(out, scene, masks=2):
    (out / "pred_mask").mkdir(parents=True, exist_ok=True)
    lines = []
    for k in range(masks):
        (out / "pred_mask" / f"{scene}_{k}.txt").write_text("0\n1\n")
        lines.append(f"pred_mask/{scene}_{k}.txt 5 0.9\n")
    (out / f"{scene}.txt").write_text("".join(lines))
    for name in (f"{scene}.json", f"{scene}_instances.npz", f"{scene}_instances.ply", f"{scene}_frames.png"):
        (out / name).write_text("x")


def test_scene_files_lists_exactly_the_scene_outputs(tmp_path):
    fake_outputs(tmp_path, "s0")
    fake_outputs(tmp_path, "s0_1")  # a scene whose name extends another's
    files = sorted(p.relative_to(tmp_path).as_posix() for p in scene_files(tmp_path, "s0"))
    assert files == [
        "pred_mask/s0_0.txt",
        "pred_mask/s0_1.txt",
        "s0.json",
        "s0.txt",
        "s0_frames.png",
        "s0_instances.npz",
        "s0_instances.ply",
    ]


def test_marker_complete_only_for_same_settings_and_unchanged_files(tmp_path):
    fake_outputs(tmp_path, "s")
    key = settings_key({"voxel": 0.03, "path": "/data/s"})
    assert key == settings_key({"path": "/data/s", "voxel": 0.03}) != settings_key({"voxel": 0.05, "path": "/data/s"})
    assert completed(tmp_path, "s", key) is None
    write_marker(tmp_path, "s", key, {"status": "ok", "instances": 2})
    assert state_path(tmp_path, "s", "done").is_file()
    assert completed(tmp_path, "s", key) == {"status": "ok", "instances": 2}
    assert completed(tmp_path, "s", "other") is None
    (tmp_path / "pred_mask" / "s_1.txt").write_text("0\n")  # truncated mask file
    assert completed(tmp_path, "s", key) is None
    (tmp_path / "pred_mask" / "s_1.txt").write_text("0\n1\n")
    (tmp_path / "s.json").unlink()
    assert completed(tmp_path, "s", key) is None


def test_peak_rss_sees_an_allocation_and_resets():
    reset_peak()
    before = peak_rss()
    block = np.ones(64 * MB, np.uint8)  # touched pages count
    assert peak_rss() >= before + 60 * MB
    del block
    if reset_peak():
        assert peak_rss() < before + 60 * MB


def test_stale_atomic_temporaries_are_removed(tmp_path):
    from tracklift.io.atomic import atomic_write_text, remove_stale_temporaries

    atomic_write_text(tmp_path / "a.json", "{}")
    (tmp_path / ".a.json.k3j2.tmp").write_text("{")  # what a SIGKILL mid-write leaves
    assert remove_stale_temporaries(tmp_path) == 1 and remove_stale_temporaries(tmp_path / "none") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
