"""Pose error of a real scan: the poses a SLAM system writes drift slowly and jitter from frame to frame.

Frames are rendered from the true poses; `drifted_poses` gives the poses written beside them (what the
pipeline sees). The error of frame k is a rotation about the camera centre and a shift of the centre:

    R_written = Exp(r_drift[k] + r_jitter[k]) R_true,   c_written = c_true + t_drift[k] + t_jitter[k]

where the drift is a random walk (steps σ per frame) whose rotation vector and translation are clamped to
their maximum norms (a bound that loop closure / bundle adjustment keeps in a real reconstruction), and the
jitter is independent per frame, Gaussian clipped at 3σ. Rotations in degrees, translations in metres.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from tracklift.synth.config import ScanRealism

JITTER_CLIP = 3.0  # jitter is clipped at this many σ per component, so the error is strictly bounded


def _clamped_walk(steps: np.ndarray, max_norm: float) -> np.ndarray:
    """[F, 3] positions of a random walk with `steps` [F, 3] whose norm is clamped to `max_norm` after each step."""
    out = np.zeros_like(steps)
    state = np.zeros(3)
    for k, step in enumerate(steps):
        state = state + step
        norm = np.linalg.norm(state)
        if norm > max_norm:
            state *= max_norm / norm
        out[k] = state
    return out


def pose_errors(frames: int, seed: int, realism: ScanRealism) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame error: rotation vectors [F, 3] radians and centre shifts [F, 3] metres (see module doc)."""
    rng = np.random.default_rng([seed, 5])
    steps = rng.standard_normal((2, frames, 3))
    jitter = np.clip(rng.standard_normal((2, frames, 3)), -JITTER_CLIP, JITTER_CLIP)
    rot = _clamped_walk(steps[0] * np.radians(realism.drift_step_rotation), np.radians(realism.drift_max_rotation))
    shift = _clamped_walk(steps[1] * realism.drift_step_translation, realism.drift_max_translation)
    return rot + jitter[0] * np.radians(realism.jitter_rotation), shift + jitter[1] * realism.jitter_translation


def drifted_poses(poses: np.ndarray, seed: int, realism: ScanRealism) -> np.ndarray:
    """Written camera-to-world poses [F, 4, 4] float64 from the true ones `poses` [F, 4, 4]."""
    poses = np.asarray(poses, np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (4, 4):
        raise ValueError(f"poses must be [F, 4, 4], got {poses.shape}")
    rot, shift = pose_errors(len(poses), seed, realism)
    out = poses.copy()
    out[:, :3, :3] = Rotation.from_rotvec(rot).as_matrix() @ poses[:, :3, :3]
    out[:, :3, 3] += shift
    return out


def max_pose_error(realism: ScanRealism) -> tuple[float, float]:
    """Upper bounds (metres, degrees) of `drifted_poses`' centre shift and rotation angle."""
    bound = JITTER_CLIP * np.sqrt(3)  # a jitter vector's norm when every component is at its clip
    return (
        realism.drift_max_translation + bound * realism.jitter_translation,
        realism.drift_max_rotation + bound * realism.jitter_rotation,
    )
