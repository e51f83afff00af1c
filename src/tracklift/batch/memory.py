"""How much memory a scene needs (the request a scheduler reserves) and how much it used (peak RSS).

The request is an upper bound fitted to measured peaks (`benchmarks/batch.py` records both per scene):

    bytes = BASE + pixels · (PER_PIXEL + frames · PER_PIXEL_FRAME)

BASE covers the interpreter, the imported stack (numpy, scipy, OpenCV, numba, torch) and the MiniLM text
model of the vote classifier; PER_PIXEL one frame's working set (colour, depth, the frame's masks, lifted
points, features, pictures); PER_PIXEL_FRAME what the mapper keeps per frame (voxel maps as new surfaces come
into view, and the voxel × frame tracing table). pixels = depth width × height, frames = frames after --stride
and --max-frames. Fitted on `benchmarks/batch.py`'s measurements (BENCHMARKS.md): 640×480 synthetic rooms peak
at 685 MB (30 frames) and 749 MB (90 frames), +1.07 MB per frame = 3.5 B per pixel and frame while the map
still grows (the bound takes that slope for every frame); the real 300-frame scan scene0113_00 peaks at
519 MB. A 640×480 ScanNet scan of 2000 frames:
0.8 GB + 0.3 Mpx · (200 B + 2000 · 3.5 B) ≈ 2.9 GB.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

MB = 1024 * 1024
BASE = 800 * MB
PER_PIXEL = 200
PER_PIXEL_FRAME = 3.5


def scene_memory(frames: int, width: int, height: int) -> int:
    """Bytes to reserve for segmenting a scene of `frames` depth frames of width × height pixels."""
    if frames < 0 or width < 0 or height < 0:
        raise ValueError(f"frames, width and height must be non-negative, got {frames}, {width}, {height}")
    pixels = width * height
    return int(BASE + pixels * (PER_PIXEL + frames * PER_PIXEL_FRAME))


def reset_peak() -> bool:
    """Restart this process's peak-RSS counter (Linux: writing 5 to /proc/self/clear_refs), so a reused
    worker reports the peak of its current task only. False where the counter cannot be reset."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss() -> int:
    """Peak resident memory of this process in bytes since start or the last `reset_peak`."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # macOS reports bytes, Linux kilobytes
