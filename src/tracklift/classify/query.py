"""Rank a scene's instances for a free-text query.

A query is parsed into (target, relation, anchor) or (superlative, target), recursively, so
"something to sit on near the bed" is target "something to sit on", relation "near", anchor "the bed".
A target phrase is scored per instance as the best of
  * class match: exact/alias match of the instance's label (1), else a ramp on MiniLM cosine similarity
    between the phrase and the label: clip((sim - 0.45) / 0.4, 0, 1);
  * functional match: for each affordance the query asks for (see `affordances`), its strength times the
    instance label's membership in the affordance's classes (scored like a class match);
    (skipped when the phrase is itself a ScanNet200 class name: "chair" asks for chairs, not seats);
  * generic targets ("something", "object") match everything.
A relation scores target(i) * max over anchors j != i of anchor(j) * relation(box i, box j) (see `spatial`);
when no instance scores at least 0.2 as the anchor, the relation cannot be judged and the score is 0.5 * target.
A superlative keeps the target score of the best candidate and halves it for the worst, linearly in the key
(volume for largest/smallest, box top for highest, box bottom for lowest).
The rule score is finally weighted by instance confidence: score * (0.8 + 0.2 * confidence), with
confidence = `scores.instance_confidence(score, label_score)` (label_score taken as 1 for an unlabelled
instance, whose match already rests on its votes).
With a classifier, the top `candidates` by rule score are also asked (score_query on their views) and get
0.6 * classifier + 0.4 * rule; the others keep 0.4 * rule, so answered candidates rank first.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from tracklift.classify.affordances import match_affordances
from tracklift.classify.protocol import Classifier
from tracklift.classify.scores import instance_confidence
from tracklift.classify.spatial import DEFAULT_VIEWPOINT, Viewpoint, relation_score
from tracklift.classify.text import TextEmbedder, default_text_embedder, exact_match, name_index, normalise_label
from tracklift.classify.views import View, ViewConfig, select_views
from tracklift.core.instance import Instance3D
from tracklift.data.frame import Frame
from tracklift.vocab import load_vocabulary

_RELATIONS = (
    (r"\b(?:next to|near(?:by)?|close to|beside|nearest to|closest to)\b", "near"),
    (r"\b(?:to the |on the )?left (?:of|side of)\b", "left"),
    (r"\b(?:to the |on the )?right (?:of|side of)\b", "right"),
    (r"\b(?:on top of|on|upon)\b", "on"),
    (r"\b(?:above|over)\b", "above"),
    (r"\b(?:under(?:neath)?|below|beneath)\b", "under"),
    (r"\b(?:in|inside|within)\b", "in"),
)
_SUPERLATIVES = {
    "largest": "largest",
    "biggest": "largest",
    "smallest": "smallest",
    "tiniest": "smallest",
    "highest": "highest",
    "tallest": "highest",
    "topmost": "highest",
    "lowest": "lowest",
}
_DETERMINERS = r"^(?:the|a|an|some|any|this|that|my|one)\s+"
GENERIC = {"something", "anything", "object", "objects", "thing", "things", "item", "one", "stuff", ""}
RAMP_LOW, RAMP_HIGH = 0.45, 0.85
ANCHOR_MIN = 0.2  # best anchor score below which the relation is dropped
# share of a target's score it keeps when no anchor stands in the relation to it: the monitor asked for "on the
# desk" still ranks above every non-monitor when the desk was missed or split, with a score that says so
RELATION_FLOOR = 0.1


@dataclass(frozen=True)
class ParsedQuery:
    target: str
    relation: str | None = None  # near, on, above, under, left, right, in
    anchor: str | None = None
    superlative: str | None = None  # largest, smallest, highest, lowest


def parse_query(query: str) -> ParsedQuery:
    """Split a query at its relation word (the first one whose anchor holds no further relation)."""
    text = normalise_label(query)
    if not text:
        raise ValueError("query is empty")
    sup = re.match(r"^(?:the\s+)?(" + "|".join(_SUPERLATIVES) + r")\s+(.+)$", text)
    if sup:
        return ParsedQuery(target=sup.group(2), superlative=_SUPERLATIVES[sup.group(1)])
    matches = [(m, rel) for pattern, rel in _RELATIONS for m in re.finditer(pattern, text)]
    matches.sort(key=lambda t: t[0].start())
    for m, rel in matches:
        target, anchor = text[: m.start()].strip(), text[m.end() :].strip()
        if not target or not anchor or any(re.search(p, anchor) for p, _ in _RELATIONS):
            continue
        return ParsedQuery(target=target, relation=rel, anchor=anchor)
    return ParsedQuery(target=text)


def instance_text(instance: Instance3D) -> str:
    """What an instance is called: its label, else its strongest 2D label vote, else ''."""
    if instance.label:
        return instance.label
    if instance.label_votes:
        return max(instance.label_votes.items(), key=lambda kv: kv[1])[0]
    return ""


def relevance(
    instances: Sequence[Instance3D],
    query: str,
    embedder: TextEmbedder | None = None,
    viewpoint: Viewpoint = DEFAULT_VIEWPOINT,
) -> np.ndarray:
    """[N] float64 rule-based scores in [0, 1] of the instances for a query (no confidence weighting)."""
    embedder = embedder or default_text_embedder()
    parsed = parse_query(query)
    target = _phrase_score(instances, parsed.target, embedder)
    if parsed.superlative:
        return _superlative(instances, target, parsed.superlative)
    if parsed.relation is None:
        return target
    anchor = relevance(instances, parsed.anchor, embedder, viewpoint)
    if anchor.max(initial=0.0) < ANCHOR_MIN:
        # Nothing in the scene is the anchor ("... in the kitchen"): it cannot constrain, keep the target.
        return 0.5 * target
    boxes = [inst.box for inst in instances]
    out = np.zeros(len(instances))
    for i in np.flatnonzero(target > 0):
        rel = [
            anchor[j] * relation_score(parsed.relation, boxes[i], boxes[j], viewpoint)
            for j in np.flatnonzero(anchor > 0)
            if j != i
        ]
        out[i] = target[i] * (RELATION_FLOOR + (1 - RELATION_FLOOR) * max(rel, default=0.0))
    return out


def rank_instances(
    instances: Sequence[Instance3D],
    query: str,
    classifier: Classifier | None = None,
    top: int = 10,
    *,
    views: dict[int, list[View]] | None = None,
    frames: Iterable[Frame] | None = None,
    viewpoint: Viewpoint = DEFAULT_VIEWPOINT,
    embedder: TextEmbedder | None = None,
    candidates: int = 20,
    view_config: ViewConfig = ViewConfig(),
) -> list[tuple[Instance3D, float]]:
    """The `top` instances best matching `query`, best first, with scores in [0, 1].

    Works on any list of `Instance3D` (a finished scene or the mapper's current instances). A classifier
    that needs views gets them from `views` or from one pass over `frames` (candidates only).
    """
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    if not instances:
        return []
    rule = relevance(instances, query, embedder, viewpoint)
    conf = np.array([instance_confidence(i.score, i.label_score if i.label else 1.0) for i in instances])
    score = rule * (0.8 + 0.2 * conf)
    if classifier is not None:
        asked = np.argsort(-score, kind="stable")[:candidates]
        if classifier.needs_views and views is None:
            if frames is None:
                raise ValueError(f"classifier {classifier.name!r} needs views: pass `views` or `frames`")
            views = select_views([instances[i] for i in asked], frames, view_config)
        views = views or {}
        answers = np.zeros(len(instances))
        for i in asked:
            answers[i] = classifier.score_query(instances[i], views.get(instances[i].id, []), query)
        score = 0.4 * score
        score[asked] += 0.6 * answers[asked]
    order = np.argsort(-score, kind="stable")[:top]
    return [(instances[i], float(score[i])) for i in order]


def _phrase_score(instances: Sequence[Instance3D], phrase: str, embedder: TextEmbedder) -> np.ndarray:
    phrase = re.sub(_DETERMINERS, "", normalise_label(phrase))
    if phrase in GENERIC:
        return np.ones(len(instances))
    labels = [instance_text(inst) for inst in instances]
    scores = _label_match(labels, phrase, embedder)
    if exact_match(phrase, _class_names()) >= 0:
        return scores  # a class name ("chair") asks for that class, not for its function
    for affordance, strength in match_affordances(phrase, embedder):
        member = np.max([_label_match(labels, c, embedder) for c in affordance.classes], axis=0)
        scores = np.maximum(scores, strength * member)
    return scores


@functools.lru_cache(maxsize=1)
def _class_names() -> dict[str, int]:
    return name_index(load_vocabulary("scannet200").names)


def _label_match(labels: list[str], phrase: str, embedder: TextEmbedder) -> np.ndarray:
    """[N] in [0, 1]: 1 for an exact/alias match of label and phrase, else the similarity ramp."""
    out = np.zeros(len(labels))
    named = [i for i, lab in enumerate(labels) if lab]
    if not named:
        return out
    sims = embedder.embed([labels[i] for i in named]) @ embedder.embed([phrase])[0]
    out[named] = np.clip((sims - RAMP_LOW) / (RAMP_HIGH - RAMP_LOW), 0.0, 1.0)
    for i in named:
        if exact_match(labels[i], [phrase]) >= 0 or exact_match(phrase, [labels[i]]) >= 0:
            out[i] = 1.0
    return out


def _superlative(instances: Sequence[Instance3D], target: np.ndarray, kind: str) -> np.ndarray:
    boxes = np.array([inst.box for inst in instances], np.float64).reshape(-1, 6)
    key = {
        "largest": np.prod(boxes[:, 3:], axis=1),
        "smallest": -np.prod(boxes[:, 3:], axis=1),
        "highest": boxes[:, 2] + boxes[:, 5] / 2,
        "lowest": -(boxes[:, 2] - boxes[:, 5] / 2),
    }[kind]
    if target.max() <= 0:
        return target
    cand = target >= 0.5 * target.max()
    lo, hi = key[cand].min(), key[cand].max()
    rank = (key - lo) / (hi - lo) if hi > lo else np.ones_like(key)
    return np.where(cand, target * (0.5 + 0.5 * np.clip(rank, 0, 1)), 0.5 * target)
