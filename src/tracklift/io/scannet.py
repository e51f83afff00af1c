"""ScanNet ground truth: per-vertex instance ids from `*.segs.json` + `*.aggregation.json`, label ids from
`scannetv2-labels.combined.tsv`, and the one-integer-per-line GT text format (`1000·label_id + instance`)."""

from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracklift.io.atomic import atomic_open, atomic_write_text
from tracklift.io.segs import read_segs
from tracklift.io.textfile import read_json, read_text

log = logging.getLogger(__name__)

# GT ids are label_id * 1000 + instance, so an instance number must stay below this
INSTANCE_BASE = 1000


@dataclass(frozen=True)
class SegGroup:
    """One annotated object: `objectId` (0-based), raw `label`, and the superpoint ids it covers."""

    object_id: int
    label: str
    segments: tuple[int, ...]


def read_aggregation(path: str | os.PathLike) -> list[SegGroup]:
    """The `segGroups` of a ScanNet `*.aggregation.json` (ScanNet++ `segments_anno.json` has the same shape)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such aggregation file")
    data = read_json(path)
    groups = data.get("segGroups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        raise ValueError(f"{path}: expected an object with a 'segGroups' list")
    out = []
    for k, g in enumerate(groups):
        try:
            out.append(SegGroup(int(g["objectId"]), str(g["label"]), tuple(int(s) for s in g["segments"])))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(
                f"{path}: segGroups[{k}] needs integer 'objectId', 'label' and integer 'segments' ({err!r})"
            ) from None
    return out


def write_aggregation(path: str | os.PathLike, groups: list[SegGroup], scene_id: str, segs_file: str) -> None:
    """Write `groups` as a ScanNet `*.aggregation.json` (atomically); `segs_file` names the segments file."""
    data = {
        "sceneId": scene_id,
        "segmentsFile": segs_file,
        "segGroups": [
            {"id": g.object_id, "objectId": g.object_id, "label": g.label, "segments": list(g.segments)} for g in groups
        ],
    }
    atomic_write_text(path, json.dumps(data))


def read_labels_tsv(path: str | os.PathLike) -> dict[str, int]:
    """{raw_category: id} from `scannetv2-labels.combined.tsv` (ScanNet200 label ids are this `id` column)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such labels file")
    with path.open(newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = {"raw_category", "id"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)} (found {reader.fieldnames})")
        mapping = {}
        for line_no, row in enumerate(reader, start=2):
            try:
                mapping[row["raw_category"].strip()] = int(row["id"])
            except (TypeError, ValueError):
                raise ValueError(f"{path} line {line_no}: 'id' must be an integer, found {row['id']!r}") from None
    return mapping


def _label_lookup(labels_tsv: str | os.PathLike | None):
    """label name -> id (KeyError when unknown), from the TSV's raw categories or the ScanNet200 names."""
    if labels_tsv is not None:
        table = read_labels_tsv(labels_tsv)
        return lambda label: table[label.strip()]
    from tracklift.vocab import load_vocabulary

    return load_vocabulary("scannet200").id_of


def read_scannet_gt(
    segs_path: str | os.PathLike, aggregation_path: str | os.PathLike, labels_tsv: str | os.PathLike | None = None
) -> np.ndarray:
    """Per-vertex GT ids `1000 * label_id + objectId + 1`: [V] int64; vertices in no group are 0.

    Labels are mapped by `labels_tsv` (raw_category -> id) when given, else by the ScanNet200 vocabulary.
    An object whose label is unknown becomes 0 (void) and is counted in one warning. When groups share a
    segment, the later group in the file wins.
    """
    seg = read_segs(segs_path)
    groups = read_aggregation(aggregation_path)
    label_id = _label_lookup(labels_tsv)
    segment_ids, inverse = np.unique(seg, return_inverse=True)
    value_of_segment = np.zeros(len(segment_ids), dtype=np.int64)
    position = {int(s): k for k, s in enumerate(segment_ids)}
    unknown: list[str] = []
    for g in groups:
        if not 0 <= g.object_id + 1 < INSTANCE_BASE:
            raise ValueError(f"{aggregation_path}: objectId {g.object_id} does not fit 1000·label + instance")
        try:
            value = INSTANCE_BASE * label_id(g.label) + g.object_id + 1
        except KeyError:
            unknown.append(g.label)
            value = 0
        for s in g.segments:
            if s in position:
                value_of_segment[position[s]] = value
    if unknown:
        source = labels_tsv if labels_tsv is not None else "the ScanNet200 vocabulary"
        log.warning(
            "%s: %d of %d objects have labels not in %s, set to void: %s",
            aggregation_path,
            len(unknown),
            len(groups),
            source,
            sorted(set(unknown)),
        )
    return value_of_segment[inverse.reshape(-1)]


def read_gt_txt(path: str | os.PathLike) -> np.ndarray:
    """GT ids from a text file with one integer per line (per vertex): [V] int64."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such GT file")
    lines = read_text(path).splitlines()
    ids = np.empty(len(lines), dtype=np.int64)
    for k, line in enumerate(lines):
        try:
            ids[k] = int(line)
        except ValueError:
            raise ValueError(f"{path} line {k + 1}: expected one integer, found {line[:60]!r}") from None
    return ids


def write_gt_txt(path: str | os.PathLike, ids: np.ndarray) -> None:
    """Write `ids: [V] integer` GT ids, one per line (atomically)."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"ids must be a [V] integer array, got {ids.shape} {ids.dtype}")
    with atomic_open(path, "w") as f:
        f.write("".join(f"{int(v)}\n" for v in ids))
