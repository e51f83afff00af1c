"""What 3D instances of Gaussians are for: extract, remove or recolour an object, render instance maps
(and their colours)."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch

from tracklift.splat.io.instances import Instances
from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians, rgb_to_sh_dc
from tracklift.splat.render.rasterizer import rasterize


def _select(g: Gaussians, inst: Instances, ids: Iterable[int]) -> np.ndarray:
    if len(inst.instance) != g.n:
        raise ValueError(f"instances cover {len(inst.instance)} Gaussians, the model has {g.n}")
    ids = np.asarray(list(ids), np.int64)
    bad = ids[(ids < 0) | (ids >= inst.count)]
    if len(bad):
        raise ValueError(f"unknown instance id(s) {bad.tolist()}; ids are 0..{inst.count - 1}")
    return np.isin(inst.instance, ids)


def extract(g: Gaussians, inst: Instances, ids: Iterable[int]) -> Gaussians:
    """The Gaussians of the given instances (a model of its own, e.g. to write as a PLY)."""
    return g.index(torch.as_tensor(_select(g, inst, ids)))


def remove(g: Gaussians, inst: Instances, ids: Iterable[int]) -> tuple[Gaussians, Instances]:
    """The scene without the given instances, and the instance ids of what is left."""
    keep = ~_select(g, inst, ids)
    rest = Instances(inst.instance[keep], inst.labels, inst.views, inst.confidence[keep])
    return g.index(torch.as_tensor(keep)), rest


def recolor(g: Gaussians, inst: Instances, ids: Iterable[int], rgb: tuple[float, float, float]) -> Gaussians:
    """A copy where the instances' Gaussians are a flat colour (rgb in [0, 1]; view-dependent terms zeroed)."""
    if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
        raise ValueError(f"rgb must be three values in [0, 1], got {rgb}")
    sel = torch.as_tensor(_select(g, inst, ids))
    out = g.clone()
    out.sh[sel] = 0.0
    out.sh[sel, 0] = rgb_to_sh_dc(torch.tensor(rgb, dtype=out.sh.dtype))
    return out


def render_instance_map(
    g: Gaussians, instance: np.ndarray, cam: Camera, min_alpha: float = 0.5, tile: int = 16
) -> np.ndarray:
    """[H, W] int64 instance id per pixel: the instance with the largest rendered weight there, -1 where
    the instances' Gaussians cover less than `min_alpha` (all Gaussians still occlude: background
    Gaussians with id -1 hide what is behind them)."""
    instance = np.asarray(instance, np.int64)
    if instance.shape != (g.n,):
        raise ValueError(f"instance must be [{g.n}], got {instance.shape}")
    n_inst = int(instance.max(initial=-1)) + 1
    onehot = torch.zeros(g.n, n_inst + 1, dtype=g.means.dtype)
    onehot[torch.arange(g.n), torch.as_tensor(np.where(instance >= 0, instance, n_inst))] = 1.0
    with torch.no_grad():
        out = rasterize(g.detach(), cam, colors=onehot, background=None, tile=tile)
    weights = out.color[..., :n_inst]
    if n_inst == 0:
        return np.full((cam.height, cam.width), -1, np.int64)
    best = weights.max(dim=-1)
    return np.where(best.values.numpy() >= min_alpha, best.indices.numpy(), -1).astype(np.int64)


def render_silhouette(g: Gaussians, cam: Camera, min_alpha: float = 0.5, tile: int = 16) -> np.ndarray:
    """[H, W] bool, pixels where `g` (e.g. one extracted object) renders with alpha >= min_alpha."""
    with torch.no_grad():
        out = rasterize(g.detach(), cam, colors=g.means.new_zeros(g.n, 1), background=None, tile=tile)
    return out.alpha.numpy() >= min_alpha


def palette(n: int, seed: int = 0) -> np.ndarray:
    """[n, 3] uint8 distinct-looking colours (golden-ratio hues), deterministic."""
    hue = (seed * 0.1 + np.arange(n) * 0.618033988749895) % 1.0
    h6 = hue * 6.0
    x = 1.0 - np.abs(h6 % 2.0 - 1.0)
    sector = h6.astype(int) % 6
    rgb = np.zeros((n, 3))
    table = [(1, x, 0), (x, 1, 0), (0, 1, x), (0, x, 1), (x, 0, 1), (1, 0, x)]
    for s, (r, gch, b) in enumerate(table):
        sel = sector == s
        for c, val in enumerate((r, gch, b)):
            rgb[sel, c] = val if np.isscalar(val) else val[sel]
    return (55 + 200 * rgb).astype(np.uint8)


def colorize(ids: np.ndarray) -> np.ndarray:
    """[H, W] int instance map -> [H, W, 3] uint8 image, black where id < 0."""
    ids = np.asarray(ids)
    colors = palette(int(ids.max(initial=-1)) + 1)
    out = np.zeros((*ids.shape, 3), np.uint8)
    out[ids >= 0] = colors[ids[ids >= 0]]
    return out
