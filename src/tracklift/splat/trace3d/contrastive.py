"""Contrastive lifting: a learned low-dimensional feature per Gaussian, then clustering into instances.

The Gaussians stay fixed; only their features F [N, D] are optimised. Features are normalised per Gaussian
and rendered into one view per step (`rasterize(colors=F)`); dividing by alpha gives each covered pixel
(alpha >= 0.5) a convex mix of its Gaussians' unit features, whose length is 1 only where they agree. Each
pixel is pulled towards the mean direction of its own mask and away from the other masks' of that view
(softmax cross-entropy over the view's mask prototypes at a temperature, averaged over pixels), so
Gaussians of one object agree across views without the views' mask ids agreeing. Not normalising the
pixel feature matters: it makes every Gaussian on a pixel point the same way, not just their sum, which is
what the per-Gaussian assignment below reads. Unmasked pixels form one more mask (the background). Views
are visited in a fresh random order every epoch.

Clustering works on what the loss shaped, the rendered masks: every view's mask prototypes (mean rendered
feature of each mask) are joined by average-linkage agglomeration on cosine similarity, with a cannot-link
between masks of one view (`closed_form.agglomerate`, as the closed form associates segments), so a mask that
fused two objects in one view cannot chain them together. A cluster made mostly (by pixels) of background
prototypes is the background; clusters seen in fewer than `min_views` views (e.g. the second half of a
mask split in one view) are not offered. Each Gaussian takes the offered cluster whose centroid is nearest
to its own feature, and -1 if that is the background, as the closed form's background vote does.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from tracklift.core.config import config, option
from tracklift.splat.io.instances import Instances
from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians
from tracklift.splat.render.rasterizer import rasterize
from tracklift.splat.trace3d.closed_form import agglomerate, with_background
from tracklift.splat.trace3d.tracing import check_label_maps


@config
class ContrastiveConfig:
    """Contrastive lifting: per-Gaussian features trained against mask prototypes, then clustered."""

    dim: int = option(16, "feature size", low=1)
    iterations: int = option(300, "Adam steps, one view each", low=0)
    lr: float = option(0.1, "Adam learning rate", low=0.0)
    pixels: int = option(20_000, "at most this many covered pixels per step (random subset)", low=1)
    temperature: float = option(0.1, "of the prototype softmax", low=1e-6)
    cluster_threshold: float = option(
        0.5, "mean cosine similarity joining two clusters of mask prototypes", low=-1.0, high=1.0
    )
    min_gaussians: int = option(3, "smaller instances are dropped (-1)", low=1)
    min_views: int = option(2, "clusters with masks in fewer views are not assigned", low=1)
    assign_threshold: float = option(0.0, "Gaussians not above this similarity to a cluster get -1", low=-1.0, high=1.0)
    tile: int = option(8, "rasterizer tile size (speed only)", low=1)
    threads: int = option(1, "torch CPU threads while training (0 = leave torch's setting)", low=0)
    seed: int = option(0, "feature init, view order and pixel sampling", low=0)


def prototype_loss(features: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy of pixels against their mask's mean direction, over the masks present.

    features: [P, D] pixel features of length <= 1 (rendered unit features over alpha; shorter where the
    pixel's Gaussians disagree); labels: [P] int64 local mask ids >= 0. Returns a scalar (0 for one mask).
    """
    present, target = torch.unique(labels, return_inverse=True)
    if len(present) < 2:
        return features.sum() * 0.0  # one mask only: nothing to contrast in this view
    proto = torch.zeros(len(present), features.shape[1], dtype=features.dtype).index_add(0, target, features)
    proto = F.normalize(proto, dim=-1)
    return F.cross_entropy(features @ proto.T / temperature, target)


def view_order(n_views: int, steps: int, gen: torch.Generator) -> list[int]:
    """`steps` view indices: concatenated random permutations of the views (every view once per epoch)."""
    epochs = -(-steps // n_views)
    return [v for _ in range(epochs) for v in torch.randperm(n_views, generator=gen).tolist()][:steps]


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
    others never reached a used pixel; their features are still random).

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
    threads_before = torch.get_num_threads()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    try:
        for v in tqdm(
            view_order(len(cameras), cfg.iterations, gen), desc="contrastive lifting", disable=not progress, unit="it"
        ):
            out = rasterize(g, cameras[v], colors=F.normalize(feats, dim=-1), background=None, tile=cfg.tile)
            rendered = out.color.reshape(-1, cfg.dim)
            covered = torch.nonzero(out.alpha.detach().reshape(-1) >= 0.5).squeeze(1)
            if len(covered) > cfg.pixels:
                covered = covered[torch.randperm(len(covered), generator=gen)[: cfg.pixels]]
            pix = rendered[covered] / out.alpha.reshape(-1, 1)[covered].detach()
            loss = prototype_loss(pix, targets[v][covered], cfg.temperature)
            opt.zero_grad()
            loss.backward()
            seen |= feats.grad.abs().sum(dim=1) > 0
            opt.step()
    finally:
        torch.set_num_threads(threads_before)
    return feats.detach(), seen.numpy()


