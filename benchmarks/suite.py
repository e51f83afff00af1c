"""What a benchmark run covers: scenes, their size, mask presets, methods and repeats."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PRESETS = ("oracle", "mild", "hard")


@dataclass(frozen=True)
class Suite:
    """name: results go to `benchmarks/results/<name>.json`. seeds: one synthetic scene each.
    repeats: timed runs per method and scene after one warm-up run (the median is reported).
    realism: the synthetic instrument's mode, `exact` (exact geometry) or `scan` (a reconstructed mesh,
    drifting poses, sensor effects: `tracklift synth --realism scan`)."""

    name: str
    seeds: tuple[int, ...]
    frames: int
    width: int
    height: int
    objects: int
    presets: tuple[str, ...] = PRESETS
    repeats: int = 3
    mask_seed: int = 0
    methods: tuple[str, ...] = field(default=())  # empty: all of METHODS
    realism: str = "exact"

    def describe(self) -> dict:
        return asdict(self)


# The default suite: three ScanNet-sized scenes at every preset (the brief: ~20 minutes on 2 cores).
FULL = Suite("full", seeds=(0, 1, 2), frames=60, width=640, height=480, objects=20)
# The same rooms as a scan would record them: what real data looks like to the pipeline.
SCAN = Suite("scan", seeds=(0, 1, 2), frames=60, width=640, height=480, objects=20, realism="scan")
# A smaller run for checking the harness itself.
QUICK = Suite("quick", seeds=(0,), frames=20, width=320, height=240, objects=10, repeats=1)
SUITES = {s.name: s for s in (FULL, SCAN, QUICK)}
