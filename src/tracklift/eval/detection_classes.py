"""The 18 ScanNet 3D detection classes (VoteNet / mmdetection3d) and how other class names map onto them.

The detection classes are NYU40 classes of ScanNet's label table, named as VoteNet names them: NYU40
`shower curtain` is `showercurtrain` (sic) and NYU40 `otherfurniture` is `garbagebin`. mmdetection3d's
`scannet_infos_*.pkl` store them as `metainfo.categories` {name: 0..17}, in this order.

`detection_class(name)` maps a predicted class name (a ScanNet200 name, as `tracklift segment` writes
them, or a detection class name) onto a detection class, or None. The table follows ScanNet's
`scannetv2-labels.combined.tsv` (raw category -> NYU40 class) for the ScanNet200 names that land in one of
the 18 classes; for `garbagebin` only waste containers are mapped (VoteNet's name for the class, and what
its GT boxes mostly are), not every NYU40 `otherfurniture` object. Everything else is unmappable: such a
prediction is dropped from class-wise AP and kept for class-agnostic AP.
"""

from __future__ import annotations

from tracklift.vocab.vocabulary import normalize_name

SCANNET18 = (
    "cabinet",
    "bed",
    "chair",
    "sofa",
    "table",
    "door",
    "window",
    "bookshelf",
    "picture",
    "counter",
    "desk",
    "curtain",
    "refrigerator",
    "showercurtrain",
    "toilet",
    "sink",
    "bathtub",
    "garbagebin",
)

# detection class -> the other names (ScanNet200 and plain synonyms) that mean it
_ALIASES: dict[str, tuple[str, ...]] = {
    "cabinet": ("kitchen cabinet", "file cabinet", "bathroom cabinet", "cabinets", "bathroom vanity"),
    "bed": ("mattress",),
    "chair": ("office chair", "armchair", "sofa chair", "folded chair", "stool", "seat"),
    "sofa": ("couch",),
    "table": ("coffee table", "end table", "dining table", "round table", "side table"),
    "door": ("closet door", "bathroom stall door", "shower door", "doors"),
    "window": ("windows",),
    "bookshelf": ("bookshelves", "bookcase"),
    "picture": ("poster", "pictures", "painting", "photo"),
    "counter": ("kitchen counter", "bathroom counter"),
    "desk": ("desks",),
    "curtain": ("curtains",),
    "refrigerator": ("mini fridge", "fridge"),
    "showercurtrain": ("shower curtain",),
    "toilet": (),
    "sink": (),
    "bathtub": ("tub",),
    "garbagebin": ("trash can", "trash bin", "recycling bin", "garbage bin", "garbage can", "wastebasket", "bin"),
}

_TO_DETECTION = {normalize_name(alias): cls for cls, aliases in _ALIASES.items() for alias in (cls, *aliases)}

# The name a 2D mask of each detection class is written with: a ScanNet200 name where the detection
# name is not one, so that `tracklift segment`'s label voting reads it as the class it is.
SCANNET200_NAME = {cls: cls for cls in SCANNET18} | {
    "sofa": "couch",
    "showercurtrain": "shower curtain",
    "garbagebin": "trash can",
}


def detection_class(name: str | None) -> str | None:
    """The detection class a class name means (case and surrounding spaces ignored), or None."""
    if name is None:
        return None
    return _TO_DETECTION.get(normalize_name(name))
