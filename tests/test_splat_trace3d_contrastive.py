"""Contrastive lifting: per-Gaussian features trained against 2D masks, clustered into instances."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.splat_toy import render_ids, toy_cameras, toy_scene
from tracklift.splat.trace3d.contrastive import (
    ContrastiveConfig,
    cluster_features,
    lift_contrastive,
    mask_prototypes,
    prototype_loss,
    train_features,
    view_order,
)
from tracklift.splat.trace3d.objects import render_instance_map

FAST = ContrastiveConfig(iterations=40, seed=0)


@pytest.fixture(scope="module")
def scene():
    return toy_scene(7)


@pytest.fixture(scope="module")
def lifted(scene):
    """Contrastive lifting of the toy scene from per-view scrambled mask ids."""
    g, obj, cams, maps = scene
    return lift_contrastive(g, cams, scrambled(maps, 2), FAST)


def scrambled(maps: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """Per-view random mask ids (as a segmenter gives)."""
    rng = np.random.default_rng(seed)
    return [np.where(m >= 0, rng.permutation(3)[np.maximum(m, 0)], -1) for m in maps]


def one_hot_features(obj: np.ndarray) -> torch.Tensor:
    """[N, 4] features: object k points along axis k (axis 3 is unused)."""
    return torch.eye(4)[torch.as_tensor(obj)]


def test_features_separate_objects_and_instances_are_pure(scene, lifted):
    g, obj, _, _ = scene
    inst, feats = lifted
    assert feats.shape == (g.n, 16) and feats.dtype == torch.float32
    unit = torch.nn.functional.normalize(feats, dim=-1)
    means = torch.stack([unit[torch.as_tensor(obj == k)].mean(0) for k in range(3)])
    means = torch.nn.functional.normalize(means, dim=-1)
    sim = means @ means.T
    assert sim[~torch.eye(3, dtype=torch.bool)].max() < 0.2  # measured -0.36: the objects point apart
    owners = [Counter(inst.instance[obj == k].tolist()).most_common(1)[0][0] for k in range(3)]
    assert len(set(owners)) == 3 and -1 not in owners
    for k in range(3):  # measured: >= 0.97 of each object's Gaussians (interior ones are barely trained)
        assert np.mean(inst.instance[obj == k] == owners[k]) > 0.9
    assert inst.instance.shape == (g.n,) and inst.instance.dtype == np.int32
    assert inst.count == 3 and np.all(inst.views >= 2)
    assert np.all((inst.confidence >= 0) & (inst.confidence <= 1))


def test_instances_render_consistent_masks_in_a_novel_view(scene, lifted):
    g, obj, _, _ = scene
    inst, _ = lifted
    novel = toy_cameras(5)[2]  # not one of the 7 training views
    gt = render_ids(g, obj, novel, 3)
    pred = render_instance_map(g, inst.instance, novel)
    for k in range(3):
        ids = Counter(pred[gt == k].tolist()).most_common(1)[0][0]
        assert ((pred == ids) & (gt == k)).sum() / ((pred == ids) | (gt == k)).sum() > 0.8


def test_deterministic_with_a_seed(scene):
    g, _, cams, maps = scene
    config = ContrastiveConfig(iterations=5, seed=3)
    a, seen_a = train_features(g, cams[:3], maps[:3], config)
    b, seen_b = train_features(g, cams[:3], maps[:3], config)
    assert torch.equal(a, b) and np.array_equal(seen_a, seen_b)
    c, _ = train_features(g, cams[:3], maps[:3], ContrastiveConfig(iterations=5, seed=4))
    assert not torch.equal(a, c)


def test_prototype_loss_exact():
    # Two pixels, two masks, features on the axes, temperature 1: logits are the identity, so each pixel's
    # cross-entropy is -log(e / (e + 1)) = log(1 + 1/e).
    loss = prototype_loss(torch.eye(2), torch.tensor([0, 1]), 1.0)
    assert float(loss) == pytest.approx(math.log1p(math.exp(-1.0)), rel=1e-6)
    # Prototypes are mean directions: scaling a mask's pixels uniformly does not move them.
    shrunk = prototype_loss(torch.tensor([[0.5, 0.0], [0.0, 1.0]]), torch.tensor([0, 1]), 1.0)
    assert float(shrunk) == pytest.approx((math.log1p(math.exp(-0.5)) + math.log1p(math.exp(-1.0))) / 2, rel=1e-6)


def test_prototype_loss_prefers_separated_and_agreeing_features():
    labels = torch.tensor([0, 0, 1, 1])
    good = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]]), dim=-1)
    bad = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.1, 1.0]]), dim=-1)
    assert prototype_loss(good, labels, 0.1) < prototype_loss(bad, labels, 0.1)
    # Shorter pixel features (Gaussians on the pixel disagree) cost more than unit ones.
    assert prototype_loss(good, labels, 0.1) < prototype_loss(0.6 * good, labels, 0.1)
    assert float(prototype_loss(good, torch.zeros(4, dtype=torch.int64), 0.1)) == 0.0


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 9), st.integers(0, 40), st.integers(0, 2**31 - 1))
def test_view_order_visits_every_view_once_per_epoch(n_views, steps, seed):
    order = view_order(n_views, steps, torch.Generator().manual_seed(seed))
    assert len(order) == steps
    for start in range(0, steps, n_views):
        epoch = order[start : start + n_views]
        assert len(set(epoch)) == len(epoch) and all(0 <= v < n_views for v in epoch)


def test_mask_prototypes_of_constant_features(scene):
    g, _, cams, maps = scene
    feats = torch.tensor([[3.0, 4.0]]).expand(g.n, 2)
    protos, counts, view, local = mask_prototypes(g, cams[:2], maps[:2], feats)
    torch.testing.assert_close(protos, torch.tensor([[0.6, 0.8]]).expand_as(protos))
    for v in range(2):
        present = np.unique(maps[v][maps[v] >= 0])
        assert local[view == v].tolist() == present.tolist()
        assert counts[view == v].tolist() == np.bincount(maps[v][maps[v] >= 0])[present].tolist()
    assert protos.shape[0] == counts.shape[0] == view.shape[0] == local.shape[0]


def test_cluster_features_exact_with_hand_made_features(scene):
    g, obj, cams, maps = scene
    # Object 2 is never masked: it is background, and its Gaussians must get -1.
    unmasked = [np.where(m == 2, -1, m) for m in maps]
    inst = cluster_features(g, cams, unmasked, one_hot_features(obj), np.ones(g.n, bool), ContrastiveConfig())
    assert np.all(inst.instance[obj == 2] == -1)
    assert len(set(inst.instance[obj == 0].tolist())) == 1 and len(set(inst.instance[obj == 1].tolist())) == 1
    assert inst.instance[obj == 0][0] != inst.instance[obj == 1][0] and inst.count == 2
    unseen = np.ones(g.n, bool)
    unseen[:5] = False
    inst = cluster_features(g, cams, unmasked, one_hot_features(obj), unseen, ContrastiveConfig())
    assert np.all(inst.instance[:5] == -1)


def test_cluster_features_needs_min_views(scene):
    g, obj, cams, maps = scene
    seen_in = np.array([sum(bool(np.any(m == k)) for m in maps) for k in range(3)])  # views showing object k
    feats, everyone = one_hot_features(obj), np.ones(g.n, bool)
    for min_views in sorted(set(seen_in.tolist()) | {int(seen_in.max()) + 1}):
        # Boundary pixels mix objects, so a centroid leans a little towards its neighbours: a dropped
        # object's Gaussians are only kept out of them by assign_threshold.
        config = ContrastiveConfig(min_views=min_views, assign_threshold=0.5)
        inst = cluster_features(g, cams, maps, feats, everyone, config)
        kept = seen_in >= min_views
        assert inst.count == kept.sum()
        for k in range(3):
            ids = set(inst.instance[obj == k].tolist())
            if kept[k]:
                assert len(ids) == 1 and inst.views[ids.pop()] == seen_in[k]
            else:
                assert ids == {-1}


def test_bad_input_raises(scene):
    g, _, cams, maps = scene
    with pytest.raises(ValueError, match="one label map per camera"):
        lift_contrastive(g, cams, maps[:2], FAST)
    with pytest.raises(ValueError, match="must be integer"):
        train_features(g, cams[:1], [maps[0].astype(np.float32)], FAST)
    with pytest.raises(ValueError, match="feats must be"):
        cluster_features(g, cams, maps, torch.zeros(g.n - 1, 4), np.ones(g.n, bool))
    with pytest.raises(ValueError, match="seen must be"):
        cluster_features(g, cams, maps, torch.zeros(g.n, 4), np.ones(3, bool))
