"""The batch benchmark's byte-for-byte comparison of output folders."""

from __future__ import annotations

from benchmarks.batch import scene_outputs


def test_scene_outputs_compare_scene_files_and_leave_out_wall_clock_and_bookkeeping(tmp_path):
    (tmp_path / "pred_mask").mkdir()
    (tmp_path / ".batch").mkdir()
    for name, text in {
        "s0.txt": "pred_mask/s0_1.txt 5 0.9\n",
        "pred_mask/s0_1.txt": "1\n0\n",
        "s0.json": "{}",
        "s0_history.npz": "h",
        "s0_timings.json": '{"seconds": {"read": 0.1}}',  # wall clock: differs from run to run by nature
        "batch.json": "{}",
        "eval.json": "{}",
        ".batch/s0.done": "k",
    }.items():
        (tmp_path / name).write_text(text)
    assert sorted(scene_outputs(tmp_path)) == ["pred_mask/s0_1.txt", "s0.json", "s0.txt", "s0_history.npz"]
    assert scene_outputs(tmp_path)["s0.txt"] == b"pred_mask/s0_1.txt 5 0.9\n"
