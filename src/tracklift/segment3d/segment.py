"""Weight-free 3D instance segmentation of a scene: fuse → normals → room structure → proposals → score → NMS.

1. `fuse`: every reliable depth pixel of the stream into one coloured voxel map (no 2D masks at all).
2. Normals by neighbourhood PCA (`refine.pointcloud.point_normals`), turned towards the cameras.
3. `structure`: floor, walls and ceiling (bounding planes) are removed; the floor gives up and height.
4. `proposals`: graph segmentation of the voxels left at a few scales.
5. `score`: a furniture shape prior; greedy voxel-IoU NMS keeps the best of overlapping proposals from
   different scales.
The result is a list of `Instance3D`s like the tracker's, so every writer works unchanged; an instance's
`frames` are the fused frames that see at least half of its voxels inside the image and depth range.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from tracklift.core.config import config, config_from_spec, option, parse_spec_options, spec_keys
from tracklift.core.instance import Instance3D
from tracklift.lift.projection import project
from tracklift.segment3d.fuse import FuseConfig, FusedMap, fuse_stream
from tracklift.segment3d.proposals import ProposalConfig, propose
from tracklift.segment3d.score import ScoreConfig, furniture_score
from tracklift.segment3d.structure import StructureConfig, find_structure
from tracklift.superpoints.pointcloud import point_normals
from tracklift.track.costs import overlap_matrix

log = logging.getLogger(__name__)


@config
class Geo3DConfig:
    fuse: FuseConfig = field(default_factory=FuseConfig)
    structure: StructureConfig = field(default_factory=StructureConfig)
    proposals: ProposalConfig = field(default_factory=ProposalConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    normal_knn: int = option(16, "neighbours for PCA normals", low=2, high=256)
    min_score: float = option(0.01, "instances scoring below this are dropped", low=0.0, high=1.0)
    min_visible: float = option(
        0.5, "share of an instance's voxels a frame must see to count among its frames", low=0.0, high=1.0
    )


@dataclass
class Geo3DResult:
    """instances: best score first.  background: [B, 3] float32 voxel centres in no instance (metres, world),
    which keep output transfer from spreading instances onto walls and floor.  stats: counts for the run record."""

    instances: list[Instance3D]
    background: np.ndarray
    stats: dict[str, int]


_STAGES = {"fuse": FuseConfig, "structure": StructureConfig, "proposals": ProposalConfig, "score": ScoreConfig}


def geo3d_config(options: str = "", voxel: float | None = None, stride: int | None = None) -> Geo3DConfig:
    """A config from the CLI's `geo3d:<key>=<value>,...`: each key a scalar field of one stage's config or of
    Geo3DConfig itself (names are unique across them), e.g. `geo3d:distance=0.04,min_score=0.05`.
    voxel, stride: the fusion's voxel edge (metres) and pixel step, when given."""
    where = "geo3d segmenter"
    given = parse_spec_options(options, where)
    owner = {name: stage for stage, cls in (*_STAGES.items(), (None, Geo3DConfig)) for name in spec_keys(cls)}
    unknown = sorted(set(given) - set(owner))
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {unknown} (options: {', '.join(sorted(owner))})")

    def spec(stage: str | None) -> str:
        return ",".join(f"{key}={value}" for key, value in given.items() if owner[key] == stage)

    fuse = {k: v for k, v in {"voxel": voxel, "stride": stride}.items() if v is not None}
    stages = {
        stage: config_from_spec(cls, spec(stage), where, **(fuse if stage == "fuse" else {}))
        for stage, cls in _STAGES.items()
    }
    return config_from_spec(Geo3DConfig, spec(None), where, **stages)


def oriented_normals(points: np.ndarray, view: np.ndarray, knn: int) -> np.ndarray:
    """[N, 3] float32 unit PCA normals of `points` ([N, 3] metres), each turned towards its cameras (`view`)."""
    if len(points) < 2:
        return np.asarray(view, np.float32).copy()
    normals = point_normals(points, knn)
    normals[np.einsum("ni,ni->n", normals, view) < 0] *= -1
    return normals


