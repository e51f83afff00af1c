"""Turn exact 2D ground truth into masks that look like a real open-vocabulary segmenter's output.

Applied per frame, in this order, each step seeded:

1. merge (under-segmentation): each pair of touching instances is fused with probability `merge`;
2. drop (missed objects): each mask disappears with probability `drop`;
3. split (over-segmentation): with probability `split` a mask is cut into 2–3 pieces, either by
   parallel straight cuts in a random direction or by k-means on its pixel coordinates;
4. boundary error: each mask is eroded or dilated by a random radius in [-erode, erode] pixels;
5. labels: with probability `label_noise` a label becomes a related class (chair -> armchair) or, half the
   time, any ScanNet200 class; with probability `synonyms` a correct label is written as a synonym or
   free-form string ("sofa" for couch, "tv monitor" for monitor), which is not an error;
6. spurious masks: Poisson(`spurious`) random blobs per frame with random labels;
7. scores follow quality: sqrt(IoU with the best-matching true instance), x0.8 when the label was
   corrupted, plus N(0, score_noise); masks then claim pixels in score order (no overlaps);
8. masks under `min_area` (fraction of the image) are dropped, as real segmenters do;
9. the order, hence the ids written to disk, is shuffled per frame: ids carry no identity across frames.

Walls, floor and ceiling are not emitted unless `structure=True`: open-vocabulary segmenters prompted
with object classes mostly do not return them.

Presets (`PRESETS`):

| preset | drop | split | merge | erode px | label noise | synonyms | spurious/frame | min area | score noise |
|--------|------|-------|-------|----------|-------------|----------|----------------|----------|-------------|
| oracle | 0    | 0     | 0     | 0        | 0           | 0        | 0              | 0        | 0           |
| mild   | 0.05 | 0.05  | 0.03  | 1        | 0.05        | 0.1      | 0.2            | 2e-4     | 0.05        |
| hard   | 0.18 | 0.2   | 0.1   | 3        | 0.2         | 0.25     | 1.0            | 1e-3     | 0.1         |

`merge` is per touching pair, and most objects touch several others (chairs and a table, items and their
shelf), so its effect compounds. Measured on a 25-object 640×480 scene (8 frames, 60 visible objects,
two seeds): `mild` leaves 92–97 % of the visible objects the majority object of some mask, and ~20 % of
the mask labels differ from the true class name (synonyms, spurious masks and errors together); `hard`
leaves 63–67 % (misses, merges and lost small masks together) with ~47 % of labels differing — roughly a
poor real segmenter. `oracle` reproduces the ground truth exactly up to id permutation.
"""

from __future__ import annotations

import cv2
import numpy as np

from tracklift.core.config import config, option
from tracklift.core.felzenszwalb import connected_components
from tracklift.core.label_maps import line_coordinates, split_by_lines, touching_pairs
from tracklift.core.masks import FrameMasks

STRUCTURE = frozenset({"wall", "floor", "ceiling"})

