"""A coarse/fine hierarchy of 3D instances from two granularities of overlapping 2D masks: paint the masks
two ways, lift each level in closed form, and link each fine instance to the coarse one holding it."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tracklift.core.masks import FrameMasks
from tracklift.splat.io.instances import Instances
from tracklift.splat.render import Camera, Gaussians
from tracklift.splat.trace3d.closed_form import GaussianLiftConfig, lift_closed_form


def granularity_maps(fm: FrameMasks) -> tuple[np.ndarray, np.ndarray]:
    """Two label maps from overlapping multi-granularity masks: fine (smaller masks painted over larger
    ones) and coarse (larger over smaller). Both [H, W] int64, mask index or -1."""
    h, w = fm.shape
    sizes = fm.masks.reshape(len(fm), h * w).sum(axis=1)
    maps = []
    for order in (np.argsort(-sizes, kind="stable"), np.argsort(sizes, kind="stable")):
        lab = np.full((h, w), -1, np.int64)
        for i in order:  # later masks win
            lab[fm.masks[i]] = i
        maps.append(lab)
    return maps[0], maps[1]


def level_masks(fm: FrameMasks) -> tuple[FrameMasks, FrameMasks]:
    """The fine and coarse paintings of overlapping masks (`granularity_maps`) as non-overlapping masks:
    each keeps the pixels it wins in that painting; masks that win none are dropped. Labels and scores
    follow their masks."""
    levels = []
    for lab in granularity_maps(fm):
        kept = [i for i in range(len(fm)) if (lab == i).any()]
        masks = lab[None] == np.asarray(kept, np.int64)[:, None, None]  # [len(kept), H, W]
        levels.append(FrameMasks(masks, [fm.labels[i] for i in kept], fm.scores[kept]))
    return levels[0], levels[1]


def lift_levels(
    g: Gaussians,
    cameras: Sequence[Camera],
    fine: Sequence[FrameMasks],
    coarse: Sequence[FrameMasks],
    config: GaussianLiftConfig | None = None,
    *,
    progress: bool = False,
) -> tuple[Instances, Instances, np.ndarray]:
    """Lift two levels of non-overlapping masks (V views each, e.g. from `level_masks`, possibly corrected)
    in closed form: (fine, coarse, parent [I_fine] int64 of each fine instance in coarse, -1 = none)."""
    levels = []
    for masks in (fine, coarse):
        maps = [granularity_maps(fm)[0] for fm in masks]  # both paintings agree: the masks do not overlap
        names = [list(fm.labels) for fm in masks]
        levels.append(lift_closed_form(g, cameras, maps, config, labels=names, progress=progress))
    return levels[0], levels[1], hierarchy(levels[0], levels[1])


def hierarchical_lift(
    g: Gaussians,
    cameras: Sequence[Camera],
    masks: Sequence[FrameMasks],
    config: GaussianLiftConfig | None = None,
    *,
    progress: bool = False,
) -> tuple[Instances, Instances, np.ndarray]:
    """Two-level segmentation from multi-granularity masks: (fine, coarse, parent [I_fine] of each fine
    instance in coarse), each level lifted in closed form from its own painting of the masks."""
    levels = [level_masks(fm) for fm in masks]
    return lift_levels(g, cameras, [f for f, _ in levels], [c for _, c in levels], config, progress=progress)


def hierarchy(fine: Instances, coarse: Instances) -> np.ndarray:
    """[I_fine] int64, the coarse instance holding most of each fine instance's Gaussians (-1 if none)."""
    if fine.instance.shape != coarse.instance.shape:
        raise ValueError(f"fine and coarse instances cover {fine.instance.shape} and {coarse.instance.shape} Gaussians")
    both = (fine.instance >= 0) & (coarse.instance >= 0)
    counts = np.zeros((fine.count, max(coarse.count, 1)), np.int64)
    np.add.at(counts, (fine.instance[both], coarse.instance[both]), 1)
    return np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), -1).astype(np.int64)


def children_of(parent: np.ndarray, n_coarse: int) -> list[list[int]]:
    """The fine instances under each of the `n_coarse` coarse ones, from `hierarchy`'s parent [I_fine]."""
    parent = np.asarray(parent, np.int64)
    if parent.ndim != 1 or (parent < -1).any() or (parent >= n_coarse).any():
        raise ValueError(f"parent must be [I_fine] ids in -1..{n_coarse - 1}, got {parent.tolist()}")
    return [np.flatnonzero(parent == c).tolist() for c in range(n_coarse)]
