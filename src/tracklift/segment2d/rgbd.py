"""A weight-free RGB-D segmenter: the default when no learned model is available.

1. Depth smoothed edge-preservingly (bilateral on log depth), normals from it (`normals.depth_normals`).
2. Dominant planes (floor, walls, table tops) by RANSAC (`planes.find_planes`): removed, kept as their
   own segments (one per connected piece), or left to the graph (`planes="keep"`).
3. A 4-connected pixel graph over the remaining pixels; an edge's weight adds
   * the depth discontinuity: each point's distance from the other's tangent plane, relative to the
     nearer depth (zero along slanted surfaces); an edge whose raw depth jump exceeds `max_depth_jump`
     of the nearer depth is cut outright,
   * the normal angle (1 - cos); both shape terms are damped on convex creases so box edges do not
     split an object, while concave creases (object meets object or support) separate,
   * the CIE Lab colour difference (weak by default: textured objects would shatter).
4. Felzenszwalb–Huttenlocher segmentation of that graph (`core.felzenszwalb`), tiny pieces merged,
   segments below `min_area` dropped.
Masks are at depth resolution, labels None, scores from compactness (area / bounding box) and size.
Known limit: objects made of parts meeting at concave creases (chair seat and back) come out as parts.
"""

from __future__ import annotations

from dataclasses import field

import cv2
import numba
import numpy as np
from scipy import ndimage

from tracklift.core.config import config, option
from tracklift.core.felzenszwalb import felzenszwalb
from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.segment2d.crease import crease_weights, edge_weight, lab_colors
from tracklift.segment2d.normals import depth_normals, depth_normals_fast, depth_to_points, smooth_normals
from tracklift.segment2d.planes import PlaneConfig, find_planes

PLANE_MODES = ("remove", "segment", "keep")


@config
class RGBDConfig:
    """Options of the RGB-D segmenter; the defaults suit 640×480 indoor frames (ScanNet, Replica)."""

    planes: str = option(
        "remove", "dominant planes: not objects, each piece a segment, or no plane detection", choices=PLANE_MODES
    )
    plane: PlaneConfig = field(default_factory=PlaneConfig)
    depth_smooth: int = option(5, "bilateral depth filter diameter, pixels (0 = off)", low=0, high=64)
    depth_sigma: float = option(0.02, "bilateral depth filter relative range", low=0.0, high=10.0)
    normal_step: int = option(3, "neighbour distance for normals, pixels", low=1, high=64)
    normal_smooth: int = option(5, "box size for normal smoothing, pixels", low=1, high=64)
    max_depth_jump: float = option(
        0.05, "edges whose depth differs by more than this share of the nearer are cut", low=0.0, high=10.0
    )
    depth_weight: float = option(10.0, "edge weight of the relative off-tangent-plane distance", low=0.0, high=1e6)
    normal_weight: float = option(1.0, "edge weight of (1 − cos angle)", low=0.0, high=1e6)
    convex_factor: float = option(0.1, "multiplies both shape terms on convex creases", low=0.0, high=1e3)
    color_weight: float = option(0.05, "edge weight of the Lab distance / 100", low=0.0, high=1e6)
    tolerance: float = option(0.01, "edge weights below this count as equal", low=0.0, high=1e6)
    k: float = option(3.0, "Felzenszwalb scale (larger → larger segments)", low=0.0, high=1e6)
    min_size: float = option(2e-4, "pieces below this share of the image merge into a neighbour", low=0.0, high=1.0)
    min_area: float = option(2e-3, "segments below this share of the image are dropped", low=0.0, high=1.0)
    max_segments: int = option(64, "keep the largest this many", low=1, high=65_535)
    score_area: float = option(0.02, "share of the image that gets the full size part of the score", low=1e-9, high=1.0)
    seed: int = option(0, "RANSAC seed", low=0)
    fast: bool = option(True, "numba kernels; false: their numpy references (slower, the same masks)")


