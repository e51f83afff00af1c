"""Gaussian Instance Tracing (GIT): the instance weight matrix of Gaussians × the 2D labels of every view.

Each view is traced forward-only (`rasterize.trace_weights`): per Gaussian, the weight α·T (or the pixel
count) it gives to each label of that view's label map. The entries go into the shared tracing table
(`tracklift.trace.table.TraceTable`, design.md "tracing") with *global* label ids: label l of view v has
id `offsets[v] + l`, so the table can be aggregated, re-mapped (segment -> instance) and read by the same
statistics as the point pipeline. `signatures` is what both mask correction and lifting read: where the
Gaussians of a 2D region land, label by label, in every other view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from scipy.sparse import csr_matrix
from tqdm import tqdm

from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians
from tracklift.splat.render.rasterizer import trace_weights
from tracklift.trace.table import TraceTable


@dataclass
class InstanceTrace:
    """The instance weight matrix of N Gaussians over V views.

    table:   primitive = Gaussian index, view = view index, label = global label id, weight = α·T sum
             (mode "alpha") or pixel count (mode "count").
    offsets: [V + 1] int64, view v owns the global labels offsets[v] .. offsets[v + 1] - 1 (its local
             labels 0 .. L_v - 1).
    n_gaussians: N. mode: "alpha" or "count".
    pixel_area: [N, V] float64, m² of a surface facing view v at Gaussian g's depth that one pixel covers,
             (z / f)²; turns a weight in pixels into a size-free one (`view_distributions`). Without it
             (None) a view twice as far sees a Gaussian a quarter as well, which cuts a large object seen
             around a loop into pieces that no view pair links.
    """

    table: TraceTable
    offsets: np.ndarray
    n_gaussians: int
    mode: str
    pixel_area: np.ndarray | None = None

    @property
    def n_views(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_labels(self) -> int:
        """S, the number of global labels over all views."""
        return int(self.offsets[-1])

    def view_of_label(self) -> np.ndarray:
        """[S] int64, the view each global label belongs to."""
        return np.repeat(np.arange(self.n_views), np.diff(self.offsets))

    def matrix(self) -> csr_matrix:
        """[N, S] float64 sparse instance weight matrix: W[g, s] = weight of Gaussian g in global label s."""
        t = self.table
        return csr_matrix(
            (t.weight.astype(np.float64), (t.primitive, t.label)), shape=(self.n_gaussians, self.n_labels)
        )

    def view_matrix(self, view: int) -> np.ndarray:
        """[N, L_v] float64 dense weights of one view over its local labels."""
        lo, hi = int(self.offsets[view]), int(self.offsets[view + 1])
        return self.matrix()[:, lo:hi].toarray()


@dataclass
class TracedViews:
    """A tracing pass part-way: views 0 .. next_view - 1 are in `table` (what a checkpoint keeps)."""

    next_view: int
    table: TraceTable


def check_label_maps(cameras: Sequence[Camera], label_maps: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Validate V label maps against V cameras; returns them as int64 arrays.

    label_maps: V × [H, W] integer, -1 = ignore, else a local label >= 0 (sizes must match each camera).
    """
    if len(cameras) != len(label_maps):
        raise ValueError(f"need one label map per camera, got {len(cameras)} cameras and {len(label_maps)} label maps")
    out = []
    for cam, lab in zip(cameras, label_maps):
        lab = np.asarray(lab)
        if lab.shape != (cam.height, cam.width):
            raise ValueError(
                f"label map of view {cam.name!r} is {lab.shape[1] if lab.ndim > 1 else '?'}x{lab.shape[0]}, "
                f"camera is {cam.width}x{cam.height}"
            )
        if not np.issubdtype(lab.dtype, np.integer):
            raise ValueError(f"label map of view {cam.name!r} must be integer, got {lab.dtype}")
        if lab.size and lab.min() < -1:
            raise ValueError(f"label map of view {cam.name!r} has labels < -1 (min {lab.min()})")
        out.append(lab.astype(np.int64))
    return out


def trace_instances(
    g: Gaussians,
    cameras: Sequence[Camera],
    label_maps: Sequence[np.ndarray],
    *,
    mode: str = "alpha",
    num_labels: Sequence[int] | None = None,
    tile: int = 16,
    progress: bool = False,
    resume: TracedViews | None = None,
    after_view: Callable[[TracedViews], None] | None = None,
) -> InstanceTrace:
    """Trace every view: the per-view instance weight matrices of `g`, stacked into one sparse table.

    cameras: V views; label_maps: V × [H, W] int, -1 = ignore; num_labels: V label counts (default: max
    label + 1 of each map). mode: "alpha" (Σ α·T over the label's pixels) or "count" (pixels with
    α·T > 1/255). Records each Gaussian's `pixel_area` per view, so that signatures weigh a far view like a
    near one. Forward only. resume: continue a pass stopped part-way (same inputs; the result is the same
    as an unbroken pass's); after_view: called after each view with the pass so far (to checkpoint it).
    """
    maps = check_label_maps(cameras, label_maps)
    counts = [int(m.max(initial=-1)) + 1 for m in maps] if num_labels is None else [int(k) for k in num_labels]
    if len(counts) != len(maps):
        raise ValueError(f"num_labels must have {len(maps)} entries, got {len(counts)}")
    for cam, lab, k in zip(cameras, maps, counts):
        if lab.size and lab.max() >= k:
            raise ValueError(f"label map of view {cam.name!r} uses label {lab.max()} but num_labels is {k}")
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    done = resume or TracedViews(0, TraceTable())
    table = done.table
    g = g.detach()
    views = range(done.next_view, len(maps))
    for v in tqdm(views, desc="instance tracing", disable=not progress, unit="view", initial=done.next_view):
        if counts[v] > 0:
            w = trace_weights(g, cameras[v], torch.as_tensor(maps[v]), counts[v], mode, tile=tile).numpy()
            prim, label = np.nonzero(w)
            table.append(v, prim, label + offsets[v], w[prim, label])
        if after_view is not None:
            after_view(TracedViews(v + 1, table))
    return InstanceTrace(table, offsets, g.n, mode, pixel_areas(g, cameras))


