"""`tracklift segment … --rerun FILE.rrd`: a rerun recording of the run, on the timeline `frame`.

Per frame: the camera (`world/camera`, pose and pinhole), its colour, depth and 2D masks
(`world/camera/image/{rgb,depth,masks}`), the voxels of the tracks the frame touched
(`world/map/track_<id>`, coloured by track id; a track merged away is cleared) and the boxes of all live
tracks (`world/boxes`). After the last frame, the finished instances (`world/instances`) with their boxes,
labels and scores. Tracks not touched keep their last logged state (rerun's latest-at), so each frame logs
only what changed. The file is written beside FILE.rrd and renamed over it when the run succeeds.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tracklift.classify.query import instance_text
from tracklift.core.instance import Instance3D
from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.lift.voxels import key_centres
from tracklift.outputs.pictures import instance_colors
from tracklift.view.live import track_colour


def mask_ids(masks: FrameMasks) -> np.ndarray:
    """[H, W] uint16 map of 1-based mask indices (0 = no mask; where masks overlap the later one wins)."""
    ids = np.zeros(masks.shape, np.uint16)
    for k, m in enumerate(masks.masks, 1):
        ids[m] = k
    return ids


class RerunLogger:
    """Logs a run to `path` (.rrd); `log_frame` is a `map_scene` on_frame hook."""

    def __init__(self, path: str | os.PathLike, scene: str, voxel: float) -> None:
        try:
            import rerun as rr
        except ImportError as err:
            raise ValueError("--rerun needs rerun-sdk: pip install 'tracklift[rerun]'") from err
        self.rr, self.voxel = rr, voxel
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        # A recording id from the scene name: the same run gives the same recording identity.
        self.rec = rr.RecordingStream("tracklift", recording_id=f"tracklift-{scene}", send_properties=False)
        self.rec.set_log_time_enabled(False)  # wall-clock stamps would make two runs of the same input differ
        self.rec.save(self.tmp)
        self.rec.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
        self.logged: set[int] = set()
        self.last = -1

    def log_frame(self, mapper, frame: Frame, masks: FrameMasks, track_ids: list[int]) -> None:
        rr, rec = self.rr, self.rec
        rec.set_time("frame", sequence=frame.index)
        self.last = frame.index
        rec.log("world/camera", rr.Transform3D(translation=frame.pose[:3, 3], mat3x3=frame.pose[:3, :3]))
        rec.log(
            "world/camera/image",
            rr.Pinhole(
                image_from_camera=frame.K, width=frame.width, height=frame.height, camera_xyz=rr.ViewCoordinates.RDF
            ),
        )
        rec.log("world/camera/image/rgb", rr.Image(frame.color))
        rec.log("world/camera/image/depth", rr.DepthImage(frame.depth, meter=1.0))
        rec.log("world/camera/image/masks", rr.SegmentationImage(mask_ids(masks)))
        tracks = mapper.tracker.tracks
        for gone in sorted(self.logged - set(tracks)):
            rec.log(f"world/map/track_{gone}", rr.Clear(recursive=False))
            self.logged.discard(gone)
        for t in sorted(set(track_ids) & set(tracks)):
            rec.log(
                f"world/map/track_{t}",
                rr.Points3D(
                    key_centres(tracks[t].voxels.keys, self.voxel), colors=track_colour(t), radii=self.voxel / 2
                ),
            )
            self.logged.add(t)
        ids = sorted(tracks)
        if ids:
            lo = np.array([tracks[t].lo for t in ids], np.float32)
            hi = np.array([tracks[t].hi for t in ids], np.float32)
            rec.log(
                "world/boxes",
                rr.Boxes3D(
                    mins=lo, sizes=hi - lo, colors=[track_colour(t) for t in ids], labels=[f"track {t}" for t in ids]
                ),
            )

    def log_instances(self, instances: list[Instance3D]) -> None:
        """The finished instances, one step after the last frame, coloured as in the PLY."""
        rr, rec = self.rr, self.rec
        rec.set_time("frame", sequence=self.last + 1)
        for t in sorted(self.logged):
            rec.log(f"world/map/track_{t}", rr.Clear(recursive=False))
        if not instances:
            return
        colours = instance_colors(len(instances))
        points = np.concatenate([i.points for i in instances])
        owner = np.repeat(np.arange(len(instances)), [len(i.points) for i in instances])
        rec.log("world/instances", rr.Points3D(points, colors=colours[owner], radii=self.voxel / 2))
        boxes = np.array([i.box for i in instances], np.float32)
        names = [f"{instance_text(i) or '?'} {i.score:.2f}" for i in instances]
        rec.log("world/boxes", rr.Boxes3D(centers=boxes[:, :3], sizes=boxes[:, 3:], colors=colours, labels=names))

    def close(self) -> Path:
        """Finish the recording and move it to its path."""
        self.rec.flush()
        self.rec.disconnect()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        self.rec.disconnect()
        self.tmp.unlink(missing_ok=True)
