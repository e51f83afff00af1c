"""Name every instance: run a classifier, set `label` and `label_score`, keep the distributions."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from tqdm import tqdm

from tracklift.classify.protocol import Classifier, check_distribution
from tracklift.classify.scores import instance_confidence, label_confidence
from tracklift.classify.views import View, ViewConfig, select_views
from tracklift.core.instance import Instance3D
from tracklift.data.frame import Frame
from tracklift.vocab import Vocabulary

log = logging.getLogger(__name__)

FALLBACK_LABEL = "object"  # ScanNet200's catch-all class, used when a classifier has no opinion


def classify_instances(
    instances: Sequence[Instance3D],
    classifier: Classifier,
    vocabulary: Vocabulary | Sequence[str],
    views: dict[int, list[View]] | None = None,
    frames: Iterable[Frame] | None = None,
    view_config: ViewConfig = ViewConfig(),
    progress: bool = False,
) -> dict[int, np.ndarray]:
    """Set `label` and `label_score` of each instance in place; return instance id -> [C] probabilities.

    A classifier that needs views gets them from `views`, or from one pass over `frames`. When the
    distribution is flat (no opinion), the label is the vocabulary's "object" class if it has one.
    """
    names = list(vocabulary.names if isinstance(vocabulary, Vocabulary) else vocabulary)
    if not names:
        raise ValueError("vocabulary is empty")
    if classifier.needs_views and views is None:
        if frames is None:
            raise ValueError(f"classifier {classifier.name!r} needs views: pass `views` or `frames`")
        views = select_views(instances, frames, view_config)
    views = views or {}
    out = {}
    for inst in tqdm(instances, desc=f"classify ({classifier.name})", disable=not progress):
        probs = check_distribution(classifier.classify(inst, views.get(inst.id, []), names), names, classifier.name)
        index, conf = label_confidence(probs)
        if np.ptp(probs) < 1e-12 and FALLBACK_LABEL in names:
            index = names.index(FALLBACK_LABEL)
        inst.label, inst.label_score = names[index], conf
        out[inst.id] = probs
    return out


def labeller(
    classifier: Classifier,
    vocabulary: Vocabulary | Sequence[str],
    view_config: ViewConfig = ViewConfig(),
    rescore: bool = True,
    progress: bool = False,
) -> Callable[[Any, list[Instance3D]], None]:
    """The pipeline's naming hook `(scene, instances) -> None` (see `tracklift.pipeline.segment_scene`).

    Views come from one pass over `scene.stream` when the classifier needs them. With `rescore`, each
    instance's `score` becomes the final confidence `instance_confidence(proposal score, label_score)`
    (see `classify.scores`), which is what the written predictions should rank by.
    """

    def name_instances(scene: Any, instances: list[Instance3D]) -> None:
        frames = scene.stream if classifier.needs_views else None
        classify_instances(instances, classifier, vocabulary, frames=frames, view_config=view_config, progress=progress)
        if rescore:
            for inst in instances:
                inst.score = instance_confidence(inst.score, inst.label_score)

    return name_instances
