"""Lifting 2D masks to 3D instances in closed form, and what instances are used for (contrastive lifting:
test_splat_trace3d_contrastive.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.splat_toy import render_ids, toy_cameras, toy_scene
from tracklift.core.masks import FrameMasks
from tracklift.splat.io.instances import Instances, read_instances, write_instances
from tracklift.splat.trace3d.closed_form import (
    GaussianLiftConfig,
    agglomerate,
    agglomerate_reference,
    lift_closed_form,
    vote,
    with_background,
)
from tracklift.splat.trace3d.hierarchy import granularity_maps, hierarchical_lift, hierarchy
from tracklift.splat.trace3d.objects import colorize, extract, recolor, remove, render_instance_map, render_silhouette
from tracklift.splat.trace3d.tracing import InstanceTrace
from tracklift.trace.table import TraceTable


@pytest.fixture(scope="module")
def scene():
    return toy_scene(7)


def scrambled(maps: list[np.ndarray], seed: int, merge_view: int | None = None) -> list[np.ndarray]:
    """Per-view random mask ids (as a segmenter gives), optionally fusing objects 0 and 1 in one view."""
    rng = np.random.default_rng(seed)
    out = []
    for v, m in enumerate(maps):
        perm = rng.permutation(3)
        ids = np.where(m >= 0, perm[np.maximum(m, 0)], -1)
        if v == merge_view:
            ids = np.where(m == 1, perm[0], ids)
        out.append(ids)
    return out


def purity(instance: np.ndarray, obj: np.ndarray, seen: np.ndarray) -> list[float]:
    """Per object: the share of its Gaussians' visible weight in its main instance; the main instances
    of the three objects must differ."""
    shares, owners = [], []
    for k in range(3):
        mass = np.bincount(instance[obj == k] + 1, weights=seen[obj == k])
        owners.append(int(mass.argmax()) - 1)
        shares.append(mass.max() / mass.sum())
    assert len(set(owners)) == 3 and -1 not in owners
    return shares


@pytest.fixture(scope="module")
def visible(scene):
    """[N] float64, each Gaussian's traced weight summed over the views."""
    from tracklift.splat.trace3d.tracing import trace_instances

    g, _, cams, maps = scene
    return trace_instances(g, cams, [np.zeros_like(m) for m in maps]).matrix().toarray().sum(axis=1)


def test_closed_form_recovers_objects_despite_ids_a_merged_and_an_empty_view(scene, visible):
    g, obj, cams, maps = scene
    label_maps = scrambled(maps, 0, merge_view=0)
    label_maps[3] = np.full_like(label_maps[3], -1)  # the segmenter found nothing in this view
    inst = lift_closed_form(g, cams, label_maps)
    assert inst.count == 3
    assert min(purity(inst.instance, obj, visible)) > 0.95
    assert inst.instance.shape == (g.n,) and inst.instance.dtype == np.int32
    assert np.all(inst.views >= 2)


def test_with_background_exact():
    maps, counts = with_background([np.array([[-1, 0], [1, -1]]), np.full((2, 2), -1)])
    assert maps[0].tolist() == [[2, 0], [1, 2]] and counts == [3, 0]
    assert maps[1].tolist() == [[-1, -1], [-1, -1]]
    maps, counts = with_background([np.full((2, 2), -1)], label_empty_views=True)
    assert maps[0].tolist() == [[0, 0], [0, 0]] and counts == [1]


def test_closed_form_renders_consistent_masks_in_a_novel_view(scene):
    g, obj, cams, maps = scene
    inst = lift_closed_form(g, cams, scrambled(maps, 1))
    novel = toy_cameras(5)[2]  # not one of the 7 training views
    gt = render_ids(g, obj, novel, 3)
    pred = render_instance_map(g, inst.instance, novel)
    for k in range(3):
        ids = Counter(pred[gt == k].tolist()).most_common(1)[0][0]
        iou = ((pred == ids) & (gt == k)).sum() / ((pred == ids) | (gt == k)).sum()
        assert iou > 0.8


