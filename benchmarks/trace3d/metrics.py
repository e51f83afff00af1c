"""The ablation's scores: 2D mask mIoU and 3D extraction mIoU (see the package docstring)."""

from __future__ import annotations

import numpy as np


def mask_miou(label_map: np.ndarray, gt: np.ndarray, min_pixels: int) -> list[float]:
    """Per GT object of one view (>= min_pixels): the best IoU of any label of `label_map` with it."""
    scores = []
    labels = np.unique(label_map[label_map >= 0])
    for k in np.unique(gt[gt >= 0]):
        obj = gt == k
        if obj.sum() < min_pixels:
            continue
        best = 0.0
        for lab in np.unique(label_map[obj & (label_map >= 0)]) if len(labels) else []:
            pred = label_map == lab
            best = max(best, (pred & obj).sum() / (pred | obj).sum())
        scores.append(best)
    return scores


def extraction_miou(g, inst, train_cams, train_gt, held_cams, held_gt, min_pixels: int) -> tuple[float, int]:
    """3D extraction mIoU (module docstring) and the number of GT objects scored."""
    import torch

    from tracklift.splat.render.rasterizer import rasterize
    from tracklift.splat.trace3d.objects import extract, render_instance_map

    votes: dict[int, dict[int, int]] = {}
    for cam, gt in zip(train_cams, train_gt):
        pred = render_instance_map(g, inst.instance, cam)
        for k in np.unique(gt[gt >= 0]):
            ids, counts = np.unique(pred[(gt == k) & (pred >= 0)], return_counts=True)
            for i, c in zip(ids.tolist(), counts.tolist()):
                votes.setdefault(int(k), {}).setdefault(i, 0)
                votes[int(k)][i] += c
    with torch.no_grad():
        scene = [rasterize(g, cam, colors=g.means.new_zeros(g.n, 1), background=None) for cam in held_cams]
    per_object: dict[int, list[float]] = {}
    objects = {}
    for view, (cam, gt) in enumerate(zip(held_cams, held_gt)):
        for k in np.unique(gt[gt >= 0]).tolist():
            target = gt == k
            if target.sum() < min_pixels:
                continue
            choice = max(votes[k], key=votes[k].get) if votes.get(k) else None
            if choice is None:
                per_object.setdefault(k, []).append(0.0)
                continue
            if choice not in objects:
                objects[choice] = extract(g, inst, [choice])
            obj = objects[choice]
            with torch.no_grad():
                out = rasterize(obj, cam, colors=obj.means.new_zeros(obj.n, 1), background=None)
            sil = out.alpha.numpy() >= 0.5
            hidden = sil & (scene[view].alpha.numpy() >= 0.5) & (out.depth.numpy() > scene[view].depth.numpy() + 0.05)
            pred = sil & ~hidden
            per_object.setdefault(k, []).append(float((pred & target).sum() / (pred | target).sum()))
    means = [float(np.mean(v)) for v in per_object.values()]
    return (float(np.mean(means)) if means else float("nan")), len(means)
