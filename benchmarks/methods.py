"""The methods the harness compares. Each is `method(scene, masks_dir) -> list[PredictedInstance]`,
with instances over the scene's mesh vertices; adding a method is one line in METHODS.

The naive baseline stays first: every run judges the other methods side by side against it.
"""

from __future__ import annotations

from typing import Callable

from tracklift.methods import tracker_fused, tracker_fused_refined, tracker_spatial, tracker_visual
from tracklift.track.naive_baseline import naive_baseline

METHODS: dict[str, Callable] = {
    "naive": naive_baseline,
    "track-spatial": tracker_spatial,
    "track-visual": tracker_visual,
    "track-fused": tracker_fused,
    "track-fused-refined": tracker_fused_refined,
}