def test_labels_follow_segment_names(scene):
    g, obj, cams, maps = scene
    names = [["box", "crate", "cup"] for _ in maps]  # label k = object k in every view
    inst = lift_closed_form(g, cams, maps, labels=names)
    assert sorted(inst.labels) == ["box", "crate", "cup"]
    biggest = Counter(inst.instance[obj == 0].tolist()).most_common(1)[0][0]
    assert inst.labels[biggest] == "box"


def test_background_bias_shrinks_instances(scene):
    g, _, cams, maps = scene
    sizes = [
        (lift_closed_form(g, cams, maps, GaussianLiftConfig(background_bias=b)).instance >= 0).sum() for b in (0.0, 1e9)
    ]
    assert sizes[0] > sizes[1]


def test_vote_exact():
    table = TraceTable()
    table.append(0, [0, 0, 1, 2], [0, 1, 1, 2], [3.0, 1.0, 2.0, 5.0])
    table.append(1, [0, 1], [3, 4], [1.0, 4.0])
    trace = InstanceTrace(table, np.array([0, 3, 5]), 4, "alpha")
    label_instance = np.array([0, 1, -1, 0, -1])
    background = np.array([False, False, True, False, True])
    inst, conf = vote(trace, label_instance, background, 2, background_bias=1.0)
    # G0: inst0 = 3 + 1, inst1 = 1 -> 0 (0.8); G1: inst1 = 2, bg = 4 -> -1; G2: bg only -> -1; G3: nothing.
    assert inst.tolist() == [0, -1, -1, -1]
    np.testing.assert_allclose(conf, [0.8, 4 / 6, 1.0, 0.0], rtol=1e-6)
    inst, _ = vote(trace, label_instance, background, 2, background_bias=0.25)
    assert inst.tolist() == [0, 1, -1, -1]


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(3, 12), st.floats(0.2, 0.8), st.booleans())
def test_agglomerate_matches_reference(seed, n, threshold, weighted):
    rng = np.random.default_rng(seed)
    a = rng.random((n, n))
    a = (a + a.T) / 2
    a[rng.random((n, n)) < 0.3] = np.nan
    a = np.where(np.isnan(a) | np.isnan(a.T), np.nan, a)
    view = rng.integers(0, 4, n)
    w = rng.integers(1, 50, n).astype(float) if weighted else None
    np.testing.assert_array_equal(agglomerate(a, view, threshold, w), agglomerate_reference(a, view, threshold, w))


def test_weighted_linkage_ignores_a_sliver():
    # Regions 0 and 1 (100 px each) agree 0.9; region 2 (a 2 px sliver) agrees 0.9 with 0 and 1 and 0.3 with 3
    # (100 px), which disagrees with 0 and 1 (0.4). Unweighted, {0, 1, 2} vs 3 averages (0.4 + 0.4 + 0.9) / 3
    # >= 0.5 and all four join; weighted by size, (0.4·1e4 + 0.4·1e4 + 0.9·200) / (2e4 + 200) < 0.5.
    a = np.full((4, 4), np.nan)
    for i, j, v in ((0, 1, 0.9), (0, 2, 0.9), (1, 2, 0.9), (0, 3, 0.4), (1, 3, 0.4), (2, 3, 0.9)):
        a[i, j] = a[j, i] = v
    view = np.arange(4)
    assert agglomerate(a, view, 0.5).tolist() == [0, 0, 0, 0]
    assert agglomerate(a, view, 0.5, np.array([100.0, 100.0, 2.0, 100.0])).tolist() == [0, 0, 0, 1]


def test_agglomerate_never_joins_one_views_labels():
    a = np.ones((4, 4))
    cluster = agglomerate(a, np.array([0, 0, 1, 1]), 0.5)
    assert cluster[0] != cluster[1] and cluster[2] != cluster[3]
    assert len(set(cluster.tolist())) == 2