# Plausible confusions of a real segmenter (all ScanNet200 names).
RELATED: dict[str, tuple[str, ...]] = {
    "chair": ("armchair", "office chair", "stool", "sofa chair"),
    "office chair": ("chair", "sofa chair"),
    "armchair": ("chair", "couch", "sofa chair"),
    "stool": ("chair", "ottoman"),
    "table": ("desk", "coffee table", "dining table", "end table"),
    "dining table": ("table", "desk"),
    "coffee table": ("table", "end table", "ottoman"),
    "desk": ("table", "counter"),
    "couch": ("sofa chair", "armchair", "bench", "bed"),
    "bed": ("mattress", "couch"),
    "pillow": ("cushion", "blanket"),
    "cushion": ("pillow",),
    "ottoman": ("stool", "cushion"),
    "cabinet": ("dresser", "kitchen cabinet", "nightstand", "file cabinet"),
    "dresser": ("cabinet", "nightstand"),
    "nightstand": ("cabinet", "end table", "dresser"),
    "tv stand": ("cabinet", "dresser"),
    "bookshelf": ("shelf", "cabinet"),
    "refrigerator": ("mini fridge", "cabinet"),
    "monitor": ("tv", "computer tower"),
    "tv": ("monitor",),
    "keyboard": ("laptop", "keyboard piano"),
    "laptop": ("keyboard", "monitor"),
    "cup": ("bottle", "bowl"),
    "bottle": ("cup", "water bottle"),
    "bowl": ("cup", "plate"),
    "box": ("storage bin", "book", "tissue box"),
    "book": ("box", "paper"),
    "tissue box": ("box",),
    "alarm clock": ("clock", "box"),
    "lamp": ("light", "ceiling light"),
    "trash can": ("trash bin", "recycling bin", "bin"),
    "potted plant": ("plant",),
    "basket": ("bin", "laundry basket"),
    "ball": ("object",),
    "picture": ("poster", "mirror", "window"),
    "poster": ("picture", "sign"),
    "window": ("mirror", "picture", "door"),
    "mirror": ("picture", "window"),
    "door": ("closet door", "doorframe"),
    "whiteboard": ("board", "blackboard", "projector screen"),
    "clock": ("alarm clock", "picture"),
    "radiator": ("vent",),
}
# Free-form names a segmenter may give for a correct class.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "couch": ("sofa", "settee"),
    "monitor": ("tv monitor", "computer screen"),
    "tv": ("television", "tv screen"),
    "trash can": ("garbage can", "wastebasket"),
    "nightstand": ("night stand", "bedside table"),
    "bookshelf": ("bookcase", "book shelf"),
    "refrigerator": ("fridge",),
    "potted plant": ("houseplant", "plant pot"),
    "cup": ("mug", "coffee cup"),
    "picture": ("painting", "framed picture"),
    "lamp": ("floor lamp", "table lamp"),
    "office chair": ("desk chair", "swivel chair"),
    "pillow": ("bed pillow",),
    "tv stand": ("tv cabinet", "media console"),
    "dining table": ("kitchen table",),
    "coffee table": ("low table",),
    "keyboard": ("computer keyboard",),
    "whiteboard": ("white board",),
}
RANDOM_LABELS = tuple(sorted({*RELATED, *(x for v in RELATED.values() for x in v)}))


@config
class Corruption:
    """Corruption levels (see the module docstring for what each does)."""

    drop: float = option(0.0, "probability a mask is missing", low=0.0, high=1.0)
    split: float = option(0.0, "probability a mask is split into 2-3 pieces", low=0.0, high=1.0)
    merge: float = option(0.0, "probability two touching instances are merged", low=0.0, high=1.0)
    erode: int = option(0, "max boundary erosion/dilation, pixels", low=0, high=256)
    label_noise: float = option(0.0, "probability of a wrong label", low=0.0, high=1.0)
    synonyms: float = option(0.0, "probability a label is a free-form synonym", low=0.0, high=1.0)
    spurious: float = option(0.0, "expected spurious blob masks per frame", low=0.0, high=1000.0)
    min_area: float = option(0.0, "masks below this image fraction are dropped", low=0.0, high=1.0)
    score_noise: float = option(0.0, "std of score noise", low=0.0, high=10.0)
    structure: bool = option(False, "also emit wall/floor/ceiling masks")


PRESETS: dict[str, Corruption] = {
    "oracle": Corruption(),
    "mild": Corruption(0.05, 0.05, 0.03, 1, 0.05, 0.1, 0.2, 2e-4, 0.05),
    "hard": Corruption(0.18, 0.2, 0.1, 3, 0.2, 0.25, 1.0, 1e-3, 0.1),
}