def mask_prototypes(
    g: Gaussians, cameras: Sequence[Camera], label_maps: Sequence[np.ndarray], feats: torch.Tensor, tile: int = 16
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean rendered (normalised) feature of every mask of every view, over covered pixels.

    label_maps: V × [H, W] int, -1 = ignored. Returns, per mask with at least one covered pixel:
    prototypes [M, D] float32 (unit length), pixel counts [M] float32, view [M] int64, local label [M] int64.
    """
    protos, counts, views, labels = [], [], [], []
    unit = F.normalize(feats, dim=-1)
    with torch.no_grad():
        for v, (cam, lab) in enumerate(zip(cameras, label_maps)):
            out = rasterize(g, cam, colors=unit, background=None, tile=tile)
            lab = torch.as_tensor(lab).reshape(-1)
            use = (out.alpha.reshape(-1) >= 0.5) & (lab >= 0)
            present, idx = torch.unique(lab[use], return_inverse=True)
            f = out.color.reshape(-1, feats.shape[1])[use]
            protos.append(torch.zeros(len(present), f.shape[1]).index_add(0, idx, f.float()))
            counts.append(torch.bincount(idx, minlength=len(present)).float())
            views.append(torch.full((len(present),), v, dtype=torch.int64))
            labels.append(present.long())
    return F.normalize(torch.cat(protos), dim=-1), torch.cat(counts), torch.cat(views), torch.cat(labels)


def lift_contrastive(
    g: Gaussians,
    cameras: Sequence[Camera],
    label_maps: Sequence[np.ndarray],
    config: ContrastiveConfig | None = None,
    *,
    progress: bool = False,
) -> tuple[Instances, torch.Tensor]:
    """Train features (`train_features`), then cluster them into instances (`cluster_features`).

    label_maps: V × [H, W] int, -1 = no mask (background). Returns (Instances, features [N, dim] float32).
    """
    cfg = config or ContrastiveConfig()
    feats, seen = train_features(g, cameras, label_maps, cfg, progress=progress)
    return cluster_features(g, cameras, label_maps, feats, seen, cfg), feats


def cluster_features(
    g: Gaussians,
    cameras: Sequence[Camera],
    label_maps: Sequence[np.ndarray],
    feats: torch.Tensor,
    seen: np.ndarray,
    config: ContrastiveConfig | None = None,
) -> Instances:
    """Cluster the views' mask prototypes of trained features, give each seen Gaussian its nearest cluster.

    feats: [N, D] per-Gaussian features; seen: [N] bool (others get -1); label_maps: V × [H, W] int, -1 = no
    mask. Clusters supported by fewer than `min_views` views are not offered; Gaussians whose nearest
    offered cluster is the background, or not more similar (cosine) than `assign_threshold`, get -1.
    Instances are numbered by decreasing number of Gaussians; `views` counts the views with a mask in the
    cluster and `confidence` is the cosine similarity to the cluster (clipped at 0).
    """
    cfg = config or ContrastiveConfig()
    if feats.ndim != 2 or feats.shape[0] != g.n:
        raise ValueError(f"feats must be [{g.n}, D] (one row per Gaussian), got {tuple(feats.shape)}")
    seen = np.asarray(seen, bool)
    if seen.shape != (g.n,):
        raise ValueError(f"seen must be [{g.n}] bool, got {seen.shape}")
    maps, num_labels = with_background(check_label_maps(cameras, label_maps))
    protos, counts, view, local = mask_prototypes(g.detach(), cameras, maps, feats, cfg.tile)
    if len(protos) == 0:  # no view covers any pixel: nothing to cluster
        return Instances(np.full(g.n, -1, np.int32))
    background = (local == torch.as_tensor(num_labels)[view] - 1).numpy()
    p64 = protos.double().numpy()
    cluster = agglomerate(p64 @ p64.T, view.numpy(), cfg.cluster_threshold)
    n_clusters = int(cluster.max()) + 1
    sums = torch.zeros(n_clusters, protos.shape[1]).index_add(0, torch.as_tensor(cluster), protos)
    centroids = F.normalize(sums, dim=-1)
    pixels = counts.double().numpy()
    bg_pixels = np.bincount(cluster, weights=np.where(background, pixels, 0.0), minlength=n_clusters)
    obj_pixels = np.bincount(cluster, weights=np.where(background, 0.0, pixels), minlength=n_clusters)
    obj = ~background
    views = np.array([len(np.unique(view.numpy()[obj & (cluster == c)])) for c in range(n_clusters)], np.int64)
    is_background = bg_pixels > obj_pixels
    candidate = torch.as_tensor(is_background | (views >= cfg.min_views))
    sim = (F.normalize(feats, dim=-1) @ centroids.T).masked_fill(~candidate, -2.0)
    best, nearest = (t.numpy() for t in sim.max(dim=1))
    instance = np.where(seen & ~is_background[nearest] & (best > cfg.assign_threshold), nearest, -1)
    sizes = np.bincount(instance[instance >= 0], minlength=n_clusters)
    alive = np.flatnonzero(sizes >= max(cfg.min_gaussians, 1))
    alive = alive[np.argsort(-sizes[alive], kind="stable")]
    new_id = np.full(n_clusters + 1, -1, np.int64)
    new_id[alive] = np.arange(len(alive))
    out = new_id[instance]
    return Instances(out.astype(np.int32), views=views[alive], confidence=np.where(out >= 0, np.clip(best, 0, 1), 0.0))
