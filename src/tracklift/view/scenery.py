"""Scene pieces the viewers share: point size from the data, camera frustums, the camera trajectory with
frustums that show their frame when clicked."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

log = logging.getLogger(__name__)

TRAJECTORY = (40, 40, 40)
CURRENT = (230, 30, 30)
THUMBNAIL_WIDTH = 160


def point_size(points: np.ndarray, sample: int = 2000, seed: int = 0) -> float:
    """A point size (metres) that closes the gaps of a voxel-sampled cloud: 1.5× the median distance to the
    nearest neighbour over a seeded sample of `points` ([P, 3] metres)."""
    points = np.asarray(points, np.float32).reshape(-1, 3)
    if len(points) < 2:
        return 0.02
    rng = np.random.default_rng(seed)
    probe = points[rng.choice(len(points), min(sample, len(points)), replace=False)]
    dist, _ = cKDTree(points).query(probe, k=2)
    spacing = float(np.median(dist[:, 1]))
    return float(np.clip(1.5 * spacing, 0.005, 0.2))


def frame_scene(server, points: np.ndarray) -> None:
    """Start every client's camera looking down at the middle of `points` ([P, 3] metres, world, z up) from
    above and to the south, far enough to see all of them."""
    points = np.asarray(points, np.float64).reshape(-1, 3)
    if len(points) == 0:
        return
    lo, hi = np.percentile(points, 1, axis=0), np.percentile(points, 99, axis=0)
    centre, size = (lo + hi) / 2, float(np.linalg.norm(hi - lo))
    server.initial_camera.look_at = centre
    server.initial_camera.position = centre + np.array([0.0, -0.45, 0.75]) * max(size, 0.5)
    server.initial_camera.up = (0.0, 0.0, 1.0)


def wxyz(rotation: np.ndarray) -> np.ndarray:
    """[4] float64 unit quaternion (w, x, y, z) of a [3, 3] rotation matrix."""
    import viser.transforms as vtf

    return vtf.SO3.from_matrix(np.asarray(rotation, np.float64)).wxyz


def add_frustum(
    server,
    name: str,
    K: np.ndarray,
    pose: np.ndarray,
    size: tuple[int, int],
    scale: float,
    colour=TRAJECTORY,
    image: np.ndarray | None = None,
):
    """A camera frustum: K [3, 3] pixels, pose [4, 4] camera-to-world (OpenCV axes, as viser's), size (W, H)."""
    w, h = size
    fov = 2 * np.arctan2(h / 2, K[1, 1])
    return server.scene.add_camera_frustum(
        name,
        fov=float(fov),
        aspect=w / h,
        scale=scale,
        color=colour,
        wxyz=wxyz(pose[:3, :3]),
        position=pose[:3, 3],
        image=image,
    )


def thumbnail(color: np.ndarray, width: int = THUMBNAIL_WIDTH) -> np.ndarray:
    """[h, width, 3] uint8 downscaled copy of an [H, W, 3] image."""
    import cv2

    h = max(1, round(color.shape[0] * width / color.shape[1]))
    return cv2.resize(color, (width, h), interpolation=cv2.INTER_AREA)


class Cameras:
    """The recorded trajectory, `count` clickable frustums and the current step's camera.

    Clicking a frustum reads its frame from the scene folder and shows it in the panel (and on the frustum);
    without the scene folder the panel says so.
    """

    def __init__(self, server, history, scene_dir: Path | None, count: int) -> None:
        self.server, self.history, self.scene_dir = server, history, scene_dir
        self._stream = None
        centres = history.pose[:, :3, 3]
        extent = float(np.ptp(centres, axis=0).max()) if len(centres) > 1 else 1.0
        self.scale = float(np.clip(0.05 * extent, 0.05, 0.3))
        if len(centres) > 1:
            segments = np.stack([centres[:-1], centres[1:]], axis=1).astype(np.float32)
            server.scene.add_line_segments("/cameras/trajectory", segments, TRAJECTORY, thickness=0.01)
        self.frustums = {}
        for step in np.unique(np.linspace(0, history.steps - 1, min(count, history.steps)).astype(int)):
            handle = add_frustum(
                server,
                f"/cameras/frame_{history.frame_name[step]}",
                history.K[step],
                history.pose[step],
                history.image_size,
                self.scale,
            )
            handle.on_click(lambda _, s=int(step): self.show_frame(s))
            self.frustums[int(step)] = handle
        self.current = None
        self.image = server.gui.add_image(np.zeros((1, 1, 3), np.uint8), label="frame (click a camera)", visible=False)
        self.show_step(history.steps - 1)

    def show_step(self, step: int) -> None:
        """Move the current-camera frustum to history step `step`."""
        if self.current is not None:
            self.current.remove()
        self.current = add_frustum(
            self.server,
            "/cameras/current",
            self.history.K[step],
            self.history.pose[step],
            self.history.image_size,
            self.scale * 1.3,
            CURRENT,
        )

    def frame_color(self, step: int) -> np.ndarray | None:
        """[H, W, 3] uint8 colour of history step `step`'s frame, None when its scene folder is gone."""
        from tracklift.data.frame import BadFrameError
        from tracklift.data.scene import open_scene

        if self.scene_dir is None or not Path(self.scene_dir).is_dir():
            return None
        if self._stream is None:
            self._stream = open_scene(self.scene_dir).stream
            self._names = {n: i for i, n in enumerate(self._stream.names)}
        index = self._names.get(self.history.frame_name[step])
        if index is None:
            return None
        try:
            return self._stream[index].color
        except (BadFrameError, FileNotFoundError, ValueError) as err:
            log.warning("frame %s: %s", self.history.frame_name[step], err)
            return None

    def show_frame(self, step: int) -> None:
        color = self.frame_color(step)
        name = self.history.frame_name[step]
        if color is None:
            self.image.label = f"frame {name}: not found (scene folder {self.scene_dir} missing?)"
            self.image.visible = True
            return
        self.image.image = color
        self.image.label = f"frame {name}"
        self.image.visible = True
        self.frustums[step].image = thumbnail(color)