def pixel_graph(
    color: np.ndarray,
    depth: np.ndarray,
    points: np.ndarray,
    normals: np.ndarray,
    nodes: np.ndarray,
    cfg: RGBDConfig,
    fast: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4-connected edges between `nodes` pixels, sorted by weight (stable, so ties keep raster order: all
    horizontal edges row by row, then all vertical ones).

    color: [H, W, 3] uint8 RGB.  depth: [H, W] float32 metres.  points, normals: [H, W, 3] float32, camera frame.
    nodes: [H, W] bool, pixels that take part.  fast: one numba pass (`_graph_kernel`), else numpy.
    Returns src, dst: [E] int64 flat pixel ids; weight: [E] float32 ascending.
    """
    if not fast:
        return _pixel_graph_numpy(color, depth, points, normals, nodes, cfg)
    f32 = np.float32
    src, dst, weight = _graph_kernel(
        np.ascontiguousarray(depth, f32),
        np.ascontiguousarray(points, f32).reshape(-1, 3),
        np.ascontiguousarray(normals, f32).reshape(-1, 3),
        lab_colors(color).reshape(-1, 3),
        np.ascontiguousarray(nodes, bool),
        *(f32(getattr(cfg, name)) for name in _GRAPH_PARAMS),
    )
    # Weights are clipped at zero and most edges sit there: those come first in edge order, as a stable sort
    # would put them, and only the rest needs sorting.
    zero = weight == 0
    rest = np.flatnonzero(~zero)
    order = np.concatenate([np.flatnonzero(zero), rest[np.argsort(weight[rest], kind="stable")]])
    return src[order], dst[order], weight[order]


_GRAPH_PARAMS = ("max_depth_jump", "depth_weight", "normal_weight", "convex_factor", "color_weight", "tolerance")


@numba.njit(cache=True, nogil=True)
def _graph_kernel(depth, points, normals, lab, nodes, max_jump, depth_w, normal_w, convex_f, color_w, tolerance):
    """Unsorted edges of `pixel_graph` in its edge order: src, dst [E] int64, weight [E] float32."""
    h, w = depth.shape
    n_max = h * (w - 1) + (h - 1) * w
    src = np.empty(n_max, np.int64)
    dst = np.empty(n_max, np.int64)
    weight = np.empty(n_max, np.float32)
    count = 0
    for d_row, d_col in ((0, 1), (1, 0)):
        for row in range(h - d_row):
            for col in range(w - d_col):
                r, c = row + d_row, col + d_col
                if not (nodes[row, col] and nodes[r, c]):
                    continue
                za, zb = depth[row, col], depth[r, c]
                nearer = min(za, zb)
                if not abs(za - zb) <= max_jump * nearer:
                    continue
                a, b = row * w + col, r * w + c
                src[count], dst[count] = a, b
                weight[count] = edge_weight(
                    points, normals, lab, a, b, nearer, depth_w, normal_w, convex_f, color_w, tolerance
                )
                count += 1
    return src[:count], dst[:count], weight[:count]


def _pixel_graph_numpy(
    color: np.ndarray, depth: np.ndarray, points: np.ndarray, normals: np.ndarray, nodes: np.ndarray, cfg: RGBDConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`pixel_graph` in numpy (the reference of `_graph_kernel`)."""
    h, w = depth.shape
    ids = np.arange(h * w).reshape(h, w)
    pairs = [(ids[:, :-1], ids[:, 1:]), (ids[:-1, :], ids[1:, :])]
    src = np.concatenate([a.ravel() for a, _ in pairs])
    dst = np.concatenate([b.ravel() for _, b in pairs])
    flat_nodes = nodes.ravel()
    both = flat_nodes[src] & flat_nodes[dst]
    src, dst = src[both], dst[both]
    z = depth.ravel()
    nearer = np.minimum(z[src], z[dst])
    keep = np.abs(z[src] - z[dst]) <= cfg.max_depth_jump * nearer
    src, dst, nearer = src[keep], dst[keep], nearer[keep]
    weight = crease_weights(
        points.reshape(-1, 3),
        normals.reshape(-1, 3),
        lab_colors(color).reshape(-1, 3),
        src,
        dst,
        nearer,
        cfg.depth_weight,
        cfg.normal_weight,
        cfg.convex_factor,
        cfg.color_weight,
        cfg.tolerance,
    )
    order = np.argsort(weight, kind="stable")
    return src[order].astype(np.int64), dst[order].astype(np.int64), weight[order]


def smooth_depth(depth: np.ndarray, diameter: int, sigma: float) -> np.ndarray:
    """Edge-preserving smoothing: a bilateral filter on log depth, so `sigma` is a relative depth difference.

    depth: [H, W] float32 metres, 0 invalid -> [H, W] float32, still 0 where invalid. diameter 0 = no smoothing.
    """
    if diameter <= 0:
        return depth
    valid = depth > 0
    # Invalid pixels sit far below any valid log depth, so they never weigh in a valid pixel's average.
    log_depth = np.where(valid, np.log(np.where(valid, depth, 1.0)), -100.0).astype(np.float32)
    smoothed = cv2.bilateralFilter(log_depth, diameter, sigma, diameter / 2.0)
    return np.where(valid, np.exp(smoothed), 0).astype(np.float32)


def _plane_pieces(plane_ids: np.ndarray, n_planes: int, min_pixels: int) -> list[np.ndarray]:
    """Connected pieces of each plane with at least `min_pixels` pixels: list of [H, W] bool."""
    pieces = []
    for index in range(n_planes):
        count, labels = cv2.connectedComponents((plane_ids == index).astype(np.uint8), connectivity=4)
        sizes = np.bincount(labels.ravel(), minlength=count)
        pieces += [labels == c for c in range(1, count) if sizes[c] >= min_pixels]
    return pieces


def _scores(label_image: np.ndarray, n: int, image_pixels: int, score_area: float) -> np.ndarray:
    """Per segment 1..n of label_image: sqrt(area / bbox area * min(1, area / (score_area * image))) in [0, 1]."""
    areas = np.bincount(label_image.ravel(), minlength=n + 1)[1:].astype(np.float64)
    boxes = ndimage.find_objects(label_image, max_label=n)
    box_areas = np.array([(s[0].stop - s[0].start) * (s[1].stop - s[1].start) for s in boxes], np.float64)
    size = np.minimum(1.0, areas / (score_area * image_pixels))
    return np.sqrt(areas / box_areas * size).astype(np.float32)


def segment_rgbd(frame: Frame, cfg: RGBDConfig | None = None, kernel=felzenszwalb) -> FrameMasks:
    """Segment one frame into object-like pieces. Returns FrameMasks [N, H, W] at depth resolution, labels None.

    kernel: the FH implementation (`core.felzenszwalb.felzenszwalb` or `felzenszwalb_reference`).
    cfg.fast chooses the numba kernels for normals, planes and the pixel graph or their numpy references (the
    same masks up to float rounding at plane tolerances; `benchmarks/rgbd_speed.py` times both).
    """
    cfg = cfg or RGBDConfig()
    fast = cfg.fast
    h, w = frame.height, frame.width
    image_pixels = h * w
    depth = smooth_depth(frame.depth, cfg.depth_smooth, cfg.depth_sigma)
    normals_of = depth_normals_fast if fast else depth_normals
    normals, valid = normals_of(depth, frame.K, cfg.normal_step, cfg.max_depth_jump * cfg.normal_step)
    normals = smooth_normals(normals, valid, cfg.normal_smooth, fast)
    points = depth_to_points(depth, frame.K)
    segments: list[np.ndarray] = []
    nodes = valid
    if cfg.planes != "keep":
        plane_ids, planes = find_planes(points, normals, valid, cfg.plane, cfg.seed, fast)
        nodes = valid & (plane_ids < 0)
        if cfg.planes == "segment":
            segments += _plane_pieces(plane_ids, len(planes), int(np.ceil(cfg.min_area * image_pixels)))
    src, dst, weight = pixel_graph(frame.color, depth, points, normals, nodes, cfg, fast)
    labels = kernel(src, dst, weight, image_pixels, cfg.k, int(np.ceil(cfg.min_size * image_pixels)))
    labels = np.where(nodes.ravel(), labels, -1)
    sizes = np.bincount(labels[labels >= 0])
    big = np.flatnonzero(sizes >= cfg.min_area * image_pixels)
    segments += [(labels == c).reshape(h, w) for c in big]
    segments.sort(key=lambda m: -int(m.sum()))
    segments = segments[: cfg.max_segments]
    if not segments:
        return FrameMasks.empty(h, w)
    masks = np.stack(segments)
    label_image = np.zeros((h, w), np.int32)
    for i, m in enumerate(masks):
        label_image[m] = i + 1
    return FrameMasks(masks, scores=_scores(label_image, len(masks), image_pixels, cfg.score_area))


class RGBDSegmenter:
    """`Segmenter` over `segment_rgbd` with a fixed config: frame -> FrameMasks (labels None)."""

    thread_safe = True  # no state between calls; its kernels release the GIL, so frames segment in parallel

    def __init__(self, config: RGBDConfig | None = None):
        self.config = config or RGBDConfig()

    def __call__(self, frame: Frame) -> FrameMasks:
        return segment_rgbd(frame, self.config)