def pixel_areas(g: Gaussians, cameras: Sequence[Camera]) -> np.ndarray:
    """[N, V] float64, (z / f)² of every Gaussian centre in every view (f = sqrt(fx fy)); 0 behind the camera."""
    means = g.means.detach().double().numpy()
    out = np.zeros((g.n, len(cameras)))
    for v, cam in enumerate(cameras):
        w2c = cam.world_to_camera()
        z = means @ w2c[2, :3] + w2c[2, 3]
        out[:, v] = np.where(z > 0, z * z / (cam.K[0, 0] * cam.K[1, 1]), 0.0)
    return out


def view_distributions(trace: InstanceTrace) -> tuple[csr_matrix, np.ndarray]:
    """Each Gaussian's label distribution within each view, scaled by how well the view sees it.

    A Gaussian hidden behind others in a view still gets a tiny weight there; scaling by its visibility
    (its weight in the view over its largest weight in any view) keeps such views from voting at full
    strength. Weights are first made size-free with `pixel_area` (when the trace has it): a Gaussian's
    footprint shrinks with the square of its distance, and a far view sees it no worse for that.
    Returns D [N, S] float64 sparse, D[g, s] = a(g, v) W[g, s] / max_u a(g, u) total_u(g) (a view's block
    sums to the visibility; a = pixel area, or 1), and visibility [N, V] float64 in [0, 1].
    """
    W = trace.matrix().tocoo()
    view = trace.view_of_label()[W.col]
    data = W.data if trace.pixel_area is None else W.data * trace.pixel_area[W.row, view]
    totals = np.zeros((trace.n_gaussians, trace.n_views))
    np.add.at(totals, (W.row, view), data)
    peak = totals.max(axis=1, initial=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        visibility = np.where(peak[:, None] > 0, totals / peak[:, None], 0.0)
    D = csr_matrix((data / peak[W.row], (W.row, W.col)), shape=W.shape)
    return D, visibility


def owned_weights(trace: InstanceTrace) -> csr_matrix:
    """[N, S] float64 sparse, W[g, s] times g's share of its weight in view(s) that goes to s.

    How much a Gaussian speaks for a label: a blurry Gaussian of a neighbour that bleeds into a small
    label has weight there but a small share, and must not decide where that label's region goes.
    """
    W = trace.matrix().tocoo()
    view = trace.view_of_label()[W.col]
    totals = np.zeros((trace.n_gaussians, trace.n_views))
    np.add.at(totals, (W.row, view), W.data)
    return csr_matrix((W.data * W.data / totals[W.row, view], (W.row, W.col)), shape=W.shape)


def signatures(trace: InstanceTrace, weights: csr_matrix | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the Gaussians of K regions land in every view.

    weights: [N, K], region k's weight on each Gaussian (e.g. the columns of W of K labels).
    Returns sig [K, S] float64, sig[k, s] = share of region k's visible Gaussian mass in view(s) that falls
    into label s (each view's block sums to 1, or to 0 where the region is unseen), and mass [K, V]
    float64, region k's Gaussian weight times visibility in each view (see `view_distributions`).
    """
    D, visibility = view_distributions(trace)
    Wk = csr_matrix(weights)
    if Wk.shape[0] != trace.n_gaussians:
        raise ValueError(f"weights must have {trace.n_gaussians} rows (one per Gaussian), got {Wk.shape[0]}")
    raw = np.asarray((Wk.T @ D).todense())  # [K, S]
    mass = np.asarray(Wk.T @ visibility)  # [K, V]
    view = trace.view_of_label()
    with np.errstate(invalid="ignore", divide="ignore"):
        sig = np.where(mass[:, view] > 0, raw / mass[:, view], 0.0)
    return sig, mass


def signatures_reference(trace: InstanceTrace, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Loop version of `signatures` (for tests): one region, one view, one Gaussian at a time."""
    W = trace.matrix().toarray()
    if trace.pixel_area is not None:
        W = W * trace.pixel_area[:, trace.view_of_label()]
    weights = np.asarray(weights, np.float64)
    view_of = trace.view_of_label()
    blocks = [np.flatnonzero(view_of == v) for v in range(trace.n_views)]
    sig = np.zeros((weights.shape[1], trace.n_labels))
    mass = np.zeros((weights.shape[1], trace.n_views))
    for k in range(weights.shape[1]):
        for gi in range(trace.n_gaussians):
            peak = max(W[gi, cols].sum() for cols in blocks)
            if peak == 0:
                continue
            for v, cols in enumerate(blocks):
                mass[k, v] += weights[gi, k] * W[gi, cols].sum() / peak
                sig[k, cols] += weights[gi, k] * W[gi, cols] / peak
        for v, cols in enumerate(blocks):
            if mass[k, v] > 0:
                sig[k, cols] /= mass[k, v]
    return sig, mass
