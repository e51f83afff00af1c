"""Final instance confidence: proposal quality and label confidence in one number, comparable across scenes.

    confidence = proposal ** (1 - alpha) * label ** alpha          (weighted geometric mean, alpha = 0.5)

`proposal` is `Instance3D.score` (the tracker's proposal quality in [0, 1]) and `label` is
`Instance3D.label_score`, the classifier's probability of the chosen class rescaled by the vocabulary
size so that a uniform guess scores 0 and certainty scores 1:

    label = clip((p_max - 1 / C) / (1 - 1 / C), label_floor, 1)

Both factors are absolute (not ranked or normalised within a scene), so pooling predictions over scenes,
as ScanNet AP does per class, compares like with like. The geometric mean lets either factor veto:
a crisp label on a poor proposal, or a good proposal with a guessed label, both score low.
`label_floor` keeps an unlabelled but good proposal above zero, since AP still rewards its mask.
"""

from __future__ import annotations

import numpy as np


def label_confidence(probs: np.ndarray, label_floor: float = 0.05) -> tuple[int, float]:
    """(index of the most likely class, its confidence in [label_floor, 1]) from [C] probabilities."""
    probs = np.asarray(probs, np.float64)
    if probs.ndim != 1 or len(probs) == 0:
        raise ValueError(f"probs must be [C] with C >= 1, got shape {probs.shape}")
    best = int(np.argmax(probs))
    c = len(probs)
    if c == 1:
        return best, 1.0
    chance = 1.0 / c
    conf = (float(probs[best]) - chance) / (1.0 - chance)
    return best, float(np.clip(conf, label_floor, 1.0))


def instance_confidence(proposal: float, label: float, alpha: float = 0.5) -> float:
    """proposal ** (1 - alpha) * label ** alpha, both clipped to [0, 1]."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    p = float(np.clip(proposal, 0.0, 1.0))
    q = float(np.clip(label, 0.0, 1.0))
    return p ** (1.0 - alpha) * q**alpha
