"""Camera helpers (intrinsics files, rescaling, pose checks, quaternions) and TUM timestamp association."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.data.camera import (
    pose_problem,
    quaternion_to_matrix,
    read_intrinsics_txt,
    read_matrix_txt,
    scale_intrinsics,
)
from tracklift.data.formats.common import natural_key, read_pose_rows
from tracklift.data.formats.tum import associate, nearest
from tracklift.data.frame import BadFrameError

K = np.array([[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize(
    "text",
    ["500 510 320 240", "500 0 320\n0 510 240\n0 0 1\n", "500 0 320 0\n0 510 240 0\n0 0 1 0\n0 0 0 1\n"],
    ids=["fx-fy-cx-cy", "3x3", "4x4"],
)
def test_read_intrinsics_forms(tmp_path, text):
    (tmp_path / "k.txt").write_text(text)
    np.testing.assert_array_equal(read_intrinsics_txt(tmp_path / "k.txt"), K)


@pytest.mark.parametrize(
    ("text", "match"), [("1 2 3", "found 3 numbers"), ("a b c d", "must be numbers"), ("0 0 1 1", "positive fx")]
)
def test_read_intrinsics_errors_name_the_file(tmp_path, text, match):
    (tmp_path / "k.txt").write_text(text)
    with pytest.raises(ValueError, match=match) as err:
        read_intrinsics_txt(tmp_path / "k.txt")
    assert "k.txt" in str(err.value)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_intrinsics_txt(tmp_path / "nope.txt")


def test_read_matrix_txt_errors(tmp_path):
    (tmp_path / "p.txt").write_text("1 0 0 x\n")
    with pytest.raises(BadFrameError, match="p.txt: not a numeric matrix"):
        read_matrix_txt(tmp_path / "p.txt", (4, 4))


def test_scale_intrinsics_hand_computed():
    # 1296×968 -> 640×480: s = (0.49383, 0.49587); c' = (c + 0.5) s - 0.5
    out = scale_intrinsics(K, (1296, 968), (640, 480))
    sx, sy = 640 / 1296, 480 / 968
    np.testing.assert_allclose(out, [[500 * sx, 0, 320.5 * sx - 0.5], [0, 510 * sy, 240.5 * sy - 0.5], [0, 0, 1]])
    np.testing.assert_array_equal(scale_intrinsics(K, (640, 480), (640, 480)), K)


def test_scale_intrinsics_matches_resized_image_centres():
    # the centre of a bright 2×2 block at colour pixels (10..11, 6..7) lands where scaled K says it does
    image = np.zeros((16, 32), np.float32)
    image[6:8, 10:12] = 1.0
    small = cv2.resize(image, (16, 8), interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero(small)
    Kc = np.array([[1.0, 0, 10.5], [0, 1.0, 6.5], [0, 0, 1]])  # principal point at the block centre
    Kd = scale_intrinsics(Kc, (32, 16), (16, 8))
    assert (Kd[0, 2], Kd[1, 2]) == (xs.mean(), ys.mean()) == (5.0, 3.0)


def test_pose_problem():
    assert pose_problem(np.eye(4)) is None
    assert "NaN or inf" in pose_problem(np.full((4, 4), -np.inf))
    assert "rigid" in pose_problem(np.diag([1.0, 1.0, 1.5, 1.0]))
    assert "reflection" in pose_problem(np.diag([1.0, 1.0, -1.0, 1.0]))
    assert "4×4" in pose_problem(np.eye(3))


def test_quaternion_to_matrix_known_rotation():
    # 90° about z maps x to y
    q = np.array([np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)])
    np.testing.assert_allclose(quaternion_to_matrix(q) @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-15)
    assert np.isnan(quaternion_to_matrix(np.zeros(4))).all()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(lambda q: np.linalg.norm(q) > 1e-3))
def test_quaternion_to_matrix_is_a_rotation_and_sign_invariant(q):
    R = quaternion_to_matrix(np.array(q))
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    np.testing.assert_allclose(quaternion_to_matrix(-np.array(q)), R, atol=1e-12)


times = st.lists(st.integers(0, 2000).map(lambda k: k / 200.0), min_size=0, max_size=25, unique=True)


@settings(max_examples=60, deadline=None)
@given(times, times)
def test_nearest_matches_brute_force(query, ref):
    query, ref = np.array(query), np.sort(np.array(ref))
    got = nearest(query, ref, 0.02)
    for q, g in zip(query, got):
        d = np.abs(ref - q) if len(ref) else np.array([np.inf])
        if d.min() > 0.02:
            assert g == -1
        else:
            assert g >= 0 and abs(ref[g] - q) == d.min()


@settings(max_examples=60, deadline=None)
@given(times, times)
def test_associate_matches_greedy_brute_force(a, b):
    a, b = np.array(a), np.array(b)
    # reference: all pairs within 0.02 s, closest first, each time used once
    pairs_all = sorted((abs(x - y), i, j) for i, x in enumerate(a) for j, y in enumerate(b) if abs(x - y) <= 0.02)
    used_a, used_b, expected = set(), set(), []
    for _, i, j in pairs_all:
        if i not in used_a and j not in used_b:
            used_a.add(i), used_b.add(j), expected.append((i, j))
    assert associate(a, b, 0.02) == sorted(expected)


def test_associate_prefers_the_closest_pair():
    # colour 0.00 and 0.01 both lie within 0.02 s of depth 0.015: the closer (0.01) takes it
    assert associate(np.array([0.0, 0.01]), np.array([0.015])) == [(1, 0)]


def test_natural_key_orders_numbers_by_value():
    assert sorted(["frame10", "frame2", "frame1", "a"], key=natural_key) == ["a", "frame1", "frame2", "frame10"]
    assert sorted(["10", "9", "100"], key=natural_key) == ["9", "10", "100"]


def test_read_pose_rows_flags_bad_lines(tmp_path):
    good = " ".join(["1", "0", "0", "0", "0", "1", "0", "0", "0", "0", "1", "0", "0", "0", "0", "1"])
    (tmp_path / "traj.txt").write_text(f"# header\n{good}\n1 2 3\n\n{good}\n")
    poses, problems = read_pose_rows(tmp_path / "traj.txt")
    assert len(poses) == 3 and list(problems) == [1]
    assert "traj.txt line 3: expected 16 numbers" in problems[1]
    np.testing.assert_array_equal(poses[2], np.eye(4))
    assert np.isnan(poses[1]).all()