def segment_map(vmap: FusedMap, cfg: Geo3DConfig | None = None) -> Geo3DResult:
    """Instances of a fused map, best score first (ids 0..)."""
    cfg = cfg or Geo3DConfig()
    stats = {"frames": len(vmap.views), "voxels": len(vmap), "structural_planes": 0, "proposals": 0}
    if len(vmap) == 0:
        return Geo3DResult([], np.zeros((0, 3), np.float32), stats)
    normals = oriented_normals(vmap.points, vmap.view, cfg.normal_knn)
    room = find_structure(vmap.points, normals, vmap.view, vmap.up, vmap.voxel, cfg.structure)
    log.info(
        "geo3d: %d voxels, %d structural planes (%.0f%% of voxels), floor at %.2f m",
        len(vmap),
        len(room.planes),
        100 * room.structural.mean(),
        room.floor_height,
    )
    rest = np.flatnonzero(~room.structural)
    found = propose(vmap.points[rest], vmap.colors[rest], normals[rest], vmap.voxel, cfg.proposals)
    proposals = [rest[p] for p in found]
    stats.update(structural_planes=len(room.planes), proposals=len(proposals))
    if not proposals:
        return Geo3DResult([], vmap.points, stats)
    scores = np.array(
        [furniture_score(vmap.points[p], room.up, room.floor_height, vmap.voxel, cfg.score) for p in proposals]
    )
    keep = [i for i in voxel_nms(proposals, scores, cfg.score.nms_iou) if scores[i] >= cfg.min_score]
    instances = [
        Instance3D(
            id=n,
            points=vmap.points[proposals[i]],
            frames=seen_by(vmap.points[proposals[i]], vmap, cfg),
            score=float(scores[i]),
        )
        for n, i in enumerate(keep)
    ]
    taken = np.zeros(len(vmap), bool)
    for i in keep:
        taken[proposals[i]] = True
    return Geo3DResult(instances, vmap.points[~taken], stats)


def voxel_nms(sets: list[np.ndarray], scores: np.ndarray, iou: float) -> list[int]:
    """Greedy NMS over voxel sets (sorted unique int64 arrays): indices kept, best score first (ties keep input
    order); a set is dropped when its voxel IoU with a kept one exceeds `iou`. Voxel IoU rather than box IoU:
    a union of two touching objects must not suppress either object, whose box covers half of the union's.
    Parts inside a kept object are not dropped either: on real scans the container is as often a union of
    objects (suppressing them all) as a whole one."""
    shared = overlap_matrix(sets, sets).astype(np.float64)
    size = np.diag(shared)
    keep: list[int] = []
    for i in np.argsort(-np.asarray(scores), kind="stable"):
        if all(shared[i, j] <= iou * (size[i] + size[j] - shared[i, j]) for j in keep):
            keep.append(int(i))
    return keep


def seen_by(points: np.ndarray, vmap: FusedMap, cfg: Geo3DConfig) -> list[int]:
    """Stream indices of the fused frames whose image and depth range hold ≥ cfg.min_visible of `points`
    ([M, 3] metres, world); occlusion is not tested."""
    out = []
    for v in vmap.views:
        u, w, z = project(points, v.K, v.pose)
        inside = (z > cfg.fuse.min_depth) & (z < cfg.fuse.max_depth) & (u >= -0.5) & (u < v.width - 0.5)
        inside &= (w >= -0.5) & (w < v.height - 0.5)
        if inside.mean() >= cfg.min_visible:
            out.append(v.index)
    return out


def segment_scene(scene, cfg: Geo3DConfig | None = None, progress: bool = True) -> Geo3DResult:
    """Fuse `scene.stream` and segment the map."""
    cfg = cfg or Geo3DConfig()
    return segment_map(fuse_stream(scene.stream, cfg.fuse, progress=progress, desc=f"fuse {scene.name}"), cfg)