def _split(mask: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Cut a mask into 2–3 pieces: parallel straight cuts or k-means clusters of its pixels."""
    vs, us = np.nonzero(mask)
    k = int(rng.integers(2, 4))
    if len(us) < 2 * k:
        return [mask]
    pts = np.stack([us, vs], 1).astype(np.float64)
    if rng.random() < 0.5:
        angle = rng.uniform(0, np.pi)
        cuts = np.quantile(line_coordinates(mask, angle), np.sort(rng.uniform(0.25, 0.75, k - 1)))
        return [m for m in split_by_lines(mask, angle, cuts) if m.any()]
    centers = pts[rng.choice(len(pts), k, replace=False)]
    for _ in range(8):
        piece = np.argmin(((pts[:, None] - centers[None]) ** 2).sum(-1), axis=1)
        centers = np.array([pts[piece == j].mean(0) if (piece == j).any() else centers[j] for j in range(k)])
    out = []
    for j in range(k):
        m = np.zeros_like(mask)
        m[vs[piece == j], us[piece == j]] = True
        if m.any():
            out.append(m)
    return out


def _shift_boundary(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius == 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(radius) + 1, 2 * abs(radius) + 1))
    op = cv2.erode if radius > 0 else cv2.dilate
    return op(mask.astype(np.uint8), kernel).astype(bool)


def _blob(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    h, w = shape
    img = np.zeros(shape, np.uint8)
    center = (int(rng.integers(w)), int(rng.integers(h)))
    axes = (max(1, int(rng.uniform(0.03, 0.15) * w)), max(1, int(rng.uniform(0.03, 0.15) * h)))
    cv2.ellipse(img, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return img.astype(bool)


def _corrupt_label(label: str, config: Corruption, rng: np.random.Generator) -> tuple[str, bool]:
    """(new label, whether it is now wrong)."""
    if rng.random() < config.label_noise:
        related = RELATED.get(label, ())
        pool = related if related and rng.random() < 0.5 else RANDOM_LABELS
        choices = [x for x in pool if x != label]
        return str(choices[int(rng.integers(len(choices)))]), True
    if label in SYNONYMS and rng.random() < config.synonyms:
        options = SYNONYMS[label]
        return options[int(rng.integers(len(options)))], False
    return label, False


def corrupt_frame(
    instance: np.ndarray, labels: dict[int, str], config: Corruption, rng: np.random.Generator
) -> FrameMasks:
    """Segmenter-like masks from a ground-truth instance image.

    instance: [H, W] integer instance numbers, 0 = nothing. labels: instance -> class name.
    Returns non-overlapping masks in random order (so ids written from them carry no identity).
    """
    if instance.ndim != 2:
        raise ValueError(f"instance image must be [H, W], got {instance.shape}")
    instance = instance.astype(np.int64)
    present = [int(i) for i in np.unique(instance) if i != 0]
    missing = [i for i in present if i not in labels]
    if missing:
        raise ValueError(f"instances {missing[:5]} in the image have no label")
    keep = [i for i in present if config.structure or labels[i] not in STRUCTURE]

    merged: list[list[int]] = []  # touching kept instance pairs drawn for merging
    if config.merge > 0:
        kept = np.where(np.isin(instance, keep), instance, -1)
        merged = [pair for pair in touching_pairs(kept).tolist() if rng.random() < config.merge]
    index = {i: n for n, i in enumerate(keep)}
    pairs = np.array([(index[a], index[b]) for a, b in merged], np.int64).reshape(-1, 2)
    groups: dict[int, list[int]] = {}
    for i, group in zip(keep, connected_components(len(keep), pairs[:, 0], pairs[:, 1]).tolist()):
        groups.setdefault(group, []).append(i)
    areas = {i: int(a) for i, a in zip(*np.unique(instance, return_counts=True))}

    candidates: list[tuple[np.ndarray, str, bool]] = []  # mask, label, label corrupted
    for members in groups.values():
        if rng.random() < config.drop:
            continue
        mask = np.isin(instance, members)
        label = labels[max(members, key=lambda i: areas[i])]
        pieces = _split(mask, rng) if rng.random() < config.split else [mask]
        for piece in pieces:
            if config.erode:
                piece = _shift_boundary(piece, int(rng.integers(-config.erode, config.erode + 1)))
            new_label, wrong = _corrupt_label(label, config, rng)
            candidates.append((piece, new_label, wrong))
    for _ in range(rng.poisson(config.spurious) if config.spurious > 0 else 0):
        candidates.append((_blob(instance.shape, rng), str(RANDOM_LABELS[int(rng.integers(len(RANDOM_LABELS)))]), True))

    scores = []
    for mask, _, wrong in candidates:
        inside = np.bincount(instance[mask], minlength=1)
        inside[0] = 0
        best = int(np.argmax(inside)) if mask.any() else 0
        inter = inside[best] if best else 0
        iou = inter / (mask.sum() + areas.get(best, 0) - inter) if inter else 0.0
        score = np.sqrt(iou) * (0.8 if wrong else 1.0) + (
            rng.normal(0, config.score_noise) if config.score_noise else 0.0
        )
        scores.append(float(np.clip(score, 0.01, 1.0)))

    claimed = np.zeros(instance.shape, bool)
    min_pixels = config.min_area * instance.size
    out_masks, out_labels, out_scores = [], [], []
    for k in np.argsort(-np.array(scores), kind="stable"):
        mask = candidates[k][0] & ~claimed
        if not mask.any() or mask.sum() < min_pixels:
            continue
        claimed |= mask
        out_masks.append(mask)
        out_labels.append(candidates[k][1])
        out_scores.append(scores[k])
    order = rng.permutation(len(out_masks))
    masks = np.stack([out_masks[k] for k in order]) if out_masks else np.zeros((0, *instance.shape), bool)
    return FrameMasks(masks, [out_labels[k] for k in order], np.array([out_scores[k] for k in order], np.float32))