def test_instances_round_trip(tmp_path):
    inst = Instances(np.array([0, 1, -1, 1], np.int32), ["chair", None], np.array([3, 5]))
    write_instances(tmp_path, inst, "segmented.ply", method="closed")
    back, info = read_instances(tmp_path)
    assert back.instance.tolist() == [0, 1, -1, 1] and back.labels == ["chair", None]
    assert back.views.tolist() == [3, 5]
    assert info["gaussians"] == "segmented.ply" and info["method"] == "closed"
    assert info["instances"]["1"] == {"label": None, "size": 2, "views": 5}


def test_instances_bad_input(tmp_path):
    with pytest.raises(ValueError, match=">= -1"):
        Instances(np.array([0, -2]))
    with pytest.raises(FileNotFoundError, match="splat lift"):
        read_instances(tmp_path)


def test_extract_remove_recolor(scene):
    g, obj, cams, _ = scene
    inst = Instances(obj.astype(np.int32))
    box = extract(g, inst, [1])
    assert box.n == int((obj == 1).sum())
    rest, rest_inst = remove(g, inst, [1])
    assert rest.n == g.n - box.n and not np.any(rest_inst.instance == 1)
    red = recolor(g, inst, [2], (1.0, 0.0, 0.0))
    color = torch.clamp(0.28209479177387814 * red.sh[torch.as_tensor(obj == 2), 0] + 0.5, 0, 1)
    torch.testing.assert_close(color, torch.tensor([[1.0, 0.0, 0.0]]).expand_as(color))
    assert torch.equal(red.sh[torch.as_tensor(obj != 2)], g.sh[torch.as_tensor(obj != 2)])
    # The extracted object's silhouette covers its own pixels in the label map, no one else's bulk.
    sil = render_silhouette(box, cams[0])
    gt = render_ids(g, obj, cams[0], 3)
    assert (sil & (gt == 1)).sum() > 0.9 * (gt == 1).sum()
    with pytest.raises(ValueError, match="unknown instance"):
        extract(g, inst, [7])
    with pytest.raises(ValueError, match="three values"):
        recolor(g, inst, [0], (2.0, 0.0, 0.0))


def test_granularity_maps_and_hierarchy():
    big = np.zeros((2, 4), bool)
    big[:, :3] = True
    small = np.zeros((2, 4), bool)
    small[:, :1] = True
    fine, coarse = granularity_maps(FrameMasks(np.stack([big, small])))
    assert fine.tolist() == [[1, 0, 0, -1]] * 2
    assert coarse.tolist() == [[0, 0, 0, -1]] * 2
    f = Instances(np.array([0, 0, 1, 2, 2, -1]))
    c = Instances(np.array([0, 0, 0, 1, 0, 1]))
    assert hierarchy(f, c).tolist() == [0, 0, 0]  # instance 2 ties 1:1 -> lowest id
    assert hierarchy(Instances(np.array([0, -1])), Instances(np.array([-1, 0]))).tolist() == [-1]


def test_hierarchical_lift(scene):
    g, obj, cams, maps = scene
    # Coarse: objects 0 and 1 as one group; fine: each object.
    masks = [FrameMasks(np.stack([m == 0, m == 1, (m == 0) | (m == 1), m == 2])) for m in maps[:4]]
    fine, coarse, parent = hierarchical_lift(g, cams[:4], masks)
    main_fine = [Counter(fine.instance[obj == k].tolist()).most_common(1)[0][0] for k in range(3)]
    main_coarse = [Counter(coarse.instance[obj == k].tolist()).most_common(1)[0][0] for k in range(3)]
    assert len(set(main_fine)) == 3
    assert main_coarse[0] == main_coarse[1] != main_coarse[2]
    assert [parent[i] for i in main_fine] == main_coarse


def test_colorize():
    img = colorize(np.array([[0, 1], [-1, 0]]))
    assert img.shape == (2, 2, 3) and img.dtype == np.uint8
    assert np.all(img[1, 0] == 0) and np.array_equal(img[0, 0], img[1, 1]) and not np.array_equal(img[0, 0], img[0, 1])
