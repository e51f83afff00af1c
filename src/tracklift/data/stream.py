"""A lazy RGB-D stream over per-frame file records: one frame in memory at a time.

Every dataset layout reduces to a list of `FrameRecord`s (where a frame's files are) plus one
`SensorSpec` (how to decode them); `RGBDStream` turns them into `Frame`s in the project's conventions:
colour registered (resized with `register_color`) to the depth resolution, depth in metres, `K` of the
depth image, camera-to-world pose.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal, Sequence

import cv2
import numpy as np

from tracklift.data.camera import pose_problem, read_matrix_txt, scale_intrinsics
from tracklift.data.frame import BadFrameError, Frame
from tracklift.data.images import read_color, read_depth, reduced_size

log = logging.getLogger(__name__)

# Colour and depth must show the same field of view; ScanNet's 1296×968 vs 640×480 differ by 0.4 %.
ASPECT_TOLERANCE = 0.02
# Per-frame warnings shown for each kind of problem before the rest are only counted: a layout mismatch
# makes every frame fail the same way, and a thousand identical lines hide the one that matters.
SHOWN_PER_REASON = 3
_DETAIL = re.compile(r"\s*\([^()]*\)|'[^']*'|\"[^\"]*\"")


def skip_reason(message: str) -> str:
    """The kind of problem a BadFrameError message names, without the file or frame and without details
    in parentheses or quotes: "a/1.png: empty file" and "b/2.png: empty file" share the reason "empty file"."""
    reason = _DETAIL.sub("", message).rsplit(": ", 1)[-1].strip()
    return reason or message


@dataclass(frozen=True, eq=False)
class FrameRecord:
    """Where one frame lives on disk.

    name:  the frame's name in its layout (ScanNet "0"; others the file stem).
    color, depth: image files (they may be missing: loading then fails for this frame only).
    pose:  [4, 4] float64 camera-to-world, or a text file holding it.
    K:     [3, 3] float64 intrinsics of the image named by `SensorSpec.K_of`.
    problem: a defect found while listing (e.g. "no pose within 0.02 s"); loading raises it.
    """

    name: str
    color: Path
    depth: Path
    pose: np.ndarray | Path
    K: np.ndarray
    problem: str | None = None


@dataclass(frozen=True)
class SensorSpec:
    """How a layout's files are decoded.

    depth_scale: raw depth units per metre (1000 for mm PNGs, 5000 TUM, 6553.5 Replica).
    depth_invalid: a raw depth value meaning "no measurement" besides 0 (7-Scenes: 65535).
    K_of: which image the records' `K` describes; "color" intrinsics are rescaled to the depth image.
    depth_size: expected (width, height) of every depth image, or None to take it from the first frame read.
    """

    depth_scale: float = 1000.0
    depth_invalid: int | None = None
    K_of: Literal["depth", "color"] = "depth"
    depth_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not self.depth_scale > 0:
            raise ValueError(f"depth_scale must be positive, got {self.depth_scale}")
        if self.K_of not in ("depth", "color"):
            raise ValueError(f"K_of must be 'depth' or 'color', got {self.K_of!r}")


class RGBDStream:
    """Frames of one sequence, read from disk only when asked for.

    `stream[i]` loads frame i or raises BadFrameError naming the file and problem. Iterating yields the
    good frames in order and skips bad ones; each skip is recorded in `skipped` as (frame name, message)
    and counted in `skipped_by_reason` ({skip_reason: frames}); both are reset at the start of every pass.
    The first SHOWN_PER_REASON skips of each reason are logged, the rest once in a summary line at the end
    of the pass. `stride` keeps every stride-th record,
    `max_frames` caps how many are kept; `len()` counts kept records, good or bad.
    """

    def __init__(
        self,
        records: Sequence[FrameRecord],
        spec: SensorSpec = SensorSpec(),
        stride: int = 1,
        max_frames: int | None = None,
    ) -> None:
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        if max_frames is not None and max_frames < 0:
            raise ValueError(f"max_frames must be >= 0 or None, got {max_frames}")
        self.records: list[FrameRecord] = list(records)[::stride][:max_frames]
        self.spec = spec
        self.stride = stride
        self.max_frames = max_frames
        self.skipped: list[tuple[str, str]] = []
        self.skipped_by_reason: Counter[str] = Counter()
        self._depth_size = spec.depth_size
        self._color_size: tuple[int, int] | None = None  # full (width, height) of the first colour image decoded

    def __len__(self) -> int:
        return len(self.records)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.records]

    def __getitem__(self, index: int) -> Frame:
        n = len(self.records)
        if not -n <= index < n:
            raise IndexError(f"frame index {index} out of range for a stream of {n} frames")
        index %= n
        return self._load(self.records[index], index)

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def frames(self, start: int = 0) -> Iterator[Frame]:
        """The good frames from stream index `start` on (a resumed run); skips are recorded from there."""
        self.begin_pass(start)
        for index, record in enumerate(self.records[start:], start):
            try:
                frame = self._load(record, index)
            except BadFrameError as err:
                self.skip(record.name, str(err))
                continue
            yield frame
        self.end_pass()

    def begin_pass(self, start: int = 0) -> None:
        """Start a pass over the frames from `start` (a pass from 0 forgets the skips of earlier passes). A
        caller loading frames itself (`stream[i]`, e.g. several at once) calls `skip` for each bad one, in
        stream order, and `end_pass` at the end — as `frames` does."""
        if start == 0:
            self.skipped = []
            self.skipped_by_reason = Counter()

    def skip(self, name: str, message: str) -> None:
        """Record that frame `name` could not be read (`message` names the file and the problem); the first
        few of each reason are logged."""
        reason = skip_reason(message)
        self.skipped.append((name, message))
        self.skipped_by_reason[reason] += 1
        if self.skipped_by_reason[reason] <= SHOWN_PER_REASON:
            log.warning("skipping frame %s: %s", name, message)

    def end_pass(self) -> None:
        """One summary line per reason whose skips were not all logged."""
        for reason, count in self.skipped_by_reason.items():
            if count > SHOWN_PER_REASON:
                log.warning("%d more frames skipped: %s", count - SHOWN_PER_REASON, reason)

    def restore_skipped(self, skipped: list[tuple[str, str]]) -> None:
        """Take over the skips of an earlier pass that stopped (a resumed run), without logging them again."""
        self.skipped = list(skipped)
        self.skipped_by_reason = Counter(skip_reason(message) for _, message in self.skipped)

    def skip_summary(self) -> str | None:
        """One line counting the last pass's skipped frames by reason (most frequent first), or None."""
        if not self.skipped:
            return None
        reasons = ", ".join(f"{n} {reason}" for reason, n in self.skipped_by_reason.most_common())
        return f"{len(self.skipped)} of {len(self.records)} frames skipped: {reasons}"

    def _load(self, record: FrameRecord, index: int) -> Frame:
        if record.problem is not None:
            raise BadFrameError(f"frame {record.name}: {record.problem}")
        pose = read_matrix_txt(record.pose, (4, 4)) if isinstance(record.pose, Path) else record.pose
        problem = pose_problem(pose)
        if problem is not None:
            where = record.pose if isinstance(record.pose, Path) else f"frame {record.name}"
            raise BadFrameError(f"{where}: {problem}")
        depth = read_depth(record.depth, self.spec.depth_scale, self.spec.depth_invalid)
        if not depth.any():
            raise BadFrameError(f"{record.depth}: no valid depth (every pixel is 0 or invalid)")
        size = (depth.shape[1], depth.shape[0])
        color, color_size = self._read_color(record.color, size)
        # the first frame read fixes the resolution when the layout does not state it
        if self._depth_size is None:
            self._depth_size = size
        if size != self._depth_size:
            w, h = self._depth_size
            raise BadFrameError(f"{record.depth}: depth is {size[0]}×{size[1]}, the stream's depth is {w}×{h}")
        if abs(color_size[0] * size[1] / (color_size[1] * size[0]) - 1.0) > ASPECT_TOLERANCE:
            raise BadFrameError(
                f"{record.color}: colour is {color_size[0]}×{color_size[1]}, depth {record.depth.name} is "
                f"{size[0]}×{size[1]}: aspect ratios differ"
            )
        if (color.shape[1], color.shape[0]) != size:
            color = register_color(color, size)
        K = scale_intrinsics(record.K, color_size, size) if self.spec.K_of == "color" else record.K.astype(np.float64)
        return Frame(color=color, depth=depth, K=K, pose=pose.astype(np.float64), name=record.name, index=index)

    def _read_color(self, path: Path, depth_size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        """The colour image, decoded at the smallest JPEG reduction still at least the depth size (colour is
        registered to depth by an area resize anyway), and its full (width, height). The first image is decoded
        at full size and fixes the reduction; an image of another size is decoded again at full size."""
        reduce = color_reduction(self._color_size, depth_size) if self._color_size else 1
        if reduce > 1:
            color = read_color(path, reduce)
            if (color.shape[1], color.shape[0]) == reduced_size(self._color_size, reduce):
                return color, self._color_size
        color = read_color(path)
        full = (color.shape[1], color.shape[0])
        if self._color_size is None:
            self._color_size = full
        return color, full


def register_color(color: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`color` [h, w, 3] resized to `size` (width, height): area-averaged when it shrinks by 2 or more (no
    aliasing), bilinear for the last few percent a reduced JPEG decode leaves (648×484 -> 640×480 costs 1.7 ms
    by area, 0.3 ms bilinear, and differs by less than one grey level)."""
    shrink = min(color.shape[1] / size[0], color.shape[0] / size[1])
    return cv2.resize(color, size, interpolation=cv2.INTER_AREA if shrink >= 2 else cv2.INTER_LINEAR)


def color_reduction(color_size: tuple[int, int], depth_size: tuple[int, int]) -> int:
    """The largest JPEG decode reduction (1, 2, 4 or 8) keeping colour at least as large as depth both ways."""
    for reduce in (8, 4, 2):
        w, h = reduced_size(color_size, reduce)
        if w >= depth_size[0] and h >= depth_size[1]:
            return reduce
    return 1
