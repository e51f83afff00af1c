"""Per-Gaussian instance ids, the result of lifting, and their files `instances.npy` + `instances.json`.

`instances.npy`: [N] int32, the instance of each Gaussian of the PLY named in `instances.json`, -1 = none.
`instances.json`: `{"gaussians": "segmented.ply", "method": ..., "instances": {"<id>": {"label": ...,
"size": <Gaussians>, "views": <supporting views>}}, ...}` (extra keys: what produced it).
Other sets of instances of the same model (e.g. the levels of `hierarchy_file`) use the same two files
under another stem: `<stem>.npy` + `<stem>.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tracklift.io.atomic import atomic_open, atomic_write_text

STEM = "instances"
IDS_FILE = f"{STEM}.npy"
INFO_FILE = f"{STEM}.json"


@dataclass
class Instances:
    """instance: [N] int32, -1 = none, else in [0, I). labels: I class names or None. views: [I] int64,
    views supporting each instance (0 when unknown). confidence: [N] float32 in [0, 1], the winning share."""

    instance: np.ndarray
    labels: list[str | None] = field(default_factory=list)
    views: np.ndarray | None = None
    confidence: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.instance = np.asarray(self.instance, np.int32)
        if self.instance.ndim != 1:
            raise ValueError(f"instance must be [N], got {self.instance.shape}")
        n_inst = int(self.instance.max(initial=-1)) + 1
        if self.instance.size and self.instance.min() < -1:
            raise ValueError(f"instance ids must be >= -1, found {self.instance.min()}")
        if not self.labels:
            self.labels = [None] * n_inst
        if len(self.labels) < n_inst:
            raise ValueError(f"{len(self.labels)} labels for {n_inst} instances")
        self.views = np.zeros(len(self.labels), np.int64) if self.views is None else np.asarray(self.views, np.int64)
        if self.confidence is None:
            self.confidence = (self.instance >= 0).astype(np.float32)
        self.confidence = np.asarray(self.confidence, np.float32)
        if self.confidence.shape != self.instance.shape:
            raise ValueError(f"confidence must be {self.instance.shape}, got {self.confidence.shape}")

    @property
    def count(self) -> int:
        """I, the number of instances (some may have lost all their Gaussians)."""
        return len(self.labels)

    def sizes(self) -> np.ndarray:
        """[I] int64, Gaussians per instance."""
        return np.bincount(self.instance[self.instance >= 0], minlength=self.count)


def write_instances(out_dir: str | Path, inst: Instances, gaussians_file: str, *, stem: str = STEM, **extra) -> None:
    """Write `<stem>.npy` and `<stem>.json` (default `instances.npy` / `.json`) into `out_dir` (atomically)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(out_dir / f"{stem}.npy", "wb") as f:
        np.save(f, inst.instance.astype(np.int32))
    sizes = inst.sizes()
    info = {
        "gaussians": gaussians_file,
        **extra,
        "instances": {
            str(i): {"label": inst.labels[i], "size": int(sizes[i]), "views": int(inst.views[i])}
            for i in range(inst.count)
        },
    }
    atomic_write_text(out_dir / f"{stem}.json", json.dumps(info, indent=2) + "\n")


def read_instances(out_dir: str | Path, *, stem: str = STEM) -> tuple[Instances, dict]:
    """Read `<stem>.npy` / `<stem>.json` (default `instances.*`) from `out_dir`; returns (Instances, the json dict)."""
    out_dir = Path(out_dir)
    ids_path, info_path = out_dir / f"{stem}.npy", out_dir / f"{stem}.json"
    for p in (ids_path, info_path):
        if not p.is_file():
            raise FileNotFoundError(f"{p}: missing; run `tracklift splat lift {out_dir} --masks ...` first")
    ids = np.load(ids_path)
    info = json.loads(info_path.read_text())
    entries = info.get("instances", {})
    n_inst = int(ids.max(initial=-1)) + 1
    if len(entries) < n_inst:
        raise ValueError(f"{info_path}: describes {len(entries)} instances but {ids_path} uses id {n_inst - 1}")
    labels = [entries[str(i)]["label"] for i in range(len(entries))]
    views = [entries[str(i)].get("views", 0) for i in range(len(entries))]
    return Instances(ids, labels, np.asarray(views)), info
