"""The methods the harness compares. Each is `method(scene, masks_dir) -> list[PredictedInstance]`,
with instances over the scene's mesh vertices; adding a method is one line in METHODS.

The naive baseline stays first: every run judges the other methods side by side against it.
"""

from __future__ import annotations

from typing import Callable

from tracklift.track.naive_baseline import naive_baseline

METHODS: dict[str, Callable] = {
    "naive": naive_baseline,
}
