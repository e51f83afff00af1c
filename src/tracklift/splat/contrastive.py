"""Contrastive lifting: a learned low-dimensional feature per Gaussian, then clustering into instances.

The Gaussians stay fixed; only their features F [N, D] are optimised. Each step renders F into one view
(`rasterize(colors=F)`), samples labelled pixels, and pulls each pixel's normalised feature towards the
mean feature of its own mask and away from the other masks' means of that view (softmax cross-entropy
over mask prototypes at a temperature), so Gaussians of one object agree across views without the views'
mask ids agreeing. Unmasked pixels form one more mask (the background); pixels that no Gaussian covers
(alpha < 0.5) are not sampled. Features are normalised per Gaussian before rendering, so a pixel's feature
is a convex mix of unit vectors.

Clustering works on what the loss shaped, the rendered masks: every view's mask prototypes (mean rendered
feature of each mask) are leader-clustered on cosine similarity (deterministic, no chaining through
boundary Gaussians), and each Gaussian takes the cluster whose centroid is nearest to its own feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from tracklift.splat.camera import Camera
from tracklift.splat.gaussians import Gaussians
from tracklift.splat.git import check_label_maps
from tracklift.splat.instances import Instances
from tracklift.splat.lift import with_background
from tracklift.splat.rasterize import rasterize


@dataclass
class ContrastiveConfig:
    """dim: feature size; iterations, lr: Adam steps and rate; pixels: sampled pixels per step;
    temperature: of the prototype softmax; cluster_threshold: cosine similarity joining a leader's
    cluster of mask prototypes; min_gaussians: smaller instances are dropped (-1); tile: rasterizer
    tile size; seed: feature init and pixel sampling."""

    dim: int = 8
    iterations: int = 300
    lr: float = 0.1
    pixels: int = 1024
    temperature: float = 0.1
    cluster_threshold: float = 0.7
    min_gaussians: int = 3
    tile: int = 16
    seed: int = 0


def prototype_loss(features: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy of pixels against their mask's mean feature, over the masks present.

    features: [P, D] rendered features of the sampled pixels; labels: [P] int64 local mask ids >= 0.
    """
    f = F.normalize(features, dim=-1)
    present, target = torch.unique(labels, return_inverse=True)
    if len(present) < 2:
        return f.sum() * 0.0  # one mask only: nothing to contrast in this view
    proto = torch.zeros(len(present), f.shape[1], dtype=f.dtype).index_add(0, target, f)
    proto = F.normalize(proto, dim=-1)
    return F.cross_entropy(f @ proto.T / temperature, target)


def train_features(
    g: Gaussians,
    cameras: Sequence[Camera],
    label_maps: Sequence[np.ndarray],
    config: ContrastiveConfig | None = None,
    *,
    progress: bool = False,
) -> tuple[torch.Tensor, np.ndarray]:
    """Optimise per-Gaussian features against V views' masks.

    Returns F [N, dim] float32 (unnormalised) and seen [N] bool: the Gaussians that got a gradient (the
    others never reached a sampled pixel; their features are still random).

    label_maps: V × [H, W] int, -1 = no mask (treated as one background mask per view).
    """
    cfg = config or ContrastiveConfig()
    maps, _ = with_background(check_label_maps(cameras, label_maps))
    gen = torch.Generator().manual_seed(cfg.seed)
    feats = torch.randn(g.n, cfg.dim, generator=gen).requires_grad_()
    opt = torch.optim.Adam([feats], lr=cfg.lr)
    g = g.detach()
    targets = [torch.as_tensor(m).reshape(-1) for m in maps]
    seen = torch.zeros(g.n, dtype=torch.bool)
    for step in tqdm(range(cfg.iterations), desc="contrastive lifting", disable=not progress, unit="it"):
        v = int(torch.randint(len(cameras), (1,), generator=gen))
        out = rasterize(g, cameras[v], colors=F.normalize(feats, dim=-1), background=None, tile=cfg.tile)
        rendered = out.color.reshape(-1, cfg.dim)
        covered = torch.nonzero(out.alpha.detach().reshape(-1) >= 0.5).squeeze(1)
        pick = covered[torch.randperm(len(covered), generator=gen)[: cfg.pixels]]
        loss = prototype_loss(rendered[pick], targets[v][pick], cfg.temperature)
        opt.zero_grad()
        loss.backward()
        seen |= feats.grad.abs().sum(dim=1) > 0
        opt.step()
    return feats.detach(), seen.numpy()


