"""Wall-clock seconds per pipeline stage, summed over a run, so users see where their time goes."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator


class StageTimes:
    """`with times("lift"): ...` adds the block's wall seconds to stage "lift"; stages keep first-use order."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start

    def add(self, other: dict[str, float]) -> None:
        for stage, seconds in other.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def rounded(self, digits: int = 3) -> dict[str, float]:
        return {stage: round(seconds, digits) for stage, seconds in self.seconds.items()}


def timings_table(seconds: dict[str, float], frames: int | None = None) -> str:
    """A plain-text table: stage, seconds, share of the total, and ms per frame when `frames` is given."""
    total = sum(seconds.values())
    per_frame = bool(frames)
    head = f"{'stage':<10} {'seconds':>9} {'share':>7}" + (f" {'ms/frame':>9}" if per_frame else "")
    rows = [head, "-" * len(head)]
    for stage, s in list(seconds.items()) + [("total", total)]:
        share = f"{100 * s / total:6.1f}%" if total > 0 else "     –"
        rows.append(f"{stage:<10} {s:9.3f} {share:>7}" + (f" {1000 * s / frames:9.1f}" if per_frame else ""))
    return "\n".join(rows)
