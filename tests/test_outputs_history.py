"""The growth history a run records for the viewer's frame slider: first steps of voxels, the file round trip,
bad files, and what `tracklift segment` writes."""

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.cli import main
from tracklift.lift.voxels import key_centres, pack_keys, unique_keys
from tracklift.outputs.history import (
    GrowthRecorder,
    first_steps,
    first_steps_reference,
    read_history,
    write_history,
)

from .test_pipeline_cli import scene  # noqa: F401  (module fixture: a scene folder and its masks)


def fake_frame(index: int, name: str | None = None):
    pose = np.eye(4)
    pose[0, 3] = index
    return SimpleNamespace(
        name=name or str(index), index=index, pose=pose, K=np.diag([50.0, 50.0, 1.0]), width=32, height=24
    )


def fake_mapper(tracks: dict[int, list[int]]):
    return SimpleNamespace(
        tracker=SimpleNamespace(
            tracks={
                t: SimpleNamespace(voxels=SimpleNamespace(keys=np.array(sorted(k), np.int64)))
                for t, k in tracks.items()
            }
        )
    )


def test_first_steps_hand_computed():
    keys, steps = first_steps(np.zeros(0, np.int64), np.zeros(0, np.int32), np.array([7, 3, 7]), 0)
    assert keys.tolist() == [3, 7] and steps.tolist() == [0, 0]
    keys, steps = first_steps(keys, steps, np.array([5, 3, 9]), 4)
    assert keys.tolist() == [3, 5, 7, 9] and steps.tolist() == [0, 4, 0, 4]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(-50, 50), max_size=12), max_size=6))
def test_first_steps_matches_the_reference(batches):
    fast = ref = (np.zeros(0, np.int64), np.zeros(0, np.int32))
    for step, batch in enumerate(batches):
        fast = first_steps(*fast, np.array(batch, np.int64), step)
        ref = first_steps_reference(*ref, np.array(batch, np.int64), step)
        np.testing.assert_array_equal(fast[0], ref[0])
        np.testing.assert_array_equal(fast[1], ref[1])


def test_recorder_keeps_the_first_step_of_each_voxel_and_the_cameras(tmp_path):
    voxel = 0.1
    k = pack_keys(np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [5, 5, 5]]))
    rec = GrowthRecorder()
    rec.record(fake_mapper({0: [k[0], k[1]]}), fake_frame(0), None, [0])
    # frame 1 grows track 0 by voxel 2 and starts track 1; track 2 exists but this frame did not touch it
    rec.record(fake_mapper({0: [k[0], k[1], k[2]], 1: [k[3]], 2: [k[0]]}), fake_frame(1), None, [0, 1, -1])
    assert rec.tracks == [1, 3] and rec.voxels == [2, 5]
    centres = key_centres(k, voxel)
    far = np.array([[9.0, 9.0, 9.0]], np.float32)
    steps = rec.point_steps(np.concatenate([centres, far]), voxel, radius=0.05)
    assert steps.tolist() == [0, 0, 1, 1, -1]
    path = write_history(tmp_path / "s_history.npz", rec, steps)
    h = read_history(path, points=5)
    assert h.steps == 2 and h.frame_name == ["0", "1"] and h.image_size == (32, 24)
    assert h.point_step.tolist() == [0, 0, 1, 1, -1] and h.pose[1, 0, 3] == 1.0 and h.K[0, 0, 0] == 50.0
    again = tmp_path / "again.npz"
    write_history(again, rec, steps)
    assert again.read_bytes() == path.read_bytes()  # deterministic


def test_bad_history_files(tmp_path):
    rec = GrowthRecorder()
    rec.record(fake_mapper({}), fake_frame(0), None, [])
    path = write_history(tmp_path / "h.npz", rec, np.zeros(3, np.int32))
    with pytest.raises(ValueError, match="covers 3 points, the instances file has 4"):
        read_history(path, points=4)
    with pytest.raises(FileNotFoundError, match="no such history file"):
        read_history(tmp_path / "missing.npz")
    old = tmp_path / "old.npz"
    np.savez(old, frame_name=np.array(["0"]))
    with pytest.raises(ValueError, match="missing arrays .*older"):
        read_history(old)
    arrays = dict(np.load(path))
    arrays["version"] = np.int32(99)
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(ValueError, match="history version 99"):
        read_history(tmp_path / "future.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a history .npz"):
        read_history(tmp_path / "text.npz")


def test_segment_records_the_history_beside_its_outputs(scene, tmp_path, capsys):  # noqa: F811
    root, masks_dir = scene
    out = tmp_path / "out"
    assert (
        main(
            [
                "segment",
                str(root),
                "--out",
                str(out),
                "--masks",
                str(masks_dir),
                "--voxel",
                "0.05",
                "--features",
                "none",
                "--mode",
                "spatial",
                "--pictures",
                "0",
            ]
        )
        == 0
    )
    capsys.readouterr()
    with np.load(out / "boxes_instances.npz") as npz:
        owner = npz["instance_of_point"]
    h = read_history(out / "boxes_history.npz", points=len(owner))
    assert h.frame_name == [str(i) for i in range(12) if i != 5]  # frame 5 has a NaN pose and is skipped
    assert (np.diff(h.frame_index) > 0).all() and (h.tracks > 0).all()
    # every point of an instance was tracked at some step, and the map grows over the stream
    assert (h.point_step[owner >= 0] >= 0).all()
    shown = [int(((h.point_step >= 0) & (h.point_step <= t)).sum()) for t in range(h.steps)]
    assert shown == sorted(shown) and shown[0] < shown[-1]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), radius=st.sampled_from([0.02, 0.05, 0.3]))
def test_point_steps_by_key_lookup_equal_one_query_per_point(seed, radius):
    """Recorded voxels in a small block; points by their centres, in empty voxels nearby, and far away."""
    rng = np.random.default_rng(seed)
    voxel = 0.1
    rec = GrowthRecorder()
    rec.keys = unique_keys(pack_keys(rng.integers(-3, 3, (40, 3))))
    rec.first = rng.integers(0, 9, len(rec.keys)).astype(np.int32)
    near_centres = key_centres(rec.keys[:10], voxel) + rng.uniform(-0.01, 0.01, (10, 3))
    scattered = [rng.uniform(-0.4, 0.4, (300, 3)), rng.uniform(-50, 50, (20, 3))]
    points = np.concatenate([near_centres, *scattered]).astype(np.float32)
    fast = rec.point_steps(points, voxel, radius)
    np.testing.assert_array_equal(fast, rec.point_steps_reference(points, voxel, radius))
    assert (fast >= 0).any()
