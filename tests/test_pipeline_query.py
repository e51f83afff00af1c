"""Queries: parsing, spatial relations, ranking, the `query` CLI on written predictions, the benchmark helper."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.classify.affordances import AFFORDANCES, match_affordances
from tracklift.classify.benchmark import generate_queries, query_benchmark
from tracklift.classify.query import RELATION_FLOOR, ParsedQuery, parse_query, rank_instances, relevance
from tracklift.classify.spatial import Viewpoint, box_gap, footprint_overlap, relation_score
from tracklift.classify.vote import VoteClassifier
from tracklift.cli import main
from tracklift.core.instance import Instance3D
from tracklift.outputs.scene_files import load_instances
from tracklift.vocab import load_vocabulary

pytest.importorskip("sentence_transformers")  # queries match text with the bundled MiniLM


def obj(id: int, label: str, centre, size, score: float = 0.9) -> Instance3D:
    c, s = np.asarray(centre, np.float32), np.asarray(size, np.float32)
    return Instance3D(id=id, points=np.stack([c - s / 2, c + s / 2]), label=label, label_score=0.9, score=score)


@pytest.fixture(scope="module")
def bedroom() -> list[Instance3D]:
    return [
        obj(0, "bed", [0, 0, 0.25], [2, 1.6, 0.5]),
        obj(1, "nightstand", [1.3, 0, 0.3], [0.4, 0.4, 0.6]),
        obj(2, "lamp", [1.3, 0, 0.8], [0.2, 0.2, 0.4]),
        obj(3, "lamp", [4, 3, 1.5], [0.3, 0.3, 0.3]),
        obj(4, "chair", [3, 0, 0.45], [0.5, 0.5, 0.9]),
        obj(5, "couch", [5, 1, 0.4], [2, 0.9, 0.8]),
        obj(6, "table", [3, 1.2, 0.4], [1.2, 0.8, 0.75]),
        obj(7, "cup", [3, 1.2, 0.85], [0.1, 0.1, 0.2]),
        obj(8, "tv", [0, 3, 1.2], [1, 0.1, 0.6]),
        obj(9, "trash can", [4, -1, 0.4], [0.5, 0.5, 0.8]),
        obj(10, "chair", [-1.5, 1.5, 0.5], [0.7, 0.7, 1.0]),
    ]


# --- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, parsed",
    [
        ("something to sit on", ParsedQuery("something to sit on")),
        ("the lamp next to the bed", ParsedQuery("the lamp", "near", "the bed")),
        ("Cup on top of the table", ParsedQuery("cup", "on", "the table")),
        ("the chair to the left of the bed", ParsedQuery("the chair", "left", "the bed")),
        ("a box under the desk", ParsedQuery("a box", "under", "the desk")),
        ("something to sit on near the table", ParsedQuery("something to sit on", "near", "the table")),
        ("the lamp on the table near the bed", ParsedQuery("the lamp on the table", "near", "the bed")),
        ("the largest table", ParsedQuery("table", superlative="largest")),
        ("tallest lamp", ParsedQuery("lamp", superlative="highest")),
        ("the pillow in the bed", ParsedQuery("the pillow", "in", "the bed")),
        ("something to wash my hands in", ParsedQuery("something to wash my hands in")),
    ],
)
def test_parse_query(query, parsed):
    assert parse_query(query) == parsed


def test_parse_empty_query_raises():
    with pytest.raises(ValueError, match="empty"):
        parse_query("  ? ")


# --- spatial ---------------------------------------------------------------------------------------


def test_spatial_hand_computed():
    table = np.array([0, 0, 0.4, 1, 1, 0.8])
    cup = np.array([0.2, 0, 0.85, 0.1, 0.1, 0.1])  # bottom at 0.8 = table top
    box_under = np.array([0, 0, 0.1, 0.2, 0.2, 0.2])
    far = np.array([3, 0, 0.4, 1, 1, 0.8])
    assert box_gap(table, far) == pytest.approx(2.0)
    assert box_gap(cup, table) == 0.0
    assert relation_score("near", far, table) == pytest.approx(np.exp(-2.0 / 0.5))
    assert footprint_overlap(cup, table) == pytest.approx(1.0)
    assert footprint_overlap(table, cup) == pytest.approx(0.01)
    assert relation_score("on", cup, table) == pytest.approx(1.0)
    assert relation_score("above", cup, table) == pytest.approx(1.0) and relation_score("above", table, cup) == 0.0
    assert relation_score("under", box_under, np.array([0, 0, 0.8, 1, 1, 0.1])) == pytest.approx(1.0)
    assert relation_score("in", cup, table) == pytest.approx(0.0)  # resting on top, not inside
    sunk = np.array([0.2, 0, 0.8, 0.1, 0.1, 0.2])  # straddles the table top
    assert relation_score("in", sunk, table) == pytest.approx(0.5)
    assert relation_score("in", box_under, table) == pytest.approx(1.0)
    right = relation_score("right", far, table)
    assert right > 0.99 * np.exp(-2.0 / 2.0) and relation_score("left", far, table) < 1e-6
    with pytest.raises(ValueError, match="unknown relation"):
        relation_score("inside", cup, table)
    with pytest.raises(ValueError, match=r"box a must be \[6\]"):
        relation_score("near", np.zeros(5), table)


boxes = st.lists(st.floats(-3, 3), min_size=3, max_size=3).flatmap(
    lambda c: st.lists(st.floats(0.05, 2), min_size=3, max_size=3).map(lambda s: np.array(c + s))
)


@settings(max_examples=40, deadline=None)
@given(boxes, boxes)
def test_spatial_invariants(a, b):
    for rel in ("near", "on", "above", "under", "left", "right", "in"):
        assert 0.0 <= relation_score(rel, a, b) <= 1.0
    assert relation_score("near", a, b) == pytest.approx(relation_score("near", b, a))
    # left and right split the side-by-side weight between them
    assert relation_score("left", a, b) + relation_score("right", a, b) == pytest.approx(np.exp(-box_gap(a, b) / 2.0))
    assert not (relation_score("above", a, b) > 0 and relation_score("above", b, a) > 0 and abs(a[2] - b[2]) > 0.2)


def test_viewpoint_from_poses_flips_left_and_right():
    pose = np.eye(4)
    pose[:3, :3] = np.diag([-1.0, -1.0, 1.0])  # camera turned around: its right is world -x
    vp = Viewpoint.from_poses(np.stack([pose, pose]))
    np.testing.assert_allclose(vp.right, [-1, 0, 0])
    a, b = np.array([1.0, 0, 0, 0.2, 0.2, 0.2]), np.array([0.0, 0, 0, 0.2, 0.2, 0.2])
    assert relation_score("left", a, b, vp) > 0.5 > relation_score("right", a, b, vp)
    with pytest.raises(ValueError, match="no poses"):
        Viewpoint.from_poses(np.zeros((0, 4, 4)))


# --- ranking ---------------------------------------------------------------------------------------


def top_labels(ranked, n):
    return [inst.label for inst, _ in ranked[:n]]


@pytest.mark.parametrize(
    "query, expected_top",
    [
        ("something to sit on", {"chair", "couch"}),
        ("a place to sleep", {"bed", "couch"}),
        ("television", {"tv"}),
        ("sofa", {"couch"}),
        ("where can I throw away garbage", {"trash can"}),
        ("lamp", {"lamp"}),
    ],
)
def test_rank_class_synonym_and_functional(bedroom, query, expected_top):
    ranked = rank_instances(bedroom, query, top=len(expected_top) + 1)
    assert set(top_labels(ranked, 1)) <= expected_top
    assert ranked[0][1] > 0.7


def test_functional_sit_finds_all_seats_first(bedroom):
    ranked = rank_instances(bedroom, "something to sit on", top=11)
    assert {i.id for i, _ in ranked[:3]} == {4, 5, 10}


def test_compositional_queries(bedroom):
    assert rank_instances(bedroom, "the lamp next to the bed", top=1)[0][0].id == 2
    assert rank_instances(bedroom, "the cup on the table", top=1)[0][0].id == 7
    assert rank_instances(bedroom, "the chair near the table", top=1)[0][0].id == 4
    assert rank_instances(bedroom, "the largest chair", top=1)[0][0].id == 10
    assert rank_instances(bedroom, "the smallest chair", top=1)[0][0].id == 4
    assert rank_instances(bedroom, "the highest lamp", top=1)[0][0].id == 3
    assert rank_instances(bedroom, "something on the table", top=1)[0][0].id == 7
    # An anchor the scene lacks cannot constrain: the target alone decides, at half weight.
    ((best, score),) = rank_instances(bedroom, "a place to sleep in the garage", top=1)
    assert best.label in ("bed", "couch") and 0.3 < score < 0.55
    # No anchor stands in the relation (the only cup is on the table, not on the bed): the cups still come
    # first, at the floor's share of their target score, never an unrelated object at 0.
    ((best, score),) = rank_instances(bedroom, "the cup on the bed", top=1)
    assert best.label == "cup" and 0.0 < score <= RELATION_FLOOR
    # World x is "right" by default: the chair at x=-1.5 is left of the bed, the one at x=3 right of it.
    assert rank_instances(bedroom, "the chair left of the bed", top=1)[0][0].id == 10
    assert rank_instances(bedroom, "the chair right of the bed", top=1)[0][0].id == 4


def test_rank_scores_bounded_sorted_and_weighted_by_confidence(bedroom):
    ranked = rank_instances(bedroom, "chair", top=20)
    scores = [s for _, s in ranked]
    assert len(ranked) == len(bedroom) and scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    weak = [obj(0, "chair", [0, 0, 0], [1, 1, 1], score=0.1), obj(1, "chair", [5, 0, 0], [1, 1, 1], score=0.9)]
    assert rank_instances(weak, "chair", top=1)[0][0].id == 1


def test_rank_uses_votes_when_unlabelled_and_handles_edge_cases():
    inst = Instance3D(id=3, points=np.zeros((2, 3)), label_votes={"sofa": 2.0, "chair": 1.0})
    bare = Instance3D(id=4, points=np.ones((2, 3)))
    assert rank_instances([bare, inst], "couch", top=1)[0][0].id == 3
    assert relevance([bare], "couch").tolist() == [0.0]
    assert rank_instances([], "chair") == []
    with pytest.raises(ValueError, match="top"):
        rank_instances([inst], "chair", top=0)


class FixedScorer(VoteClassifier):
    """A query scorer that trusts one instance id (stands in for an LLM's verdicts)."""

    def __init__(self, good_id):
        super().__init__(needs_views=False, name="fixed")
        self.good_id = good_id
        self.asked = []

    def score_query(self, instance, views, query):
        self.asked.append(instance.id)
        return 1.0 if instance.id == self.good_id else 0.0


def test_rank_with_classifier_reorders_candidates(bedroom):
    scorer = FixedScorer(good_id=10)
    ranked = rank_instances(bedroom, "something to sit on", scorer, top=3, candidates=4)
    assert ranked[0][0].id == 10 and len(scorer.asked) == 4
    needs = VoteClassifier(needs_views=True)
    with pytest.raises(ValueError, match="needs views"):
        rank_instances(bedroom, "chair", needs)
    assert rank_instances(bedroom, "chair", needs, views={}, top=1)[0][0].label == "chair"


def test_affordances_table_uses_vocabulary_classes():
    names = set(load_vocabulary("scannet200").names)
    for a in AFFORDANCES:
        assert set(a.classes) <= names, a.name
    assert match_affordances("where can I sit down")[0][0].name == "sit"
    assert match_affordances("somewhere to take a nap")[0][0].name == "sleep"
    assert match_affordances("quantum chromodynamics") == []


# --- predictions on disk + CLI -----------------------------------------------------------------


def write_predictions(out, scene, instances, extra_points=0):
    points, owner, entries = [], [], []
    for k, inst in enumerate(instances):
        lo, hi = inst.points.min(0), inst.points.max(0)
        grid = np.random.default_rng(k).uniform(lo, hi, (20, 3)).astype(np.float32)
        points.append(grid)
        owner.append(np.full(20, k, np.int32))
        entries.append(
            {
                "mask_file": f"pred_mask/{scene}_{k}.txt",
                "label": inst.label,
                "label_id": None,
                "score": inst.score,
                "views": 3,
                "box": inst.box.tolist(),
                "track_id": inst.id,
                "label_votes": {inst.label: 1.0},
            }
        )
    points.append(np.zeros((extra_points, 3), np.float32))
    owner.append(np.full(extra_points, -1, np.int32))
    (out / f"{scene}.json").write_text(json.dumps({"scene": scene, "instances": entries, "scene_dir": None}))
    buf = io.BytesIO()
    np.savez(buf, points=np.concatenate(points), instance_of_point=np.concatenate(owner))
    (out / f"{scene}_instances.npz").write_bytes(buf.getvalue())


def test_load_instances_round_trip(tmp_path, bedroom):
    write_predictions(tmp_path, "s1", bedroom, extra_points=5)
    loaded = load_instances(tmp_path)
    assert loaded.name == "s1" and len(loaded.instances) == len(bedroom) and loaded.scene_dir is None
    for a, b in zip(loaded.instances, bedroom):
        assert (a.id, a.label, a.label_votes) == (b.id, b.label, {b.label: 1.0})
        assert len(a.points) == 20
        assert np.all(a.box[3:] <= b.box[3:] + 1e-6)


def test_load_instances_errors(tmp_path, bedroom):
    with pytest.raises(FileNotFoundError, match="no such output folder"):
        load_instances(tmp_path / "missing")
    with pytest.raises(ValueError, match="found none"):
        load_instances(tmp_path)
    write_predictions(tmp_path, "a", bedroom[:2])
    write_predictions(tmp_path, "b", bedroom[:2])
    with pytest.raises(ValueError, match="found a, b"):
        load_instances(tmp_path)
    with pytest.raises(FileNotFoundError, match="no c.json"):
        load_instances(tmp_path, "c")
    (tmp_path / "a.json").write_text("{")
    with pytest.raises(ValueError, match="a.json: not a predictions JSON"):
        load_instances(tmp_path, "a")


def test_query_cli(tmp_path, bedroom, capsys):
    write_predictions(tmp_path, "scene0000_00", bedroom)
    assert main(["query", str(tmp_path), "something to sit on", "--top", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert "scene0000_00: 11 instances" in lines[0]
    assert len(lines) == 2 + 3
    assert {ln.split()[2] for ln in lines[2:]} == {"chair", "couch"}
    assert main(["query", str(tmp_path), "chair", "--top", "0"]) == 2
    assert main(["query", str(tmp_path / "nope"), "chair"]) == 2
    assert main(["query", str(tmp_path), "chair", "--classifier", "bogus"]) == 2


# --- benchmark -------------------------------------------------------------------------------------


def test_generate_queries_covers_kinds():
    queries = generate_queries(["chair", "couch", "bed", "Chair"])
    kinds = {k for k, _, _ in queries}
    assert kinds == {"class", "synonym", "functional"}
    sit = next(r for k, q, r in queries if q == "something to sit on")
    assert sit == {"chair", "couch"}
    assert sum(q == "chair" for _, q, _ in queries) == 1


def test_query_benchmark_perfect_and_broken_predictions(bedroom):
    gt = [{"instance": i.id, "label": i.label, "box": i.box.tolist()} for i in bedroom]
    perfect = query_benchmark(bedroom, gt)
    assert perfect["queries"] > 10
    assert perfect["top1"] == 1.0 and perfect["recall_at_r"] == 1.0 and perfect["ap"] == 1.0
    assert perfect["by_kind"]["functional"]["queries"] >= 3
    # Labels shuffled: retrieval must get worse.
    shuffled = [obj(i.id, lab, i.box[:3], i.box[3:]) for i, lab in zip(bedroom, [b.label for b in bedroom][::-1])]
    broken = query_benchmark(shuffled, gt)
    assert broken["ap"] < 0.6
    minmax = [
        {
            "label": g["label"],
            "box": {
                "min": (np.array(g["box"][:3]) - np.array(g["box"][3:]) / 2).tolist(),
                "max": (np.array(g["box"][:3]) + np.array(g["box"][3:]) / 2).tolist(),
            },
        }
        for g in gt
    ]
    assert query_benchmark(bedroom, minmax)["ap"] == 1.0
    with pytest.raises(ValueError, match="gt object 0"):
        query_benchmark(bedroom, [{"label": "bed", "box": [1, 2]}])