def leader_cluster(features: torch.Tensor, order: np.ndarray, threshold: float, min_size: int) -> np.ndarray:
    """Leader clustering on cosine similarity.

    features: [N, D]; order: [N] the order in which unassigned points become leaders. Every point joins
    the nearest leader (highest cosine); leaders with fewer than `min_size` members are dropped and their
    points re-join the nearest kept leader. Returns cluster [N] int64 (ids by leader order).
    """
    f = F.normalize(features.double(), dim=-1).numpy()
    n = len(f)
    assigned = np.zeros(n, bool)
    leaders = []
    for i in order:
        if assigned[i]:
            continue
        leaders.append(i)
        assigned |= f @ f[i] >= threshold
    lead = np.asarray(leaders, np.int64)
    sim = f @ f[lead].T  # [N, L]
    cluster = sim.argmax(axis=1)
    sizes = np.bincount(cluster, minlength=len(lead))
    kept = sizes >= min_size
    if kept.any() and not kept.all():
        sim[:, ~kept] = -np.inf
        cluster = sim.argmax(axis=1)
    _, cluster = np.unique(cluster, return_inverse=True)
    return cluster.astype(np.int64)


def mask_prototypes(
    g: Gaussians, cameras: Sequence[Camera], label_maps: Sequence[np.ndarray], feats: torch.Tensor, tile: int = 16
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean rendered (normalised) feature of every mask of every view, over covered pixels.

    Returns prototypes [M, D] float32 (unit length) and their pixel counts [M] float32.
    """
    protos, counts = [], []
    unit = F.normalize(feats, dim=-1)
    with torch.no_grad():
        for cam, lab in zip(cameras, label_maps):
            out = rasterize(g, cam, colors=unit, background=None, tile=tile)
            lab = torch.as_tensor(lab).reshape(-1)
            use = (out.alpha.reshape(-1) >= 0.5) & (lab >= 0)
            present, idx = torch.unique(lab[use], return_inverse=True)
            f = out.color.reshape(-1, feats.shape[1])[use]
            protos.append(torch.zeros(len(present), f.shape[1]).index_add(0, idx, f.float()))
            counts.append(torch.bincount(idx, minlength=len(present)).float())
    return F.normalize(torch.cat(protos), dim=-1), torch.cat(counts)


def lift_contrastive(
    g: Gaussians,
    cameras: Sequence[Camera],
    label_maps: Sequence[np.ndarray],
    config: ContrastiveConfig | None = None,
    *,
    progress: bool = False,
) -> tuple[Instances, torch.Tensor]:
    """Train features, cluster the views' mask prototypes, give each seen Gaussian its nearest cluster.

    Returns (Instances, features [N, dim]); Gaussians that never got a gradient get -1. Instances are
    numbered by decreasing number of Gaussians.
    """
    cfg = config or ContrastiveConfig()
    feats, seen = train_features(g, cameras, label_maps, cfg, progress=progress)
    maps, _ = with_background(check_label_maps(cameras, label_maps))
    protos, counts = mask_prototypes(g.detach(), cameras, maps, feats, cfg.tile)
    order = np.argsort(-counts.numpy(), kind="stable")  # big masks lead
    cluster = leader_cluster(protos, order, cfg.cluster_threshold, 1)
    sums = torch.zeros(int(cluster.max()) + 1, protos.shape[1]).index_add(0, torch.as_tensor(cluster), protos)
    centroids = F.normalize(sums, dim=-1)
    nearest = (F.normalize(feats, dim=-1) @ centroids.T).argmax(dim=1).numpy()
    instance = np.where(seen, nearest, -1)
    sizes = np.bincount(instance[instance >= 0], minlength=len(centroids))
    alive = np.flatnonzero(sizes >= max(cfg.min_gaussians, 1))
    alive = alive[np.argsort(-sizes[alive], kind="stable")]
    new_id = np.full(len(centroids) + 1, -1, np.int64)
    new_id[alive] = np.arange(len(alive))
    return Instances(new_id[instance].astype(np.int32)), feats
