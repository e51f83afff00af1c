"""The viewer that follows a run (`tracklift segment --live`): after each frame, the tracks it touched
(their voxels, coloured by track id), the camera trajectory and the current camera with its image; when the
run is done, the finished scene's viewer replaces it."""

from __future__ import annotations

import numpy as np

from tracklift.data.frame import Frame
from tracklift.lift.voxels import key_centres
from tracklift.outputs.pictures import instance_colors
from tracklift.view.scenery import CURRENT, TRAJECTORY, add_frustum, thumbnail


def track_colour(track_id: int) -> np.ndarray:
    """[3] uint8 colour of a track id (the id-th colour of `instance_colors`, stable as tracks come and go)."""
    return instance_colors(track_id + 1)[track_id]


class LiveViewer:
    """`update(mapper, frame, masks, track_ids)` is a `map_scene` on_frame hook; voxel: metres."""

    def __init__(self, server, voxel: float) -> None:
        self.server, self.voxel = server, voxel
        self.nodes: dict[int, object] = {}
        self.centres: list[np.ndarray] = []
        self.trajectory = self.camera = None
        self.status = server.gui.add_markdown("waiting for the first frame")

    def update(self, mapper, frame: Frame, masks, track_ids: list[int]) -> None:
        scene = self.server.scene
        tracks = mapper.tracker.tracks
        for gone in set(self.nodes) - set(tracks):  # merged into another track
            self.nodes.pop(gone).remove()
        for t in sorted(set(track_ids) & set(tracks)):
            if t in self.nodes:
                self.nodes[t].remove()
            self.nodes[t] = scene.add_point_cloud(
                f"/live/track_{t}",
                key_centres(tracks[t].voxels.keys, self.voxel),
                track_colour(t),
                point_size=self.voxel,
                point_shading="flat",
                precision="float32",
            )
        self.centres.append(np.asarray(frame.pose[:3, 3], np.float32))
        if len(self.centres) > 1:
            if self.trajectory is not None:
                self.trajectory.remove()
            line = np.stack([self.centres[:-1], self.centres[1:]], axis=1)
            self.trajectory = scene.add_line_segments("/live/trajectory", line, TRAJECTORY, thickness=0.01)
        if self.camera is not None:
            self.camera.remove()
        self.camera = add_frustum(
            self.server,
            "/live/camera",
            frame.K,
            frame.pose,
            (frame.width, frame.height),
            0.2,
            CURRENT,
            image=thumbnail(frame.color),
        )
        self.status.content = (
            f"frame **{frame.name}** ({mapper.stats.frames} mapped): {len(tracks)} tracks, {len(masks)} masks"
        )

    def finish(self, out_dir):
        """Replace the live view by the viewer of the run's outputs in `out_dir`; returns that viewer."""
        from tracklift.view.cli import open_viewer

        self.server.scene.reset()
        self.server.gui.reset()
        self.nodes.clear()
        self.trajectory = self.camera = None
        return open_viewer(out_dir, self.server)
